package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestPCRE2Refusals: regular expressions nginx 1.22.1 (PCRE2 10.42)
// refuses at load, in each place a regex is written, with nginx -t's line
// (recorded: `pcre2_compile() failed: MSG in "SRC" at "REST" in FILE:LINE`,
// no `at` when PCRE2 stopped at the end). fulcrum's engines took most of
// them ("[\w-.]", duplicate group names, "(?P<1a>x)", a{99999}) or refused
// them in Go's words.
func TestPCRE2Refusals(t *testing.T) {
	places := map[string]string{
		"location":    `http { server { location ~ "%s" { } } }`,
		"if":          `http { server { if ($uri ~ "%s") { return 200; } } }`,
		"map":         `http { map $uri $x { "~%s" 1; } }`,
		"rewrite":     `http { server { rewrite "%s" /x; } }`,
		"server_name": `http { server { server_name "~%s"; } }`,
	}
	for _, tc := range []struct{ src, msg, at string }{
		{`^/[\w-.]+$`, `invalid range in character class`, `-.]+$`},
		{`^/(?<id>\d+)|^/x/(?<id>\w+)`, `two named subpatterns have the same name (PCRE2_DUPNAMES not set)`, `\w+)`},
		{`^/(?P<1a>x)`, `subpattern name must start with a non-digit`, `1a>x)`},
		{`^/a{99999}`, `number too big in {} quantifier`, `}`},
		{`^/img/[a-z]{1,65536}$`, `number too big in {} quantifier`, `}$`},
		{`^/([\d-z]+)`, `invalid range in character class`, `-z]+)`},
		{`^/[[:alpha:]-z]`, `invalid range in character class`, `-z]`},
		{`[:alpha:]`, `POSIX named classes are supported only within a class`, `[:alpha:]`},
		{`^/x{2,1}`, `numbers out of order in {} quantifier`, `}`},
		{`^*/x`, `quantifier does not follow a repeatable item`, `*/x`},
		{`\i`, `unrecognized character follows \`, `i`},
		{`^/\F`, `PCRE2 does not support \F, \L, \l, \N{name}, \U, or \u`, ""},
		{`\o{8}`, `non-octal character in \o{} (closing brace missing?)`, `8}`},
		{`\400`, `octal value is greater than \377 in 8-bit non-UTF-8 mode`, ""},
		{`(?<abcdefghijklmnopqrstuvwxyzabcdefg>x)`, `subpattern name is too long (maximum 32 code units)`, `>x)`},
		{`(?<>x)`, `subpattern name expected`, `>x)`},
		{`(?<a-b>x)`, `syntax error in subpattern name (missing terminator?)`, `-b>x)`},
		{`^/(?z)`, `unrecognized character after (? or (?-`, `z)`},
		{`a)`, `unmatched closing parenthesis`, `)`},
		{`\cé`, `\c must be followed by a printable ASCII character`, `é`},
		{`[\B]`, `escape sequence is invalid in character class`, `B]`},
		{`[[.a.]]`, `POSIX collating elements are not supported`, `[.a.]]`},
		{`[[:foo:]]`, `unknown POSIX class name`, `foo:]]`},
		{`[z-a]`, `range out of order in character class`, `a]`},
		{`^/\x{zz}`, `non-hex character in \x{} (closing brace missing?)`, `zz}`},
		{`(?Px)`, `unrecognized character after (?P`, `x)`},
		{`(?(<a>)x)`, `reference to non-existent subpattern`, `a>)x)`},
		{`(?&a)`, `reference to non-existent subpattern`, `a)`},
		{`(?1)x`, `reference to non-existent subpattern`, `)x`},
	} {
		want := fmt.Sprintf(`pcre2_compile() failed: %s in "%s"`, tc.msg, tc.src)
		if tc.at != "" {
			want += fmt.Sprintf(` at "%s"`, tc.at)
		}
		want += " in nginx.conf:1, "
		for place, conf := range places {
			_, err := loadText(t, fmt.Sprintf(conf, tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s %q: %v\nwant %s...", place, tc.src, err, want)
			}
		}
	}
}

// TestPCRE2LongPatternErrorCut: nginx writes a regex's error into a
// 1,024-byte buffer (NGX_MAX_CONF_ERRSTR), so the line of a long pattern
// is cut there, without its closing quote (recorded with nginx 1.22.1 on
// this 1,057-byte bot list: `...bot149)[\w-.]" at "-.]"` is lost).
func TestPCRE2LongPatternErrorCut(t *testing.T) {
	bots := make([]string, 150)
	for i := range bots {
		bots[i] = fmt.Sprintf("bot%03d", i)
	}
	src := "(" + strings.Join(bots, "|") + `)[\w-.]`
	full := fmt.Sprintf(`pcre2_compile() failed: invalid range in character class in "%s" at "-.]"`, src)
	want := full[:1024] + " in nginx.conf:1, "
	_, err := loadText(t, fmt.Sprintf(`http { server { location ~ "%s" { } } }`, src))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %v\nwant %s...", err, want)
	}
}

package pcre

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCompileEngines: patterns RE2 accepts run on RE2; lookaround,
// backreferences, atomic groups and possessive quantifiers run on the
// backtracking engine; what neither engine has is refused with PCRE's word.
func TestCompileEngines(t *testing.T) {
	for _, tc := range []struct {
		src     string
		bt      bool
		wantErr string
	}{
		{`^/a/(\d+)$`, false, ""},
		{`(?<n>x)(?P<m>y)`, false, ""},
		{`/\.(?!well-known)`, true, ""},
		{`(?<!\.php)$`, true, ""},
		{`(?<=/)x`, true, ""},
		{`^/(\w+)/\1$`, true, ""},
		{`^(?>a+)b`, true, ""},
		{`^a++b`, true, ""},
		{`^/\Ka`, false, `\K`},
		{`^/(?=a`, false, "missing closing )"},
		{`(?<n>a)\k<m>`, false, `non-existent subpattern "m"`},
		{`^(a)\g{-1}`, false, `non-existent subpattern "-1"`},
		{`^(a(?R)?b)$`, false, "(?R"},
		{`^(a(?1)?b)$`, false, "(?1"},
		{`^(?<n>a(?&n)?b)$`, false, "(?&"},
		{`^(?|(a)|(b))`, false, "(?|"},
		{`^a(?C1)b`, false, "C"},
		{`^/\Ra`, false, `\R`},
		{`^/[\h]`, false, `\h`},
	} {
		re, err := Compile(tc.src, false)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one with %q", tc.src, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if re.Backtracking() != tc.bt || re.String() != tc.src {
			t.Errorf("%q: backtracking %t, String %q", tc.src, re.Backtracking(), re.String())
		}
	}
}

// TestBacktrackMatches: the backtracking engine answers as nginx's PCRE does:
// byte offsets, -1 for groups that did not take part, groups numbered left to
// right whether named or not, ASCII-only case folding for caseless patterns
// and under (?i).
func TestBacktrackMatches(t *testing.T) {
	for _, tc := range []struct {
		src      string
		caseless bool
		subject  string
		want     []int
	}{
		{`/\.(?!well-known)`, false, "/.git/config", []int{0, 2}},
		{`/\.(?!well-known)`, false, "/.well-known/x", nil},
		{`^/setup/(?!pub/).`, false, "/setup/index.php", []int{0, 8}},
		{`^/setup/(?!pub/).`, false, "/setup/pub/x", nil},
		{`^/(?!index|remote)(.*)$`, false, "/é/x", []int{0, 5, 1, 5}},
		{`^/(?!index|remote)(.*)$`, false, "/index.php", nil},
		{`(?<!\.php)$`, false, "/a.php", nil},
		{`(?<!\.php)$`, false, "/a.html", []int{7, 7}},
		{`^/(\w+)/\1$`, false, "/ab/ab", []int{0, 6, 1, 3}},
		{`^/(\w+)/\1$`, false, "/ab/ac", nil},
		{`^/(?<x>a)(b)(?:c)(d)?(?=$)`, false, "/abc", []int{0, 4, 1, 2, 2, 3, -1, -1}},
		{`^/(?P<x>a)\k<x>(?P=x)\g{1}(?!b)`, false, "/aaaa", []int{0, 5, 1, 2}},
		{`^/(?!x)café$`, true, "/CAFé", []int{0, 6}},
		{`^/(?!x)café$`, true, "/CAFÉ", nil},
		{`^/(?!x)k$`, true, "/\u212a", nil},
		{`^/(?!x)[a-c]+[^d]$`, true, "/ABcE", []int{0, 5}},
		{`^/(?!x)[a-c]+[^d]$`, true, "/ABcD", nil},
		{`^/(?!x)(?i)ab(?-i)c$`, false, "/ABc", []int{0, 4}},
		{`^/(?!x)(?i)ab(?-i)c$`, false, "/ABC", nil},
		{`^/(?!x)(?i:a)b$`, false, "/Ab", []int{0, 3}},
		{`^/(?!x)(?i:a)b$`, false, "/AB", nil},
		{`^/(?!x)\Qa.b\E$`, true, "/A.B", []int{0, 4}},
		{`^/(?!x)\Qa.b\E$`, true, "/AxB", nil},
		{`^/(?!x)\w+$`, false, "/é", nil},
	} {
		re, err := Compile(tc.src, tc.caseless)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if !re.Backtracking() {
			t.Fatalf("%q runs on RE2", tc.src)
		}
		if got := re.FindStringSubmatchIndex(tc.subject); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q (caseless %t) on %q: %v, want %v", tc.src, tc.caseless, tc.subject, got, tc.want)
		}
		if got := re.MatchString(tc.subject); got != (tc.want != nil) {
			t.Errorf("%q on %q: MatchString %t", tc.src, tc.subject, got)
		}
	}
}

// TestBacktrackGroups: group names and counts are PCRE's numbering.
func TestBacktrackGroups(t *testing.T) {
	re := MustCompile(`^/(?<x>a)(b)(?P<y>c)(?=d)`, false)
	if got, want := re.SubexpNames(), []string{"", "x", "", "y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	if re.NumSubexp() != 3 || re.SubexpIndex("y") != 3 || re.SubexpIndex("z") != -1 {
		t.Errorf("NumSubexp %d, SubexpIndex(y) %d", re.NumSubexp(), re.SubexpIndex("y"))
	}
	if got, want := re.FindStringSubmatch("/abcd"), []string{"/abc", "a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FindStringSubmatch %q, want %q", got, want)
	}
}

// TestMatchLimit: a catastrophic pattern on a long subject stops within the
// bound with ErrMatchLimit, as PCRE's match limit stops nginx's.
func TestMatchLimit(t *testing.T) {
	for _, src := range []string{`^/(a|aa)+(?!x)$`, `(?=/(a+)+$)`} {
		re := MustCompile(src, false)
		subject := "/" + strings.Repeat("a", 40) + "c"
		start := time.Now()
		ok, err := re.Match(subject)
		took := time.Since(start)
		if ok || !errors.Is(err, ErrMatchLimit) {
			t.Errorf("%q: %t, %v; want ErrMatchLimit", src, ok, err)
		}
		if took > 10*MatchLimit {
			t.Errorf("%q took %v", src, took)
		}
		if err != nil && !strings.Contains(err.Error(), src) {
			t.Errorf("error %q does not name the pattern", err)
		}
		if idx, err := re.Submatch(subject); idx != nil || !errors.Is(err, ErrMatchLimit) {
			t.Errorf("%q: Submatch %v, %v", src, idx, err)
		}
	}
}

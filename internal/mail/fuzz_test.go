package mail

import (
	"strings"
	"testing"
)

// FuzzCommandParsers feeds the client command parsers (IMAP lines with
// quoted strings and literals, POP3 and SMTP command splitting, SASL
// PLAIN and LOGIN responses) arbitrary lines: they never panic, and what
// they accept is well formed.
func FuzzCommandParsers(f *testing.F) {
	for _, seed := range []string{
		"a1 LOGIN joe \"se cret\"", "a LOGIN {3}", "a6 login \"a\\\"b\" {2}", "a1 AUTHENTICATE PLAIN AGpvZQBwdw==",
		"", "a5", "* x", "a \"unterminated", "a X {-1}", "a X {99999999999999999999}", "USER joe", "AUTH LOGIN am9l",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var cmd imapCommand
		lit, err := parseIMAPLine(&cmd, line, false)
		if err == nil {
			if cmd.tag == "" || cmd.name == "" || cmd.name != strings.ToUpper(cmd.name) {
				t.Fatalf("%q parsed as %+v", line, cmd)
			}
			if lit >= 0 && !strings.HasSuffix(line, "}") {
				t.Fatalf("%q: literal %d without {n} at the end", line, lit)
			}
			var more imapCommand
			_, _ = parseIMAPLine(&more, line, true)
		}
		name, _, _ := splitCommand(line)
		if name != strings.ToUpper(name) {
			t.Fatalf("%q: command %q not upper case", line, name)
		}
		if login, _, err := decodePlain(line); err == nil && strings.Contains(login, "\x00") {
			t.Fatalf("%q: login %q holds a NUL", line, login)
		}
		_, _ = decodeBase64(line)
	})
}

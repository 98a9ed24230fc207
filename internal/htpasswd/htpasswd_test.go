package htpasswd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The vectors come from `openssl passwd` (-apr1, -1, -5, -6) and from
// Python's crypt module (bcrypt, DES), run on this machine; nginx 1.22 with
// libxcrypt accepted each of them with the same password.
func TestVerify(t *testing.T) {
	const long = "long password here that is longer than sixteen"
	tests := []struct {
		name, password, hash string
		want                 bool
		err                  error
	}{
		{"plain", "secret", "{PLAIN}secret", true, nil},
		{"plain mismatch", "secreT", "{PLAIN}secret", false, nil},
		{"plain empty", "", "{PLAIN}", true, nil},
		{"sha", "pw", "{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", true, nil},
		{"sha mismatch", "px", "{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", false, nil},
		{"ssha", "pw", "{SSHA}K/qCHdTzr1rftXNEV4Ob7XsySBlzYWx0", true, nil},
		{"ssha mismatch", "px", "{SSHA}K/qCHdTzr1rftXNEV4Ob7XsySBlzYWx0", false, nil},
		{"ssha undecodable", "pw", "{SSHA}!!!", false, nil},
		{"apr1", "pw", "$apr1$abc$NKxAkoTtUloZMd1uGIvNG0", true, nil},
		{"apr1 secret", "secret", "$apr1$xyz$HXgo9gtz4gpj4JWTLYmjB0", true, nil},
		{"apr1 8-byte salt", "a", "$apr1$12345678$68ZQVfPkWX/wcXr/41VxQ.", true, nil},
		{"apr1 long password", long, "$apr1$saltsalt$n9gCW3CcyebfFij2fOegG/", true, nil},
		{"apr1 empty password", "", "$apr1$abc$BfqKdn9xFDWJPa3kcp/PH0", true, nil},
		{"apr1 mismatch", "px", "$apr1$abc$NKxAkoTtUloZMd1uGIvNG0", false, nil},
		{"md5", "pw", "$1$abc$Kb85XxsXB.VXinPhbS4431", true, nil},
		{"md5 secret", "secret", "$1$xyz$Qia9Wq6FxQkYcwNWMk/RM0", true, nil},
		{"md5 long password", long, "$1$saltsalt$Y91oO2AIR2bJNLeN.zooi0", true, nil},
		{"md5 is not apr1", "pw", "$1$abc$NKxAkoTtUloZMd1uGIvNG0", false, nil},
		{"sha256", "pw", "$5$abc$/LKlXd6vuvdFX3oWbf2vGk3DgflzzsvOtMZsiOxqqY5", true, nil},
		{"sha256 secret", "secret", "$5$xyz$ifvnqJEnDw1U3s4hNgRQfsh5KGcuIMh2ReetMWPfxY7", true, nil},
		{"sha256 long", long, "$5$saltsaltx$eL3ZFbPOoMdN6gdY8mhPoe/mGaUbJT1PvZGEy/rbBJD", true, nil},
		{"sha256 rounds", "pw", "$5$rounds=1000$abc$zdUXQ3de2d3x/8MYX1t30oZjPfJThZR5heHeVDYi8j6", true, nil},
		{"sha256 mismatch", "px", "$5$abc$/LKlXd6vuvdFX3oWbf2vGk3DgflzzsvOtMZsiOxqqY5", false, nil},
		{"sha512", "pw", "$6$abc$MtSdWSZbhct2oe.SOqOUM2M/GA/uj5.vyVtJgRHgKi9uqXuWuJqOYE7H/YlsYGVg/YYzDV0xt3fEIwYt580.5.", true, nil},
		{"sha512 8-byte salt", "a", "$6$12345678$mTARvVnQwpgmyZO3dXfBa2GsoXiDkb/0MpKqDY91fg4XwaDkgxclAeI2/7DUO93gtC0nYqvDxUPrK9IM5RB0G/", true, nil},
		{"sha512 long", long, "$6$saltsaltx$LvyrkyGDSrjs2gvnCZyOttlKwFJJUYxS/Lf.z3vx/BOLuroDIIWA2UMBXb9VdWhao962XKvbuyYWks4vo4yAi0", true, nil},
		{"sha512 rounds", "pw", "$6$rounds=1000$abc$yxe0KSjmoHd8rpohJgwvF5lnIQ/9t.klcz24a1cca3nWm.PLUmhXgcGgKWCoRFHRHYxXj4SVEtjCnCAwaFY0V0", true, nil},
		{"sha512 empty password", "", "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD.", true, nil},
		{"sha256 rounds below the minimum", "pw", "$5$rounds=10$abc$zdUXQ3de2d3x/8MYX1t30oZjPfJThZR5heHeVDYi8j6", false, nil},
		{"bcrypt 2b", "pw", "$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q", true, nil},
		{"bcrypt 2y", "pw", "$2y$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q", true, nil},
		{"bcrypt 2a", "pw", "$2a$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q", true, nil},
		{"bcrypt mismatch", "px", "$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q", false, nil},
		{"password ends at NUL", "secret\x00junk", "{PLAIN}secret", true, nil},
		{"failure token", "pw", "*", false, nil},
		{"empty hash", "pw", "", false, nil},
		{"des", "pw", "abzlUXK5ed5rs", false, ErrUnsupported},
		{"yescrypt", "pw", "$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED", false, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.password, tt.hash)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Verify(%q, %q) = %v, %v; want %v, %v", tt.password, tt.hash, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name, file, user string
		want             string
		found            bool
	}{
		{"plain line", "alice:{PLAIN}a\n", "alice", "{PLAIN}a", true},
		{"comment field", "alice:{PLAIN}a:Alice Liddell\n", "alice", "{PLAIN}a", true},
		{"no newline at end", "alice:{PLAIN}a", "alice", "{PLAIN}a", true},
		{"crlf", "alice:{PLAIN}a\r\nbob:{PLAIN}b\r\n", "bob", "{PLAIN}b", true},
		{"first line wins", "alice:{PLAIN}a\nalice:{PLAIN}b\n", "alice", "{PLAIN}a", true},
		{"comment line", "#alice:{PLAIN}a\n", "alice", "", false},
		{"empty lines", "\n\nalice:{PLAIN}a\n", "alice", "{PLAIN}a", true},
		{"prefix is not the user", "alicex:{PLAIN}a\n", "alice", "", false},
		{"user is not a prefix", "al:{PLAIN}a\n", "alice", "", false},
		{"empty password", "alice:\n", "alice", "", true},
		{"unknown user", "alice:{PLAIN}a\n", "bob", "", false},
		{"empty user", ":{PLAIN}a\n", "", "", false},
		// nginx consumes the LF of a line that is a prefix of "user:" while
		// skipping it, so it skips the next line too.
		{"colon-less prefix line skips the next", "alice\nalice:{PLAIN}a\n", "alice", "", false},
		{"colon-less other line", "bob\nalice:{PLAIN}a\n", "alice", "{PLAIN}a", true},
		{"user with a newline", "a\nb:{PLAIN}x\n", "a\nb", "{PLAIN}x", true},
		{"line starting with CR", "\ralice:{PLAIN}a\n", "alice", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := Parse([]byte(tt.file)).Lookup(tt.user)
			if got != tt.want || found != tt.found {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.user, got, found, tt.want, tt.found)
			}
			if tt.user != "" {
				if s, ok := scan([]byte(tt.file), tt.user); s != tt.want || ok != tt.found {
					t.Errorf("scan(%q) = %q, %v; want %q, %v", tt.user, s, ok, tt.want, tt.found)
				}
			}
		})
	}
}

func TestCacheReloadsChangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	write := func(content string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	var c Cache
	base := time.Now().Add(-time.Hour)
	write("alice:{PLAIN}a\n", base)
	f1, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f2, _ := c.Load(path); f2 != f1 {
		t.Error("an unchanged file was parsed again")
	}
	write("alice:{PLAIN}b\n", base.Add(time.Second))
	f3, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := f3.Lookup("alice"); h != "{PLAIN}b" {
		t.Errorf("after a change, alice's hash is %q", h)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = c.Load(path)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := c.Load(t.TempDir()); !errors.As(err, &pe) || pe.Op != "read" {
		t.Errorf("directory: %v", err)
	}
}

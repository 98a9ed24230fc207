package securelink

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// check runs the MD5 form as the daemon does: the link's value, then
// secure_link_md5's (input), at time now; it returns $secure_link and
// $secure_link_expires ("-" for not found).
func check(link, input string, now int64) (secureLink, expires string) {
	expires = "-"
	hash, expText, has := SplitLink([]byte(link))
	var exp int64
	if has {
		var ok bool
		if exp, ok = ParseExpires(expText); !ok {
			return "-", expires
		}
		expires = string(expText)
	}
	sum, ok := DecodeHash(hash)
	if !ok {
		return "-", expires
	}
	v, ok := Verdict(sum, []byte(input), exp, now)
	if !ok {
		return "-", expires
	}
	return v, expires
}

// TestMD5Form checks the MD5 form against nginx 1.22.1's answers for
// "secure_link $arg_md5[,$arg_e]; secure_link_md5 "...$uri secret";".
func TestMD5Form(t *testing.T) {
	const now = 1_700_000_000
	in := "/n/f.txt secret"
	h := b64(in)
	tests := []struct {
		name, link, input    string
		wantLink, wantExpiry string
	}{
		{"no expiry", h, in, "1", "-"},
		{"padding", h + "==", in, "1", "-"},
		{"text after the padding", h + "=z", in, "1", "-"},
		{"longer than 24", h + "=zzz", in, "-", "-"},
		{"17 bytes", h + "A", in, "-", "-"},
		{"15 bytes", h[:21], in, "-", "-"},
		{"standard alphabet", "5kXbX9tMROxGreTYLBriJ.", in, "-", "-"},
		{"other input", h, "/n/g.txt secret", "-", "-"},
		{"empty", "", in, "-", "-"},
		{"future", b64("1700000100/s secret") + ",1700000100", "1700000100/s secret", "1", "1700000100"},
		{"expired", b64("1699999990/s secret") + ",1699999990", "1699999990/s secret", "0", "1699999990"},
		{"expires now", b64("x") + ",1700000000", "x", "1", "1700000000"},
		{"leading zeros kept", b64("x") + ",00012", "x", "0", "00012"},
		{"largest time", b64("x") + ",9223372036854775807", "x", "1", "9223372036854775807"},
		{"overflow", b64("x") + ",99999999999999999999999", "x", "-", "-"},
		{"empty expiry", b64("x") + ",", "x", "-", "-"},
		{"zero expiry", b64("x") + ",0", "x", "-", "-"},
		{"letters", b64("x") + ",abc", "x", "-", "-"},
		{"sign", b64("x") + ",+5", "x", "-", "-"},
		{"second comma", b64("x") + ",1,2", "x", "-", "-"},
		{"wrong hash, expiry kept", "zz,1700000100", "x", "-", "1700000100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotLink, gotExp := check(tt.link, tt.input, now)
			if gotLink != tt.wantLink || gotExp != tt.wantExpiry {
				t.Errorf("$secure_link %q, $secure_link_expires %q; want %q, %q", gotLink, gotExp, tt.wantLink, tt.wantExpiry)
			}
		})
	}
}

// TestSecretForm checks secure_link_secret's form against nginx 1.22.1's
// answers: the hash is hex MD5 of the link and the secret, and the link is
// the rest of the target, arguments included.
func TestSecretForm(t *testing.T) {
	sum := md5.Sum([]byte("link/a?b=1sec"))
	hx := hex.EncodeToString(sum[:])
	upper := []byte(hx)
	for i, c := range upper {
		if c >= 'a' && c <= 'f' {
			upper[i] = c - 'a' + 'A'
		}
	}
	tests := []struct {
		target, link string
		ok           bool
	}{
		{"/p/" + hx + "/link/a?b=1", "link/a?b=1", true},
		{"/p/" + string(upper) + "/link/a?b=1", "link/a?b=1", true},
		{"/p/" + hx + "/link/a?b=2", "", false},
		{"/p/" + hx + "/", "", false},
		{"/p/" + hx, "", false},
		{"/p/x/" + hx + "/link/a?b=1", "", false},
		{"/p/" + hx[:31] + "/link/a?b=1", "", false},
		{"/" + hx + "/link/a?b=1", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		link, ok := Secret(tt.target, "sec")
		if link != tt.link || ok != tt.ok {
			t.Errorf("Secret(%q) = %q, %v; want %q, %v", tt.target, link, ok, tt.link, tt.ok)
		}
	}
}

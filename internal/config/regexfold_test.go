package config

import "testing"

// TestCompileRegexFoldsASCIIOnly: case-insensitive regular expressions
// (~*, server_name and map regexes, (?i) in a pattern) fold ASCII letters
// only, as nginx 1.22.1's PCRE (no UTF mode, "C" tables): recorded with
// nginx-diff, "location ~* /rc/é" answers "/rc/%C3%A9" and not
// "/rc/%C3%89". Captures keep their numbers and names. Subjects are
// matched as bytes, as nginx's PCRE matches them.
func TestCompileRegexFoldsASCIIOnly(t *testing.T) {
	for _, tc := range []struct {
		src      string
		caseless bool
		subject  string
		match    bool
	}{
		{"/rc/é", true, "/rc/é", true},
		{"/rc/é", true, "/rc/É", false},
		{"/RC/é", true, "/rc/é", true},
		{"^/straße$", true, "/STRAßE", true},
		{"^/straße$", true, "/STRASSE", false},
		{"^/k$", true, "/K", true},
		{"^/k$", true, "/\u212a", false}, // the Kelvin sign
		{"^/s$", true, "/\u017f", false}, // the long s
		{"^/(?i)é$", false, "/é", true},
		{"^/(?i)x$", false, "/X", true},
		{"^/x$", false, "/X", false},
		{`\.JPG$`, true, "/a.jpg", true},
		{`^/[a-c]+$`, true, "/ABC", true},
		{`^/[^a]$`, true, "/A", false},
		{`^/[^a]$`, true, "/b", true},
		{`^/[^é]$`, true, "/É", false},    // bytes: "É" is two, the class takes one
		{`^/[^é]{2}$`, true, "/É", false}, // 0xC3 is in the class
		{`^/[^é]$`, true, "/\xc9", true},
		{`^/[é]$`, true, "/É", false},
		{`^/[x-z1]+$`, true, "/XyZ1", true},
		{`^/\w+$`, true, "/Ab_9", true},
		{`^/(a|B)$`, true, "/b", true},
	} {
		re, err := compileRegex(Pos{}, tc.src, tc.caseless)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if got := re.MatchString(tc.subject); got != tc.match {
			t.Errorf("%q (caseless %t) on %q: %t, want %t", tc.src, tc.caseless, tc.subject, got, tc.match)
		}
	}
	re, err := compileRegex(Pos{}, `^/re/(\d+)/(?<name>[a-z]+)`, true)
	if err != nil {
		t.Fatal(err)
	}
	m := re.FindStringSubmatch("/re/12/AbC")
	if len(m) != 3 || m[1] != "12" || m[2] != "AbC" || re.SubexpNames()[2] != "name" {
		t.Errorf("captures %q, names %q", m, re.SubexpNames())
	}
}

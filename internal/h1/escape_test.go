package h1

import "testing"

func TestAppendEscapedPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/plain/path-1_2.3~x", "/plain/path-1_2.3~x"},
		{"/a b", "/a%20b"},
		{`/q"#%<>?\^` + "`{|}", "/q%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D"},
		{"/[]:@!$&'()*+,;=", "/[]:@!$&'()*+,;="}, // nginx leaves these
		{"/\x00\x1f\x7f\xff", "/%00%1F%7F%FF"},
		{"/caf\xc3\xa9", "/caf%C3%A9"},
	}
	for _, tt := range tests {
		if got := string(AppendEscapedPath(nil, tt.in)); got != tt.want {
			t.Errorf("AppendEscapedPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

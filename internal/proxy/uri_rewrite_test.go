package proxy

import "testing"

// TestAppendRewritten: the upstream target for a URI the rewrite module
// changed, as nginx 1.22 builds it (checked with nginx-diff): the new path
// escaped, the proxy_pass URI part in place of the location's prefix, unless
// "rewrite ... break" made nginx drop it.
func TestAppendRewritten(t *testing.T) {
	withURI := uriRewrite{replace: true, uri: "/u/", prefixLen: len("/p/")}
	tests := []struct {
		name       string
		u          uriRewrite
		path, args string
		whole      bool
		want       string
	}{
		{"no URI part: the new URI", uriRewrite{}, "/z/a b", "y=1", false, "/z/a%20b?y=1"},
		{"no URI part, no args", uriRewrite{}, "/z", "", false, "/z"},
		{"URI part replaces the prefix", withURI, "/p/a b", "y=1", false, "/u/a%20b?y=1"},
		{"after break the whole URI", withURI, "/z/a b", "y=1", true, "/z/a%20b?y=1"},
		{"path shorter than the prefix", withURI, "/p", "", false, "/u/"},
		{"escapes what nginx escapes", uriRewrite{}, "/a%b?c#d", "", false, "/a%25b%3Fc%23d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.u.appendRewritten(nil, tt.path, tt.args, tt.whole)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

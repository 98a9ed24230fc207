package daemon

import (
	"errors"
	"testing"

	"fulcrum/internal/proxy"
)

// TestParseUpstreamURL: an evaluated proxy_pass or grpc_pass is split as
// nginx 1.22.1's ngx_parse_inet_url does, with its error texts (recorded
// with nginx: each is logged at error level and answered with 500).
func TestParseUpstreamURL(t *testing.T) {
	tests := []struct {
		rest    string
		uriPart bool
		want    upstreamURL
		err     string
	}{
		{"127.0.0.1:8443", true, upstreamURL{hostport: "127.0.0.1:8443", host: "127.0.0.1", port: "8443", portNum: 8443}, ""},
		{"backend/x?a=1", true, upstreamURL{hostport: "backend", host: "backend", uri: "/x?a=1", hasURI: true}, ""},
		{"[::1]:8443/", true, upstreamURL{hostport: "[::1]:8443", host: "[::1]", port: "8443", portNum: 8443, uri: "/", hasURI: true}, ""},
		{"[::1]", false, upstreamURL{hostport: "[::1]", host: "[::1]"}, ""},
		{"/x", true, upstreamURL{}, `no host in upstream "/x"`},
		{"", false, upstreamURL{}, `no host in upstream ""`},
		{"127.0.0.1:abc", true, upstreamURL{}, `invalid port in upstream "127.0.0.1:abc"`},
		{"127.0.0.1:", true, upstreamURL{}, `invalid port in upstream "127.0.0.1:"`},
		{"127.0.0.1:+80", true, upstreamURL{}, `invalid port in upstream "127.0.0.1:+80"`},
		{"127.0.0.1:70000", false, upstreamURL{}, `invalid port in upstream "127.0.0.1:70000"`},
		{"http://127.0.0.1:8443", true, upstreamURL{}, `invalid port in upstream "http://127.0.0.1:8443"`},
		{"http://127.0.0.1:8443", false, upstreamURL{}, `invalid host in upstream "http://127.0.0.1:8443"`},
		{"127.0.0.1:8443/x", false, upstreamURL{}, `invalid host in upstream "127.0.0.1:8443/x"`},
	}
	for _, tt := range tests {
		got, err := parseUpstreamURL(tt.rest, tt.uriPart)
		var ie *proxy.InvalidTargetError
		switch {
		case tt.err != "" && (!errors.As(err, &ie) || err.Error() != tt.err):
			t.Errorf("%q: error %v, want %q", tt.rest, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: %+v, %v, want %+v", tt.rest, got, err, tt.want)
		}
	}
}

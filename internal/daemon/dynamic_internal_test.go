package daemon

import (
	"errors"
	"strings"
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
		// ngx_parse_unix_domain_url: with a URI part (proxy_pass) the path
		// ends at its first ':'; without (grpc_pass) it is the whole rest.
		{"unix:/s.sock:", true, upstreamURL{hostport: "unix:/s.sock", host: "/s.sock", unix: true}, ""},
		{"unix:/s.sock:/x?a=1", true, upstreamURL{hostport: "unix:/s.sock", host: "/s.sock", uri: "/x?a=1", hasURI: true, unix: true}, ""},
		{"UNIX:/s.sock", true, upstreamURL{hostport: "unix:/s.sock", host: "/s.sock", unix: true}, ""},
		{"unix:/s.sock:/x", false, upstreamURL{hostport: "unix:/s.sock:/x", host: "/s.sock:/x", unix: true}, ""},
		{"unix:", true, upstreamURL{}, `no path in the unix domain socket in upstream "unix:"`},
		{"unix::/x", true, upstreamURL{}, `no path in the unix domain socket in upstream "unix::/x"`},
		{"unix:/" + strings.Repeat("s", 107), false, upstreamURL{}, `too long path in the unix domain socket in upstream "unix:/` + strings.Repeat("s", 107) + `"`},
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

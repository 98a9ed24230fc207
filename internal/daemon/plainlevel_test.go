package daemon

import "testing"

// TestPlainLevel checks the facts run and the recorder's WriteHeader skip
// their checks by (locEntry): a location with nothing but a handler is
// plain, and each directive that makes run's general path or a header
// filter do something takes that away.
func TestPlainLevel(t *testing.T) {
	tests := []struct {
		name, directive string
		plain, head     bool
	}{
		{"nothing", "", true, true},
		{"proxy_set_header", "proxy_set_header X-A b;", true, true},
		{"internal", "internal;", false, true},
		{"limit_except", "limit_except GET { deny all; }", false, true},
		{"rewrite", "rewrite ^/x /y;", false, true},
		{"set", "set $a b;", false, true},
		{"limit_req", "limit_req zone=r;", false, true},
		{"limit_conn", "limit_conn c 1;", false, true},
		{"deny", "deny 10.0.0.1;", false, true},
		{"auth_basic", "auth_basic on; auth_basic_user_file /dev/null;", false, true},
		{"auth_request", "auth_request /auth;", false, true},
		{"mirror", "mirror /m;", false, true},
		{"post_action", "post_action /p;", false, true},
		{"ssi", "ssi on;", false, false},
		{"add_before_body", "add_before_body /b;", false, false},
		{"add_after_body", "add_after_body /b;", false, false},
		{"expires", "expires 1h;", true, false},
		{"add_header", "add_header X-A b;", true, false},
		{"add_trailer", "add_trailer X-A b;", true, false},
		{"userid", "userid on;", true, false},
		{"gunzip", "gunzip on;", true, false},
		{"sub_filter", "sub_filter a b;", true, false},
		{"charset", "charset utf-8;", true, false},
		{"gzip", "gzip on;", true, false},
		{"chunked_transfer_encoding", "chunked_transfer_encoding off;", true, false},
		{"limit_rate", "limit_rate 1k;", true, false},
		{"image_filter", "image_filter test;", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadHTTP(t, `limit_req_zone $binary_remote_addr zone=r:1m rate=1r/s;
limit_conn_zone $binary_remote_addr zone=c:1m;
server { listen 127.0.0.1:8080; location / { `+tt.directive+` proxy_pass http://127.0.0.1:9; } }`)
			loc := cfg.HTTP.Servers[0].Locations[0]
			s := &snapshot{}
			if got := s.plainLocation(loc); got != tt.plain {
				t.Errorf("plainLocation = %v, want %v", got, tt.plain)
			}
			if got := plainHead(loc.Settings); got != tt.head {
				t.Errorf("plainHead = %v, want %v", got, tt.head)
			}
		})
	}
}

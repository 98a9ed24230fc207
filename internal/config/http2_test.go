package config

import (
	"strings"
	"testing"
)

// TestHTTP2Errors checks the values refused, in nginx 1.22's words
// (checked with nginx -t).
func TestHTTP2Errors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"chunk size zero", "http { http2_chunk_size 0; }", `the http2 chunk size cannot be zero in nginx.conf:1`},
		{"recv buffer too small", "http { http2_recv_buffer_size 16; }", `"http2_recv_buffer_size" directive value is too small in nginx.conf:1`},
		{"recv buffer in server", "http { server { http2_recv_buffer_size 1m; } }", `"http2_recv_buffer_size" directive is not allowed here in nginx.conf:1`},
		{"streams not a number", "http { http2_max_concurrent_streams x; }", `"http2_max_concurrent_streams" directive invalid`},
		{"preread too large", "http { http2_body_preread_size 2097152k; }", `"http2_body_preread_size" directive invalid value in nginx.conf:1`},
		{"http2 not a flag", "http { http2 yes; }", `invalid value "yes" in "http2" directive`},
		{"http2 in location", "http { server { location / { http2 on; } } }", `"http2" directive is not allowed here in nginx.conf:1`},
		{"obsolete argument count", "http { http2_idle_timeout 1s 2s; }", `invalid number of arguments in "http2_idle_timeout" directive in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil {
				t.Fatalf("loaded; want the error %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestHTTP2Settings checks the defaults, inheritance and the listen
// parameter.
func TestHTTP2Settings(t *testing.T) {
	cfg := mustLoad(t, `http { http2_recv_buffer_size 128k; http2_max_concurrent_streams 10;
		server { listen 127.0.0.1:443 http2; http2_chunk_size 16k; http2 on; }
		server { listen 127.0.0.1:444; http2_body_preread_size 1m; } }`)
	a, b := cfg.HTTP.Servers[0], cfg.HTTP.Servers[1]
	if !a.Listens[0].HTTP2 || b.Listens[0].HTTP2 {
		t.Errorf("listen http2: %v %v", a.Listens[0].HTTP2, b.Listens[0].HTTP2)
	}
	if !a.Settings.HTTP2 || b.Settings.HTTP2 {
		t.Errorf("http2 on: %v %v", a.Settings.HTTP2, b.Settings.HTTP2)
	}
	want := HTTP2Settings{MaxConcurrentStreams: 10, ChunkSize: 16 << 10, BodyPrereadSize: 64 << 10, RecvBufferSize: 128 << 10}
	if a.Settings.HTTP2Settings != want {
		t.Errorf("a: %+v, want %+v", a.Settings.HTTP2Settings, want)
	}
	want = HTTP2Settings{MaxConcurrentStreams: 10, ChunkSize: 8 << 10, BodyPrereadSize: 1 << 20, RecvBufferSize: 128 << 10}
	if b.Settings.HTTP2Settings != want {
		t.Errorf("b: %+v, want %+v", b.Settings.HTTP2Settings, want)
	}
}

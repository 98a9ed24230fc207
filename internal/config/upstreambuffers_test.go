package config

import (
	"strings"
	"testing"
)

// TestResponseHeadSizes: proxy_buffer_size and the fastcgi, scgi and uwsgi
// ones are read (4k by default, inherited), and their agreement with
// PREFIX_buffers and PREFIX_busy_buffers_size is checked as nginx 1.22.1's
// `nginx -t` checks it, in its words; fulcrum names the directive to change
// (nginx the end of the http block) and how.
func TestResponseHeadSizes(t *testing.T) {
	tests := []struct {
		name, loc string
		err       string // "" for none
	}{
		{"defaults", "", ""},
		{"14k fits the default buffers", "proxy_buffer_size 14k;", ""},
		{"with buffers to match", "proxy_buffer_size 64k; proxy_buffers 8 64k;", ""},
		{"more small buffers", "proxy_buffer_size 16k; proxy_buffers 16 4k;", ""},
		{"busy size given", "scgi_busy_buffers_size 64k; scgi_buffers 17 4k;", ""},
		{"0 and 1 are taken", "proxy_buffer_size 0; uwsgi_buffer_size 1;", ""},
		{"16k with the default buffers", "proxy_buffer_size 16k;",
			`"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer in nginx.conf:4, make room, for example "proxy_buffers 8 16k;" (proxy_busy_buffers_size is 32k)`},
		{"64k with 16k buffers", "proxy_buffers 8 16k;\n proxy_buffer_size 64k;",
			`"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer in nginx.conf:5, make room, for example "proxy_buffers 8 64k;" (proxy_busy_buffers_size is 128k)`},
		{"fastcgi", "fastcgi_buffer_size 16k;",
			`"fastcgi_busy_buffers_size" must be less than the size of all "fastcgi_buffers" minus one buffer in nginx.conf:4, make room, for example "fastcgi_buffers 8 16k;" (fastcgi_busy_buffers_size is 32k)`},
		{"busy size too big", "scgi_busy_buffers_size 64k;",
			`"scgi_busy_buffers_size" must be less than the size of all "scgi_buffers" minus one buffer in nginx.conf:4, make room, for example "scgi_buffers 17 4k;" (scgi_busy_buffers_size is 64k)`},
		{"busy size too small", "uwsgi_buffer_size 16k; uwsgi_busy_buffers_size 8k;",
			`"uwsgi_busy_buffers_size" must be equal to or greater than the maximum of the value of "uwsgi_buffer_size" and one of the "uwsgi_buffers" in nginx.conf:4, raise it to 16k at least`},
		{"one buffer", "proxy_buffers 1 4k;", `there must be at least 2 "proxy_buffers" in nginx.conf:4, write "proxy_buffers 2 4k;" or more`},
		{"no buffers", "uwsgi_buffers 0 4k;", `"uwsgi_buffers" directive invalid value in nginx.conf:4, write a number and a size, such as "8 4k"`},
		{"buffer size not a size", "proxy_buffers 4 x;", `"proxy_buffers" directive invalid value in nginx.conf:4`},
		{"not a size", "proxy_buffer_size abc;", `"proxy_buffer_size" directive invalid value in nginx.conf:4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "http {\n server {\n  location / {\n " + tt.loc + "\n  }\n }\n}\n"
			cfg, err := loadText(t, src)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v\nwant %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.loc == "" {
				set := cfg.HTTP.Servers[0].Locations[0].Settings
				if set.ProxyBufferSize != 4096 || set.FastCGI.BufferSize != 4096 || set.SCGI.BufferSize != 4096 || set.UWSGI.BufferSize != 4096 {
					t.Errorf("defaults %d %d %d %d, want 4096", set.ProxyBufferSize, set.FastCGI.BufferSize, set.SCGI.BufferSize, set.UWSGI.BufferSize)
				}
			}
		})
	}
	// Inheritance: set at http, changed in one location.
	cfg := mustLoad(t, `http {
    proxy_buffer_size 8k; fastcgi_buffer_size 8k; scgi_buffer_size 12k; uwsgi_buffer_size 2k;
    server { location /a { } location /b { proxy_buffer_size 14k; } }
}`)
	a, b := cfg.HTTP.Servers[0].Locations[0].Settings, cfg.HTTP.Servers[0].Locations[1].Settings
	if a.ProxyBufferSize != 8<<10 || a.FastCGI.BufferSize != 8<<10 || a.SCGI.BufferSize != 12<<10 || a.UWSGI.BufferSize != 2<<10 || b.ProxyBufferSize != 14<<10 {
		t.Errorf("inherited %d %d %d %d, and %d", a.ProxyBufferSize, a.FastCGI.BufferSize, a.SCGI.BufferSize, a.UWSGI.BufferSize, b.ProxyBufferSize)
	}
}

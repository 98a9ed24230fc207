package config

import (
	"strings"
	"testing"
)

// TestGzipErrors checks nginx 1.22.1's messages (nginx -t) for bad gzip
// values, each with its file and line.
func TestGzipErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"level 0", "http { gzip_comp_level 0; }", `value must be between 1 and 9 in nginx.conf:1`},
		{"level 10", "http { gzip_comp_level 10; }", `value must be between 1 and 9 in nginx.conf:1`},
		{"level word", "http { gzip_comp_level x; }", `"gzip_comp_level" directive invalid number in nginx.conf:1`},
		{"level twice", "http { gzip_comp_level 1; gzip_comp_level 2; }", `"gzip_comp_level" directive is duplicate in nginx.conf:1`},
		{"proxied", "http { gzip_proxied any foo; }", `invalid value "foo" in nginx.conf:1`},
		{"version", "http { gzip_http_version 2.0; }", `invalid value "2.0" in nginx.conf:1`},
		{"version twice", "http { gzip_http_version 1.0; gzip_http_version 1.1; }", `"gzip_http_version" directive is duplicate`},
		{"min length", "http { gzip_min_length -1; }", `"gzip_min_length" directive invalid value in nginx.conf:1`},
		{"regex", "http {\n gzip_disable \"(\";\n}", `pcre2_compile() failed: missing closing parenthesis in "(" in nginx.conf:2`},
		{"buffers 0", "http { gzip_buffers 0 4k; }", `"gzip_buffers" directive invalid value in nginx.conf:1`},
		{"buffers size", "http { gzip_buffers 4 x; }", `"gzip_buffers" directive invalid value in nginx.conf:1`},
		{"flag", "http { gzip maybe; }", `invalid value "maybe" in "gzip" directive, it must be "on" or "off" in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGzipWarnings checks nginx's warnings: a MIME type twice (text/html is
// always there) and a gzip_proxied value twice.
func TestGzipWarnings(t *testing.T) {
	cfg, err := loadText(t, "http { gzip_types text/html TEXT/CSS text/css; gzip_proxied any ANY; }")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(warningMessages(cfg.Warnings), "\n")
	for _, want := range []string{`duplicate MIME type "text/html"`, `duplicate MIME type "text/css"`, `duplicate value "ANY"`} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
}

// TestGzipInheritance checks nginx's merge of each gzip setting: the nearest
// level's value, gzip_types and gzip_proxied gathered from all of that
// level's directives, and "gzip_disable msie6" inherited apart from the
// level's regular expressions.
func TestGzipInheritance(t *testing.T) {
	cfg, err := loadText(t, `http {
    gzip on;
    gzip_types text/css;
    gzip_types Application/JSON;
    gzip_proxied expired;
    gzip_proxied no-cache;
    gzip_disable msie6 "^curl";
    gzip_comp_level 6;
    server {
        location /inherit { gzip_vary on; gzip_http_version 1.0; }
        location /replace { gzip off; gzip_types *; gzip_proxied any; gzip_disable "wget"; gzip_min_length 1k; gzip_buffers 16 8k; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	in, re := locs[0].Settings.Gzip, locs[1].Settings.Gzip
	if !in.On || strings.Join(in.Types, " ") != "text/css application/json" || in.AnyType || in.Level != 6 ||
		in.Proxied != GzipProxiedExpired|GzipProxiedNoCache || !in.Vary || !in.HTTP10 || in.MinLength != 20 ||
		len(in.Disable) != 1 || !in.Disable[0].MatchString("CURL/8") || !in.DisableMSIE6 {
		t.Errorf("/inherit: %+v", in)
	}
	if re.On || re.Types != nil || !re.AnyType || re.Proxied != GzipProxiedAny || re.Vary || re.HTTP10 ||
		re.MinLength != 1024 || len(re.Disable) != 1 || re.Disable[0].MatchString("curl") || !re.DisableMSIE6 ||
		re.Buffers != (BufferSpec{Number: 16, Size: 8192}) {
		t.Errorf("/replace: %+v", re)
	}
	if got := in.Proxied.String(); got != "expired no-cache" {
		t.Errorf("Proxied.String() = %q", got)
	}
}

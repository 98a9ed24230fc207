package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestSubFilterErrors checks nginx 1.22.1's messages (nginx -t) for bad
// sub_filter, gzip_static, gunzip and gunzip_buffers values, each with its
// file and line.
func TestSubFilterErrors(t *testing.T) {
	var many strings.Builder
	for i := range 256 {
		fmt.Fprintf(&many, "sub_filter s%d r;\n", i)
	}
	tests := []struct{ name, src, want string }{
		{"empty pattern", `http { sub_filter "" x; }`, `empty search pattern in nginx.conf:1`},
		{"one argument", `http { sub_filter a; }`, `invalid number of arguments in "sub_filter" directive in nginx.conf:1`},
		{"256 patterns", "http {\n" + many.String() + "}", `number of search patterns exceeds 255 in nginx.conf:257`},
		{"once flag", `http { sub_filter_once yes; }`, `invalid value "yes" in "sub_filter_once" directive, it must be "on" or "off" in nginx.conf:1`},
		{"last_modified flag", `http { sub_filter_last_modified 1; }`, `invalid value "1" in "sub_filter_last_modified" directive, it must be "on" or "off" in nginx.conf:1`},
		{"inside if", `http { server { location / { if ($x) { sub_filter a b; } } } }`, `"sub_filter" directive is not allowed here in nginx.conf:1`},
		{"gzip_static value", `http { gzip_static maybe; }`, `invalid value "maybe" in nginx.conf:1`},
		{"gzip_static twice", `http { gzip_static on; gzip_static off; }`, `"gzip_static" directive is duplicate in nginx.conf:1`},
		{"gunzip twice", `http { gunzip on; gunzip off; }`, `"gunzip" directive is duplicate in nginx.conf:1`},
		{"gunzip_buffers 0", `http { gunzip_buffers 0 4k; }`, `"gunzip_buffers" directive invalid value in nginx.conf:1`},
		{"gunzip_buffers size", `http { gunzip_buffers 4 x; }`, `"gunzip_buffers" directive invalid value in nginx.conf:1`},
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

// TestSubFilterSettings checks what each level gets: the nearest level's
// sub_filter list (all of it, lower-cased search strings), the flags and
// types inherited one by one, gzip_static's value without case, and the
// duplicate text/html warning nginx gives.
func TestSubFilterSettings(t *testing.T) {
	cfg, err := loadText(t, `http {
    sub_filter Hello "[$host]";
    sub_filter_types text/css TEXT/HTML;
    gzip_static ALWAYS;
    gunzip on;
    gunzip_buffers 16 8k;
    server {
        listen 80;
        sub_filter_once off;
        location /a { }
        location /b { sub_filter X y; sub_filter_last_modified on; sub_filter_types *; gzip_static on; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	srv := cfg.HTTP.Servers[0]
	a, b := srv.Locations[0].Settings.SubFilter, srv.Locations[1].Settings.SubFilter
	if len(a.Pairs) != 1 || a.Pairs[0].Match != "hello" || a.Pairs[0].Replacement != "[$host]" || a.Once || a.LastModified ||
		!reflect.DeepEqual(a.Types, []string{"text/css"}) || a.AnyType {
		t.Errorf("/a: %+v", a)
	}
	if len(b.Pairs) != 1 || b.Pairs[0].Match != "x" || b.Once || !b.LastModified || !b.AnyType {
		t.Errorf("/b: %+v", b)
	}
	if g := srv.Locations[0].Settings.Gzip; g.Static != GzipStaticAlways || !g.Gunzip || g.GunzipBuffers != (BufferSpec{Number: 16, Size: 8 << 10}) {
		t.Errorf("/a gzip: static %v, gunzip %v, buffers %v", g.Static, g.Gunzip, g.GunzipBuffers)
	}
	if g := srv.Locations[1].Settings.Gzip; g.Static != GzipStaticOn {
		t.Errorf("/b gzip_static %v", g.Static)
	}
	if d := cfg.HTTP.Servers[0].Settings.SubFilter; !reflect.DeepEqual(d.Pairs, a.Pairs) {
		t.Errorf("server pairs %+v", d.Pairs)
	}
	got := strings.Join(warningMessages(cfg.Warnings), "\n")
	if !strings.Contains(got, `duplicate MIME type "text/html"`) {
		t.Errorf("warnings %q lack the duplicate text/html", got)
	}
}

package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestGeoIP2Errors checks the messages for bad geoip2 blocks, worded as
// ngx_http_geoip2_module 3.4's (recorded with nginx 1.22.1 and Debian's
// libnginx-mod-http-geoip2 and -stream-geoip2, nginx -t), with file and line.
func TestGeoIP2Errors(t *testing.T) {
	const db = "geoip2 /db/a.mmdb "
	tests := []struct{ name, src, want string }{
		{"no block", "http { geoip2 /db/a.mmdb; }", `directive "geoip2" has no opening "{" in nginx.conf:1`},
		{"two files", "http { geoip2 /a /b { } }", `invalid number of arguments in "geoip2" directive in nginx.conf:1`},
		{"not in server", "http { server { " + db + "{ } } }", `"geoip2" directive is not allowed here in nginx.conf:1`},
		{"file twice", "http { " + db + "{ } " + db + "{ } }", `Duplicate GeoIP2 mmdb - /db/a.mmdb in nginx.conf:1`},
		{"unknown setting", "http { " + db + "{ foo bar; } }", `invalid setting "foo" in nginx.conf:1`},
		{"auto_reload bare", "http { " + db + "{ auto_reload; } }", `invalid number of arguments for auto_reload in nginx.conf:1`},
		{"auto_reload time", "http { " + db + "{ auto_reload soon; } }", `invalid interval for auto_reload "soon" in nginx.conf:1`},
		{"empty default", "http { " + db + "{ $a default= country; } }", `invalid setting "default=" for "$a" in nginx.conf:1`},
		{"two defaults", "http { " + db + "{ $a default=x default=y country; } }", `default has already been declared for  "$a" in nginx.conf:1`},
		{"two sources", "http { " + db + "{ $a source=$x source=$y country; } }", `source has already been declared for  "$a" in nginx.conf:1`},
		{"source no $", "http { " + db + "{ $a source=foo country; } }", `invalid source variable name "foo" in nginx.conf:1`},
		{"bad setting", "http { " + db + "{ $a bad=1 country; } }", `invalid setting "bad=1" for "$a" in nginx.conf:1`},
		{"metadata field", "http { " + db + "{ $a metadata foo; } }", `invalid metadata field for "$a" in nginx.conf:1`},
		{"metadata none", "http { " + db + "{ $a metadata; } }", `invalid metadata field for "$a" in nginx.conf:1`},
		{"block in block", "http { " + db + "{ $a { } } }", `unexpected "{" in nginx.conf:1`},
		{"proxy network", "http { geoip2_proxy bad; }", `invalid network "bad" in nginx.conf:1`},
		{"proxy in stream", "stream { geoip2_proxy 10.0.0.0/8; }", `"geoip2_proxy" directive is not allowed here in nginx.conf:1`},
		{"recursive value", "http { geoip2_proxy_recursive yes; }", `geoip2_proxy_recursive`},
		{"stream file twice", "stream { " + db + "{ } " + db + "{ } }", `Duplicate GeoIP2 mmdb - /db/a.mmdb in nginx.conf:1`},
		{"stream setting", "stream { " + db + "{ proxy 1.2.3.4; } }", `invalid setting "proxy" in nginx.conf:1`},
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

// TestGeoIP2Values checks what the blocks build: a relative file is taken
// from the prefix, settings before the path, anything with "=" after it is
// a path element (as the module reads them).
func TestGeoIP2Values(t *testing.T) {
	cfg, err := loadText(t, `http {
geoip2 db/country.mmdb {
    auto_reload 5m;
    $cc default=US source=$arg_ip country iso_code;
    $name "default=United States" country names en;
    $sub subdivisions -1 iso_code a=b;
    $build metadata build_epoch;
    $all;
}
geoip2_proxy 10.0.0.1/8;
geoip2_proxy_recursive on;
}
stream { geoip2 /db/asn.mmdb { $asn source=$remote_addr autonomous_system_number; } }`)
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.HTTP
	if len(h.GeoIP2) != 1 {
		t.Fatalf("%d blocks", len(h.GeoIP2))
	}
	g := h.GeoIP2[0]
	if !strings.HasSuffix(g.File, "/db/country.mmdb") || !strings.HasPrefix(g.File, "/") || g.AutoReload != 5*time.Minute {
		t.Errorf("block %+v", g)
	}
	var got []GeoIP2Var
	for _, v := range g.Vars {
		v.Pos = Pos{}
		got = append(got, *v)
	}
	want := []GeoIP2Var{
		{Name: "cc", Default: "US", Source: "$arg_ip", Path: []string{"country", "iso_code"}},
		{Name: "name", Default: "United States", Path: []string{"country", "names", "en"}},
		{Name: "sub", Path: []string{"subdivisions", "-1", "iso_code", "a=b"}},
		{Name: "build", Metadata: "build_epoch"},
		{Name: "all", Path: []string{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vars\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(h.GeoIP2Proxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}) || !h.GeoIP2ProxyRecursive {
		t.Errorf("proxies %v recursive %v", h.GeoIP2Proxies, h.GeoIP2ProxyRecursive)
	}
	if w := warningMessages(cfg.Warnings); len(w) != 1 || w[0] != "low address bits of 10.0.0.1/8 are meaningless" {
		t.Errorf("warnings %q", w)
	}
	if len(cfg.Stream.GeoIP2) != 1 || cfg.Stream.GeoIP2[0].Vars[0].Source != "$remote_addr" {
		t.Errorf("stream %+v", cfg.Stream.GeoIP2)
	}
}

// TestLoadModuleGeoIP2 checks that Debian's load_module lines for the
// modules fulcrum has built in say that their directives work.
func TestLoadModuleGeoIP2(t *testing.T) {
	cfg, err := loadText(t, "load_module modules/ngx_http_geoip2_module.so;\nload_module modules/ngx_http_image_filter_module.so;\nhttp { }")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 2 {
		t.Fatalf("warnings %+v", cfg.Warnings)
	}
	if h := cfg.Warnings[0].Hint; !strings.Contains(h, "geoip2") || strings.Contains(h, "unknown") {
		t.Errorf("geoip2's hint %q", h)
	}
	if h := cfg.Warnings[1].Hint; !strings.Contains(h, "stay unknown") {
		t.Errorf("image_filter's hint %q", h)
	}
}

package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGeoErrors checks nginx 1.22.1's messages (nginx -t) for bad geo blocks.
func TestGeoErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"variable without $", "geo g { }", `invalid variable name "g" in nginx.conf:1`},
		{"second argument without $", "geo $a g { }", `invalid variable name "g" in nginx.conf:1`},
		{"bare $", "geo $ $g { }", `invalid variable name "$" in nginx.conf:1`},
		{"no block", "geo $g;", `directive "geo" has no opening "{" in nginx.conf:1`},
		{"three arguments", "geo $a $b $c { }", `invalid number of arguments in "geo" directive in nginx.conf:1`},
		{"not in server", "server { geo $g { } }", `"geo" directive is not allowed here in nginx.conf:1`},
		{"ranges after a network", "geo $g { default a; ranges; }", `the "ranges" directive must be the first directive inside "geo" block in nginx.conf:1`},
		{"three values", "geo $g { 1.2.3.4 a b; }", `invalid number of the geo parameters in nginx.conf:1`},
		{"no value", "geo $g { 1.2.3.4; }", `invalid number of the geo parameters in nginx.conf:1`},
		{"volatile with a value", "geo $g { volatile 1; }", `invalid network "volatile" in nginx.conf:1`},
		{"not a network", "geo $g { foo a; }", `invalid network "foo" in nginx.conf:1, write an address`},
		{"mask too long", "geo $g { ::1/200 a; }", `invalid network "::1/200" in nginx.conf:1`},
		{"broadcast with a mask", "geo $g { 255.255.255.255/32 a; }", `invalid network "255.255.255.255/32" in nginx.conf:1`},
		{"bad proxy", "geo $g { proxy 1.2.3.4/33; }", `invalid network "1.2.3.4/33" in nginx.conf:1`},
		{"proxy_recursive with a value", "geo $g { proxy_recursive x; }", `invalid network "proxy_recursive" in nginx.conf:1`},
		{"block in a line", "geo $g { 1.2.3.0/24 { } }", `unexpected "{" in nginx.conf:1`},
		{"range backwards", "geo $g { ranges; 1.2.3.4-1.2.3.1 a; }", `invalid range "1.2.3.4-1.2.3.1" in nginx.conf:1, write a range`},
		{"range without end", "geo $g { ranges; 1.2.3.4 a; }", `invalid range "1.2.3.4" in nginx.conf:1`},
		{"IPv6 range", "geo $g { ranges; ::1-::2 b; }", `invalid range "::1-::2" in nginx.conf:1`},
		{"range to the broadcast address", "geo $g { ranges; 255.255.255.0-255.255.255.255 a; }", `invalid range "255.255.255.0-255.255.255.255" in nginx.conf:1`},
		{"range over a smaller one", "geo $g { ranges; 1.2.3.10-1.2.3.20 b; 1.2.3.0-1.2.3.255 a; }", `range "1.2.3.0-1.2.3.255" overlaps "1.2.3.10-1.2.3.20" in nginx.conf:1`},
		{"ranges crossing", "geo $g { ranges; 1.2.3.10-1.2.3.20 b; 1.2.3.15-1.2.3.25 a; }", `range "1.2.3.15-1.2.3.25" overlaps "1.2.3.10-1.2.3.20" in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { "+tt.src+" }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGeoWarnings checks nginx 1.22.1's warnings; the geo still loads.
func TestGeoWarnings(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"host bits", "geo $g { 10.0.0.1/8 a; }", `low address bits of 10.0.0.1/8 are meaningless`},
		{"proxy host bits", "geo $g { proxy 1.2.3.4/24; }", `low address bits of 1.2.3.4/24 are meaningless`},
		{"duplicate network", "geo $g { 1.2.3.4 a; 1.2.3.4/32 b; }", `duplicate network "1.2.3.4/32", value: "b", old value: "a"`},
		{"duplicate default", "geo $g { default a; default b; }", `duplicate network "default", value: "b", old value: "a"`},
		{"nothing to delete", "geo $g { delete 1.2.3.4; }", `no network "1.2.3.4" to delete`},
		{"duplicate range default", "geo $g { ranges; default a; default b; }", `duplicate default geo range value: "b", old value: "a"`},
		{"duplicate range", "geo $g { ranges; 1.2.3.10-1.2.3.20 b; 1.2.3.10-1.2.3.20 c; }", `duplicate range "1.2.3.10-1.2.3.20", value: "c", old value: "b"`},
		{"no range to delete", "geo $g { ranges; 1.2.3.10-1.2.3.20 b; delete 1.2.3.10-1.2.3.21; }", `no address range "1.2.3.10-1.2.3.21" to delete`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { "+tt.src+" }")
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.Msg)
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGeoNets(t *testing.T) {
	cfg := mustLoad(t, `http {
		geo $arg_ip $g {
			proxy 10.0.0.0/8;
			proxy 255.255.255.255;
			proxy_recursive;
			default d;
			10.0.0.0/8 ten;
			10.1.2.3 host;
			10.1.2.3/32 host2;
			192.168.0.0/24 lan;
			delete 192.168.0.0/24;
			2001:db8::/32 doc;
			255.255.255.255 bcast;
		}
		geo $c { 127.0.0.1 local; }
	}`)
	geos := cfg.HTTP.Geos
	if len(geos) != 2 {
		t.Fatalf("%d geos, want 2", len(geos))
	}
	g := geos[0]
	if g.Source != "arg_ip" || g.Variable != "g" || g.Ranges || !g.ProxyRecursive {
		t.Errorf("geo = %+v", g)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("255.255.255.255/32")}
	if !reflect.DeepEqual(g.Proxies, wantProxies) {
		t.Errorf("proxies %v, want %v", g.Proxies, wantProxies)
	}
	want := []string{"0.0.0.0/0 d", "10.0.0.0/8 ten", "10.1.2.3/32 host2", "255.255.255.255/32 bcast", "::/0 d", "2001:db8::/32 doc"}
	if got := geoNets(g); !reflect.DeepEqual(got, want) {
		t.Errorf("nets\n%q, want\n%q", got, want)
	}
	c := geos[1]
	if c.Source != "" || c.Variable != "c" {
		t.Errorf("second geo = %+v", c)
	}
	if got, want := geoNets(c), []string{"0.0.0.0/0 ", "127.0.0.1/32 local", "::/0 "}; !reflect.DeepEqual(got, want) {
		t.Errorf("nets %q, want %q (the default is empty)", got, want)
	}
}

func geoNets(g *Geo) []string {
	var out []string
	for _, n := range g.Nets {
		out = append(out, n.Prefix.String()+" "+n.Value)
	}
	return out
}

// TestGeoRanges checks that ranges written inside others split them as nginx's
// ngx_http_geo_add_range does, per /16, and that delete removes exact ranges.
func TestGeoRanges(t *testing.T) {
	tests := []struct {
		name, lines string
		want        []string
	}{
		{"disjoint, any order", "10.0.0.5-10.0.0.9 b; 10.0.0.0-10.0.0.2 a;",
			[]string{"10.0.0.0-10.0.0.2 a", "10.0.0.5-10.0.0.9 b"}},
		{"split inside", "10.0.0.0-10.0.0.255 a; 10.0.0.5-10.0.0.9 b;",
			[]string{"10.0.0.0-10.0.0.4 a", "10.0.0.5-10.0.0.9 b", "10.0.0.10-10.0.0.255 a"}},
		{"head and tail", "10.0.0.0-10.0.0.255 a; 10.0.0.0-10.0.0.2 h; 10.0.0.250-10.0.0.255 t;",
			[]string{"10.0.0.0-10.0.0.2 h", "10.0.0.3-10.0.0.249 a", "10.0.0.250-10.0.0.255 t"}},
		{"duplicate replaces", "10.0.0.0-10.0.0.9 a; 10.0.0.0-10.0.0.9 b;", []string{"10.0.0.0-10.0.0.9 b"}},
		{"across /16s", "1.2.0.0-1.5.255.255 w; 1.3.0.5-1.4.0.0 m;",
			[]string{"1.2.0.0-1.2.255.255 w", "1.3.0.0-1.3.0.4 w", "1.3.0.5-1.3.255.255 m", "1.4.0.0-1.4.0.0 m", "1.4.0.1-1.4.255.255 w", "1.5.0.0-1.5.255.255 w"}},
		{"delete", "20.0.0.0-20.0.0.10 x; 21.0.0.0-21.0.0.1 y; delete 20.0.0.0-20.0.0.10;", []string{"21.0.0.0-21.0.0.1 y"}},
		{"the last /16", "255.255.0.0-255.255.255.254 top;", []string{"255.255.0.0-255.255.255.254 top"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { geo $g { ranges; default d; "+tt.lines+" } }")
			g := cfg.HTTP.Geos[0]
			if !g.Ranges || g.Default != "d" {
				t.Errorf("ranges %v default %q", g.Ranges, g.Default)
			}
			var got []string
			for _, r := range g.Spans {
				got = append(got, fmt.Sprintf("%s-%s %s", uintAddr(r.Start), uintAddr(r.End), r.Value))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ranges\n%q, want\n%q", got, tt.want)
			}
		})
	}
}

func uintAddr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// TestGeoInclude reads a geo block's lines from an included file.
func TestGeoInclude(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"nets.conf":  "10.0.0.0/8 ten;\n192.168.0.0/16 lan;\n",
		"nginx.conf": "events {} http { geo $g { default d; include nets.conf; } }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(dir+"/nginx.conf", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.0.0.0/0 d", "10.0.0.0/8 ten", "192.168.0.0/16 lan", "::/0 d"}
	if got := geoNets(cfg.HTTP.Geos[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("nets %q, want %q", got, want)
	}
}

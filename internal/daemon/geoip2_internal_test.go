package daemon

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
	"fulcrum/internal/vars"
)

// TestGeoIP2Get checks the http variables' address and default rules, as
// nginx 1.22.1 with ngx_http_geoip2_module 3.4 answered them: source='s
// value parsed as ngx_parse_addr (anything else, the default), the client
// address (unmapped, as an IPv4 listener's), X-Forwarded-For through
// geoip2_proxy (recursive or not), a unix client not found.
func TestGeoIP2Get(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.mmdb")
	cc := func(iso string) testutil.MMDBMap {
		return testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: iso}}}}
	}
	testutil.WriteMMDB(t, db, testutil.MMDBOptions{BuildEpoch: 42}, []testutil.MMDBNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Value: cc("DE")},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Value: cc("FR")},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Value: cc("JP")},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Value: cc("")},
	})
	g := &config.GeoIP2{File: db, Vars: []*config.GeoIP2Var{
		{Name: "src", Default: "XX", Source: "$arg_ip", Path: []string{"country", "iso_code"}},
		{Name: "client", Path: []string{"country", "iso_code"}},
		{Name: "build", Metadata: "build_epoch"},
	}}
	build := func(recursive bool) *vars.Compiler {
		comp := &vars.Compiler{}
		h := &config.HTTP{GeoIP2: []*config.GeoIP2{g}, GeoIP2Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}, GeoIP2ProxyRecursive: recursive}
		later, err := defineGeoIP2(comp, h, nil, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range later {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		return comp
	}
	plain, recursive := build(false), build(true)
	tests := []struct {
		name      string
		comp      *vars.Compiler
		remote    string
		unix      bool
		args, xff string
		want      string
	}{
		{"source", plain, "127.0.0.1:1", false, "ip=10.2.3.4", "", "src=DE client= build=42"},
		{"source longest", plain, "127.0.0.1:1", false, "ip=10.1.2.3", "", "src=FR client= build=42"},
		{"source ipv6", plain, "127.0.0.1:1", false, "ip=2001:db8::1", "", "src=JP client= build=42"},
		{"source mapped", plain, "127.0.0.1:1", false, "ip=::ffff:10.2.3.4", "", "src=XX client= build=42"},
		{"source port", plain, "127.0.0.1:1", false, "ip=10.2.3.4:80", "", "src=XX client= build=42"},
		{"source empty", plain, "127.0.0.1:1", false, "", "", "src=XX client= build=42"},
		{"source all ones", plain, "127.0.0.1:1", false, "ip=255.255.255.255", "", "src=XX client= build=42"},
		{"empty string found", plain, "127.0.0.1:1", false, "ip=192.0.2.1", "", "src= client= build=42"},
		{"client", plain, "10.2.3.4:1", false, "", "", "src=XX client=DE build=42"},
		{"client mapped", plain, "[::ffff:10.2.3.4]:1", false, "", "", "src=XX client=DE build=42"},
		{"client ipv6", plain, "[2001:db8::5]:1", false, "", "", "src=XX client=JP build=42"},
		{"untrusted client keeps its address", plain, "10.2.3.4:1", false, "", "10.1.2.3", "src=XX client=DE build=42"},
		{"trusted proxy", plain, "127.0.0.1:1", false, "", "10.2.3.4", "src=XX client=DE build=42"},
		{"last address only", plain, "127.0.0.1:1", false, "", "10.2.3.4, 10.1.2.3", "src=XX client=FR build=42"},
		{"recursive", recursive, "127.0.0.1:1", false, "", "10.2.3.4, 10.1.2.3", "src=XX client=DE build=42"},
		{"unix client", plain, "", true, "", "", "src=XX client= build=42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := tt.comp.Compile("src=$src client=$client build=$build")
			if err != nil {
				t.Fatal(err)
			}
			st := &vars.State{Request: vars.Request{Args: tt.args, RemoteUnix: tt.unix}}
			if tt.remote != "" {
				st.Remote = netip.MustParseAddrPort(tt.remote)
			}
			if tt.xff != "" {
				st.Header = vars.HeaderList{{Name: "X-Forwarded-For", Value: tt.xff}}
			}
			if got := string(tmpl.Append(nil, st)); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

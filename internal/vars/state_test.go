package vars

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// TestUpstreamFieldsReused: the list SetUpstreamFields installs answers
// $upstream_http_* lookups, Reset forgets it, and the next request's list
// reuses its storage: no allocation once warm.
func TestUpstreamFieldsReused(t *testing.T) {
	var st State
	set := func(values ...string) {
		fields := st.UpstreamFields()
		for _, v := range values {
			fields = append(fields, Field{Name: "X-Tag", Value: v})
		}
		st.SetUpstreamFields(fields)
	}
	set("a", "b")
	if v, next, ok := st.UpstreamHeader.Lookup("X-Tag", 0); !ok || v != "a" {
		t.Fatalf("first lookup %q %v", v, ok)
	} else if v, _, ok := st.UpstreamHeader.Lookup("X-Tag", next); !ok || v != "b" {
		t.Fatalf("second lookup %q %v", v, ok)
	}
	st.Reset()
	if st.UpstreamHeader != nil {
		t.Fatal("UpstreamHeader survived Reset")
	}
	if allocs := testing.AllocsPerRun(100, func() {
		set("c")
		st.Reset()
	}); allocs != 0 {
		t.Errorf("%v allocations per request once warm, want 0", allocs)
	}
	set("d")
	if v, _, ok := st.UpstreamHeader.Lookup("x-tag", 0); !ok || v != "d" {
		t.Errorf("lookup after reuse %q %v, want d", v, ok)
	}
}

// TestRemoteUnix: a client on a unix socket has no address; nginx prints
// "unix:" for it in $remote_addr and $proxy_add_x_forwarded_for, until a
// realip rule gives it one.
func TestRemoteUnix(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	tests := []struct {
		name      string
		remote    string
		unix      bool
		addr, xff string
	}{
		{"tcp client", "192.0.2.1:4000", false, "192.0.2.1", "192.0.2.1"},
		{"unix client", "", true, "unix:", "unix:"},
		{"unix client, address from realip", "203.0.113.7:0", true, "203.0.113.7", "203.0.113.7"},
		{"no client at all", "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			if tt.remote != "" {
				st.Remote = netip.MustParseAddrPort(tt.remote)
			}
			st.RemoteUnix = tt.unix
			if got, _ := value(t, c, "remote_addr", st); got != tt.addr {
				t.Errorf("$remote_addr %q, want %q", got, tt.addr)
			}
			if got, _ := value(t, c, "proxy_add_x_forwarded_for", st); got != tt.xff {
				t.Errorf("$proxy_add_x_forwarded_for %q, want %q", got, tt.xff)
			}
		})
	}
}

// TestAbsoluteURL: the absolute form nginx's header filter gives a Location
// that is a path: the request's host as $host has it, else the address that
// accepted the connection, and the port unless it is the scheme's default.
func TestAbsoluteURL(t *testing.T) {
	tests := []struct {
		name, host, local, scheme, serverName, path, want string
	}{
		{"host with port and case", "WWW.Example.COM.:8080", "127.0.0.1:8443", "http", "", "/x?a=1", "http://www.example.com:8443/x?a=1"},
		{"default port left out", "a.test", "127.0.0.1:80", "http", "", "/", "http://a.test/"},
		{"https default port", "a.test", "127.0.0.1:443", "https", "", "/s", "https://a.test/s"},
		{"no host: the local address", "", "127.0.0.1:8080", "http", "srv", "/new", "http://127.0.0.1:8080/new"},
		{"no host over IPv6", "", "[::1]:8080", "http", "srv", "/new", "http://[::1]:8080/new"},
		{"no host on a unix socket", "", "", "http", "srv", "/new", "http://srv/new"},
		{"not a path", "a.test", "127.0.0.1:80", "http", "", "https://b.test/", "https://b.test/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			st.Host, st.Scheme, st.ServerName = tt.host, tt.scheme, tt.serverName
			if tt.local != "" {
				st.Local = netip.MustParseAddrPort(tt.local)
			}
			if got := st.AbsoluteURL(tt.path, true, false); got != tt.want {
				t.Errorf("AbsoluteURL(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
	// port_in_redirect off and server_name_in_redirect on (nginx 1.22's
	// answers: the primary name, empty when the server has none).
	st := &State{Request: Request{Host: "alias.test"}, ServerName: "main.test"}
	st.Local = netip.MustParseAddrPort("127.0.0.1:8080")
	for _, tt := range []struct {
		port, name bool
		server     string
		want       string
	}{
		{false, false, "main.test", "http://alias.test/x"},
		{true, true, "main.test", "http://main.test:8080/x"},
		{false, true, "main.test", "http://main.test/x"},
		{true, true, "", "http://:8080/x"},
	} {
		st.ServerName = tt.server
		if got := st.AbsoluteURL("/x", tt.port, tt.name); got != tt.want {
			t.Errorf("AbsoluteURL(port %v, server name %v, %q) = %q, want %q", tt.port, tt.name, tt.server, got, tt.want)
		}
	}
}

// TestProxyProtocolVariables: the $proxy_protocol_* variables are not found
// without a header's addresses, and a port 0 is found and empty, as nginx
// 1.22.1 logs them; $realip_remote_* are the connection's own address.
func TestProxyProtocolVariables(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	pp := &ProxyProtocol{Addr: "192.0.2.1", Port: 5000, ServerAddr: "198.51.100.2",
		TLVs: fakeTLVs{"alpn": "h2", "0x04": "", "0xzz": "bad"}}
	tests := []struct {
		name  string
		st    *State
		want  string
		found bool
	}{
		{"proxy_protocol_addr", ppState(pp), "192.0.2.1", true},
		{"proxy_protocol_port", ppState(pp), "5000", true},
		{"proxy_protocol_server_addr", ppState(pp), "198.51.100.2", true},
		{"proxy_protocol_server_port", ppState(pp), "", true},
		{"proxy_protocol_addr", &State{}, "", false},
		{"proxy_protocol_port", &State{}, "", false},
		{"proxy_protocol_tlv_alpn", ppState(pp), "h2", true},
		{"PROXY_PROTOCOL_TLV_ALPN", ppState(pp), "h2", true},
		{"proxy_protocol_tlv_0x04", ppState(pp), "", true},
		{"proxy_protocol_tlv_netns", ppState(pp), "", false},
		{"proxy_protocol_tlv_0xzz", ppState(pp), "", false},
		{"proxy_protocol_tlv_alpn", ppState(&ProxyProtocol{Addr: "192.0.2.1"}), "", false},
		{"proxy_protocol_tlv_alpn", &State{}, "", false},
		{"realip_remote_addr", realIPState("127.0.0.1:4000"), "127.0.0.1", true},
		{"realip_remote_port", realIPState("127.0.0.1:4000"), "4000", true},
		{"realip_remote_addr", realIPState(""), "192.0.2.1", true},
	}
	for _, tt := range tests {
		got, ok := value(t, c, tt.name, tt.st)
		if got != tt.want || ok != tt.found {
			t.Errorf("$%s = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.found)
		}
	}
}

// fakeTLVs answers TLV lookups from a map; a value "bad" is an error.
type fakeTLVs map[string]string

func (f fakeTLVs) TLV(name string) (string, bool, error) {
	v, ok := f[name]
	if v == "bad" {
		return "", false, errors.New("invalid PROXY protocol TLV")
	}
	return v, ok, nil
}

// realIPState is a request from 192.0.2.1:5000 (after realip) on a
// connection from peer ("" for none).
func realIPState(peer string) *State {
	st := &State{}
	st.Remote = netip.MustParseAddrPort("192.0.2.1:5000")
	if peer != "" {
		st.PeerAddr = netip.MustParseAddrPort(peer)
	}
	return st
}

// ppState is a request whose connection's header said pp.
func ppState(pp *ProxyProtocol) *State {
	st := &State{}
	st.ProxyProtocol = pp
	return st
}

// quietErr is an error with a Quiet method, as proxyproto's short ssl TLV.
type quietErr struct{}

func (quietErr) Error() string { return "quiet" }
func (quietErr) Quiet() bool   { return true }

// quietTLVs fails every lookup quietly.
type quietTLVs struct{}

func (quietTLVs) TLV(string) (string, bool, error) { return "", false, quietErr{} }

// TestProxyProtocolTLVErrorLines: a TLV lookup error is not found and its
// text goes to VariableErrors once per variable name in a request (nginx
// keeps a variable's failure for the request), none for a Quiet error.
func TestProxyProtocolTLVErrorLines(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	tmpl, err := c.Compile("[$proxy_protocol_tlv_0xzz][$proxy_protocol_tlv_0xZZ][$proxy_protocol_tlv_alpn][$proxy_protocol_tlv_bad2][$proxy_protocol_tlv_0xzz]")
	if err != nil {
		t.Fatal(err)
	}
	st := ppState(&ProxyProtocol{Addr: "192.0.2.1", TLVs: fakeTLVs{"alpn": "h2", "0xzz": "bad", "bad2": "bad"}})
	if got := tmpl.String(st); got != "[][][h2][][]" {
		t.Errorf("value %q", got)
	}
	want := []VariableError{{Name: "proxy_protocol_tlv_0xzz", Message: "invalid PROXY protocol TLV"}, {Name: "proxy_protocol_tlv_bad2", Message: "invalid PROXY protocol TLV"}}
	if !slices.Equal(st.VariableErrors, want) {
		t.Errorf("VariableErrors %+v, want %+v", st.VariableErrors, want)
	}
	st.Reset()
	if st.VariableErrors != nil {
		t.Errorf("after Reset: %+v", st.VariableErrors)
	}
	st = ppState(&ProxyProtocol{Addr: "192.0.2.1", TLVs: quietTLVs{}})
	if got := tmpl.String(st); got != "[][][][][]" || st.VariableErrors != nil {
		t.Errorf("quiet: %+v, %+v", got, st.VariableErrors)
	}
}

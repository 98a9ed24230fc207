package config

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// countingResolver answers from a table and counts the questions.
type countingResolver struct {
	hosts map[string][]string
	asked map[string]int
}

func (r *countingResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.asked[host]++
	return r.hosts[host], nil
}

func TestHostResolver(t *testing.T) {
	r := &countingResolver{
		hosts: map[string][]string{"a.test": {"10.0.0.1", "::ffff:10.0.0.2", "10.0.0.1", "junk"}, "empty.test": {"junk"}},
		asked: map[string]int{},
	}
	h := newHostResolver(r)
	tests := []struct {
		host string
		want []string
		ok   bool
	}{
		{"a.test", []string{"10.0.0.1", "10.0.0.2"}, true},
		{"A.TEST", []string{"10.0.0.1", "10.0.0.2"}, true}, // cached, names compare without case
		{"127.0.0.2", []string{"127.0.0.2"}, true},
		{"::1", []string{"::1"}, true},
		{"localhost", []string{"127.0.0.1"}, true},
		{"LocalHost.", []string{"127.0.0.1"}, true},
		{"app.localhost", []string{"127.0.0.1"}, true},
		{"empty.test", nil, false},
	}
	for _, tt := range tests {
		got, err := h.lookup(tt.host)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("lookup(%q) = %v, %v", tt.host, got, err)
		}
	}
	if want := map[string]int{"a.test": 1, "empty.test": 1}; !reflect.DeepEqual(r.asked, want) {
		t.Errorf("asked %v, want %v", r.asked, want)
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in   string
		want hostPort
		err  error
	}{
		{"example.org", hostPort{"example.org", 80, false}, nil},
		{"example.org:8080", hostPort{"example.org", 8080, true}, nil},
		{"[::1]", hostPort{"::1", 80, false}, nil},
		{"[::1]:81", hostPort{"::1", 81, true}, nil},
		{"::1", hostPort{}, errBadHost},
		{"[::1", hostPort{}, errBadHost},
		{"[::1]x", hostPort{}, errBadHost},
		{"a:0", hostPort{}, errBadPort},
		{"a:65536", hostPort{}, errBadPort},
		{"a:+80", hostPort{}, errBadPort},
		{"a:", hostPort{}, errBadPort},
		{":80", hostPort{}, errNoHost},
		{"", hostPort{}, errNoHost},
		{"http://a", hostPort{}, errBadHost},
		{"a/b", hostPort{}, errBadHost},
	}
	for _, tt := range tests {
		got, err := splitHostPort(tt.in, 80)
		if err != tt.err || (err == nil && got != tt.want) {
			t.Errorf("splitHostPort(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestSystemResolverOffline loads with the default resolver: IP addresses and
// localhost must work without any DNS.
func TestSystemResolverOffline(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	src := `http {
    upstream u { server 127.0.0.1:8001; server localhost:8002; server [::1]:8003; }
    server { listen localhost:8080; location / { proxy_pass http://localhost:9000/; } }
}`
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(conf, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, u := range cfg.HTTP.Upstreams {
		for _, s := range u.Servers {
			addrs = append(addrs, s.Addr)
		}
	}
	want := []string{"127.0.0.1:8001", "127.0.0.1:8002", "[::1]:8003", "127.0.0.1:9000"}
	if !reflect.DeepEqual(addrs, want) || cfg.HTTP.Servers[0].Listens[0].Addr != "127.0.0.1:8080" {
		t.Errorf("addresses %v, listen %s", addrs, cfg.HTTP.Servers[0].Listens[0].Addr)
	}
}

func TestPaths(t *testing.T) {
	b := &builder{prefix: "/p"}
	tests := []struct{ in, want string }{
		{"html", "/p/html"}, {"data/", "/p/data/"}, {"/abs/", "/abs/"}, {"stderr", "stderr"},
		{"stdout", "stdout"}, {"../x", "/x"}, {"logs/$host.log", "/p/logs/$host.log"},
	}
	for _, tt := range tests {
		if got := b.path(tt.in); got != tt.want {
			t.Errorf("path(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

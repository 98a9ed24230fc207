package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The answers below are nginx 1.22.1's for the same blocks (nginx-diff and
// curl against nginx with these geo and split_clients blocks).

// TestGeoVariables sends requests through the daemon and checks geo's value for
// addresses from a variable, the client's address, X-Forwarded-For through
// trusted proxies, ranges mode and realip.
func TestGeoVariables(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    geo $arg_ip $g {
        default d;
        10.0.0.0/8 ten;
        10.1.2.3 host;
        10.1.2.0/24 ten12;
        192.168.0.0/24 lan;
        delete 192.168.0.0/24;
        2001:db8::/32 doc;
        255.255.255.255 bcast;
    }
    geo $arg_ip $r {
        ranges;
        default rd;
        10.0.0.0-10.0.0.255 a;
        10.0.0.5-10.0.0.9 b;
    }
    geo $c {
        default other;
        127.0.0.1 local;
    }
    geo $http_x_addr $x {
        proxy 10.0.0.0/8;
        default none;
        1.2.3.4 client;
        10.0.0.0/8 ten;
    }
    geo $http_x_addr $xr {
        proxy 10.0.0.0/8;
        proxy_recursive;
        default none;
        1.2.3.4 client;
        10.0.0.0/8 ten;
    }
    map $g $internal { ten yes; host yes; ten12 yes; default no; }
    server {
        listen 127.0.0.1:0;
        location / { return 200 "[$g][$r][$c][$x][$xr][$internal]"; }
        location /realip {
            set_real_ip_from 127.0.0.1;
            real_ip_header X-Real-IP;
            return 200 "[$c]";
        }
    }
    server {
        listen 127.0.0.1:0;
        server_name realip;
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Real-IP;
        location / { return 200 "[$c]"; }
    }`)
	tests := []struct {
		name, target string
		header       []string // name, value, ...
		want         string
	}{
		{"no ip", "/", nil, "[bcast][rd][local][none][none][no]"},
		{"network", "/?ip=10.9.9.9", nil, "[ten][rd][local][none][none][yes]"},
		{"longest prefix", "/?ip=10.1.2.3", nil, "[host][rd][local][none][none][yes]"},
		{"longer prefix", "/?ip=10.1.2.4", nil, "[ten12][rd][local][none][none][yes]"},
		{"deleted", "/?ip=192.168.0.1", nil, "[d][rd][local][none][none][no]"},
		{"range split", "/?ip=10.0.0.7", nil, "[ten][b][local][none][none][yes]"},
		{"range after the split", "/?ip=10.0.0.10", nil, "[ten][a][local][none][none][yes]"},
		{"IPv6", "/?ip=2001:db8::1", nil, "[doc][rd][local][none][none][no]"},
		{"IPv4-mapped", "/?ip=::ffff:10.1.2.3", nil, "[host][rd][local][none][none][yes]"},
		{"leading zeros", "/?ip=010.1.2.3", nil, "[host][rd][local][none][none][yes]"},
		{"port is not an address", "/?ip=10.1.2.3:80", nil, "[bcast][rd][local][none][none][no]"},
		{"name", "/?ip=localhost", nil, "[bcast][rd][local][none][none][no]"},
		{"untrusted proxy", "/", []string{"X-Addr", "5.6.7.8", "X-Forwarded-For", "1.2.3.4"}, "[bcast][rd][local][none][none][no]"},
		{"trusted proxy", "/", []string{"X-Addr", "10.0.0.1", "X-Forwarded-For", "1.2.3.4"}, "[bcast][rd][local][client][client][no]"},
		{"last element", "/", []string{"X-Addr", "10.0.0.1", "X-Forwarded-For", "1.2.3.4, 10.0.0.2"}, "[bcast][rd][local][ten][client][no]"},
		{"last field", "/", []string{"X-Addr", "10.0.0.1", "X-Forwarded-For", "1.2.3.4", "X-Forwarded-For", "10.0.0.2"}, "[bcast][rd][local][ten][client][no]"},
		{"bad element", "/", []string{"X-Addr", "10.0.0.1", "X-Forwarded-For", "1.2.3.4, junk"}, "[bcast][rd][local][ten][ten][no]"},
		// A location's realip runs after return (nginx's preaccess phase).
		{"location realip", "/realip", []string{"X-Real-IP", "1.2.3.4"}, "[local]"},
		{"server realip", "/", []string{"Host", "realip", "X-Real-IP", "1.2.3.4"}, "[other]"},
		{"server realip, same address", "/", []string{"Host", "realip", "X-Real-IP", "127.0.0.1"}, "[local]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := getBody(t, addr, tt.target, tt.header...); got != tt.want {
				t.Errorf("GET %s %v = %q, want %q", tt.target, tt.header, got, tt.want)
			}
		})
	}
}

// TestGeoVolatile checks geo's "volatile" (nginx 1.29.3, read from its
// source: the variable is not cacheable): a use after the source variable
// changed looks the new address up, while a geo without it keeps the
// request's first value.
func TestGeoVolatile(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    access_log off;
    map $uri $ip { volatile; ~^/(?<a>.*)$ $a; }
    geo $ip $cached { default d; 10.0.0.1 one; 10.0.0.2 two; }
    geo $ip $vol { default d; volatile; 10.0.0.1 one; 10.0.0.2 two; }
    server {
        listen 127.0.0.1:0;
        location / { set $first "$cached $vol"; rewrite ^ /10.0.0.2; return 200 "$first|$cached $vol"; }
    }`)
	if got, want := getBody(t, addr, "/10.0.0.1"), "one one|one two"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSplitClientsVariables checks split_clients' picks for keys, and a split
// that chooses the upstream of proxy_pass.
func TestSplitClientsVariables(t *testing.T) {
	dir := t.TempDir()
	backend := func(name string) string {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		t.Cleanup(b.Close)
		return b.Listener.Addr().String()
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    split_clients "${arg_k}" $v {
        0.5%%%%  one;
        2.0%%%%  two;
        12.34%%%% three;
        33%%%% four;
        *     "";
    }
    split_clients "x${arg_k}y" $w {
        50%%%% a;
        49.99%%%% b;
    }
    split_clients "$arg_k" $up {
        50%%%% blue;
        *   green;
    }
    upstream blue { server %s; }
    upstream green { server %s; }
    server {
        listen 127.0.0.1:0;
        location / { return 200 "[$v][$w]"; }
        location /canary { proxy_pass http://$up; }
    }`, backend("blue"), backend("green")))
	tests := []struct{ key, want string }{
		{"0", "[four][b]"}, {"3", "[][a]"}, {"8", "[three][b]"}, {"10", "[two][b]"}, {"15", "[one][a]"},
		{"a", "[][b]"}, {"ab", "[three][a]"}, {"abcd", "[four][a]"},
		{"192.0.2.1", "[][a]"}, {"192.0.2.2", "[four][b]"}, {"198.51.100.7", "[two][a]"}, {"hello-world", "[four][b]"},
	}
	for _, tt := range tests {
		if got := getBody(t, addr, "/?k="+tt.key); got != tt.want {
			t.Errorf("key %q: %q, want %q", tt.key, got, tt.want)
		}
	}
	seen := map[string]bool{}
	for _, k := range []string{"0", "1", "2", "3", "4", "5", "6", "7"} {
		seen[getBody(t, addr, "/canary?k="+k)] = true
	}
	if !seen["blue"] || !seen["green"] || len(seen) != 2 {
		t.Errorf("upstreams reached: %v, want blue and green", seen)
	}
}

// getBody sends GET target to addr with header (name, value pairs) and
// returns the body of a 200.
func getBody(t *testing.T, addr, target string, header ...string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", target, resp.StatusCode, body)
	}
	return string(body)
}

// TestBlockVariablesFromLaterSets checks that map, geo and split_clients
// blocks may read a variable that only a set further down the configuration
// declares: nginx 1.22.1 resolves variables after reading the whole
// configuration, and answered "yes a one" for this one (curl against nginx
// with the same blocks).
func TestBlockVariablesFromLaterSets(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    access_log off;
    geo $src_var $out { default no; 127.0.0.1 yes; }
    map $later $x { default a; foo b; }
    split_clients "${later2}" $sc { 50%% one; * two; } # %% for Sprintf
    server {
        listen 127.0.0.1:0;
        set $src_var 127.0.0.1;
        set $later foo2;
        set $later2 bar;
        location / { return 200 "$out $x $sc"; }
    }`)
	if got, want := getBody(t, addr, "/"), "yes a one"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

package stream

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestRouteByVariable checks proxy_pass with variables as nginx 1.22.1
// routed the same configurations: the value names an upstream block (from
// a map, geo, split_clients or set), or is an address and port.
func TestRouteByVariable(t *testing.T) {
	b1, b2 := startEcho(t, "b1"), startEcho(t, "b2")
	ups := fmt.Sprintf("upstream b1 { server %s; } upstream b2 { server %s; }\n", b1.addr(), b2.addr())
	tests := []struct {
		name, conf, want string
	}{
		{"map of the client address", `map $remote_addr $backend { 127.0.0.1 b1; default b2; }
server { listen 127.0.0.1:0; proxy_pass $backend; }`, "b1"},
		{"map default", `map $remote_addr $backend { 10.0.0.1 b1; default b2; }
server { listen 127.0.0.1:0; proxy_pass $backend; }`, "b2"},
		{"map hostnames wildcard of a set value", `map $name $backend { hostnames; *.example.org b2; default b1; }
server { listen 127.0.0.1:0; set $name www.Example.org; proxy_pass $backend; }`, "b2"},
		{"map regex", `map $remote_addr $backend { ~^127\.0\.0\.(\d+)$ b$1; default b2; }
server { listen 127.0.0.1:0; proxy_pass $backend; }`, "b1"},
		{"geo", `geo $backend { default b1; 127.0.0.0/8 b2; }
server { listen 127.0.0.1:0; proxy_pass $backend; }`, "b2"},
		{"geo ranges of a variable", `geo $addr $backend { ranges; default b1; 10.0.0.0-10.0.0.255 b2; }
server { listen 127.0.0.1:0; set $addr 10.0.0.7; proxy_pass $backend; }`, "b2"},
		// nginx 1.22.1 put 127.0.0.1 in the second half of this split.
		{"split_clients", `split_clients "${remote_addr}x" $backend { 50% b1; * b2; }
server { listen 127.0.0.1:0; proxy_pass $backend; }`, "b2"},
		{"address and port", fmt.Sprintf(`server { listen 127.0.0.1:0; set $to %s; proxy_pass $to; }`, b2.addr()), "b2"},
		{"set after proxy_pass", fmt.Sprintf(`server { listen 127.0.0.1:0; proxy_pass $to; set $to %s; }`, b1.addr()), "b1"},
		{"map value with variables", fmt.Sprintf(`map $remote_addr $backend { default 127.0.0.1:$port; }
server { listen 127.0.0.1:0; set $port %s; proxy_pass $backend; }`, b1.addr()[strings.LastIndexByte(b1.addr(), ':')+1:]), "b1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := start(t, load(t, t.TempDir(), ups+tt.conf))
			for i := 0; i < 2; i++ {
				if got := dial(t, addr).ask(t, "x"); got != tt.want+" x" {
					t.Errorf("session %d: %q, want %q", i, got, tt.want+" x")
				}
			}
		})
	}
}

// TestPassFailures checks the values nginx 1.22.1 could not proxy to:
// the session closes with $status 500 and nginx's error line.
func TestPassFailures(t *testing.T) {
	tests := []struct {
		name, value, line string
	}{
		{"a name that is no upstream", "nosuchname", `no port in upstream "nosuchname", client: 127.0.0.1, server: 127.0.0.1:`},
		{"an upstream name with a port", "b1:80", "no resolver defined to resolve b1, client: 127.0.0.1, server: 127.0.0.1:"},
		{"a host name without a resolver", "localhost:80", "no resolver defined to resolve localhost, client: 127.0.0.1"},
		{"empty", "$nothing", `no host in upstream ""`},
		{"an address without a port", "1.2.3.4", `no port in upstream "1.2.3.4"`},
		{"port 0", "127.0.0.1:0", `invalid port in upstream "127.0.0.1:0"`},
		{"port too big", "127.0.0.1:99999", `invalid port in upstream "127.0.0.1:99999"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := fmt.Sprintf(`log_format f '$status $upstream_addr';
upstream b1 { server 127.0.0.1:9; }
map $remote_addr $nothing { default ""; }
server { listen 127.0.0.1:0; set $to %s; proxy_pass $to; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, tt.value)
			_, addr := start(t, load(t, dir, conf))
			if got := dial(t, addr).ask(t, "x"); got != "EOF" {
				t.Errorf("answer %q, want the connection closed", got)
			}
			waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == "500 -\n" })
			if errs := readFile(t, filepath.Join(dir, "err.log")); !strings.Contains(errs, "[error]") || !strings.Contains(errs, tt.line) {
				t.Errorf("error log %q, want %q", errs, tt.line)
			}
		})
	}
}

// TestPassResolver checks a proxy_pass value that is a host name and
// port: looked up with the resolver (a DNS server the test runs).
func TestPassResolver(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("db.test", "127.0.0.2")
	port := startEchoAt(t, "127.0.0.2")
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(`resolver %s valid=1h ipv6=off;
server { listen 127.0.0.1:0; set $to db.test:%s; proxy_pass $to; }`, dns.Addr, port)))
	for i := 0; i < 2; i++ {
		if got := dial(t, addr).ask(t, "x"); got != "127.0.0.2 x" {
			t.Errorf("session %d: %q", i, got)
		}
	}
	if n := dns.Queries(); n != 1 {
		t.Errorf("%d lookups, want 1: the answer is kept for valid=", n)
	}
	dns.Set("gone.test")
	dir := t.TempDir()
	_, addr = start(t, load(t, dir, fmt.Sprintf(`resolver %s ipv6=off; log_format f '$status';
server { listen 127.0.0.1:0; proxy_pass gone.test:$server_port; access_log %%DIR%%/s.log f; }`, dns.Addr)))
	if got := dial(t, addr).ask(t, "x"); got != "EOF" {
		t.Errorf("a name that does not resolve: %q", got)
	}
	waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == "502\n" })
}

// TestVariableValues checks the values nginx 1.22.1 gave (in return and
// in the access log) for the same configurations.
func TestVariableValues(t *testing.T) {
	a := startEcho(t, "a")
	tests := []struct {
		name, conf, answer, log string
	}{
		{"map regex captures", `log_format f '$m $name';
map $remote_addr $m { ~^(?<name>\d+)\.0\.0\.(\d+)$ got$2; default none; }
server { listen 127.0.0.1:0; return "$m $1 $name"; access_log %DIR%/s.log f; }`, "got1 127 127", "got1 127\n"},
		{"named capture not matched", `log_format f '$m [$name]';
map $remote_port $m { ~^(?<name>0+)$ x; default y; }
server { listen 127.0.0.1:0; return "$m"; access_log %DIR%/s.log f; }`, "y", "y [-]\n"},
		{"set uninitialized in this server", `log_format f '[$v]';
server { listen 127.0.0.1:0; return "[$v]"; access_log %DIR%/s.log f; }
server { listen 127.0.0.1:0; set $v 1; return 1; }`, "[]", "[]\n"},
		{"set with variables", `log_format f '$v';
server { listen 127.0.0.1:0; set $v "$remote_addr-$protocol"; return "$v"; access_log %DIR%/s.log f; }`, "127.0.0.1-TCP", "127.0.0.1-TCP\n"},
		{"geo of a unix or bad address", `log_format f '$g';
geo $a $g { default d; 255.255.255.255 none; }
server { listen 127.0.0.1:0; set $a nonsense; return "$g"; access_log %DIR%/s.log f; }`, "none", "none\n"},
		// A map is evaluated when first used and kept: the set evaluated
		// both maps when nothing was sent yet; the log reads even the
		// volatile one's kept value (nginx 1.22.1 logged "c=0 v=0").
		{"cached and volatile in the log", fmt.Sprintf(`log_format f 'c=$c v=$v';
map $bytes_received $c { default $bytes_received; }
map $bytes_received $v { volatile; default $bytes_received; }
server { listen 127.0.0.1:0; set $x $c$v; proxy_pass %s; access_log %%DIR%%/s.log f; }`, a.addr()), "a hi", "c=0 v=0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, tt.conf))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			var got string
			if strings.HasPrefix(tt.answer, "a ") {
				cl := &client{c: c, r: bufio.NewReader(c)}
				got = cl.ask(t, "hi")
				c.Close()
			} else {
				b, err := io.ReadAll(c)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if got != tt.answer {
				t.Errorf("answer %q, want %q", got, tt.answer)
			}
			waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == tt.log })
		})
	}
}

// TestVolatileInValues checks that a volatile map is evaluated again at
// each use in a value with variables, and a cached one is not.
func TestVolatileInValues(t *testing.T) {
	cfg := load(t, t.TempDir(), `map $bytes_received $c { default $bytes_received; }
map $bytes_received $v { volatile; default $bytes_received; }
server { listen 127.0.0.1:0; return "$c $v"; }`)
	tab, err := compileTable(cfg, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var srv *server
	for _, s := range tab.servers {
		srv = s
	}
	p := New(Options{})
	s := &session{p: p, srv: srv}
	for _, tt := range []struct {
		received int64
		want     string
	}{{0, "0 0"}, {5, "0 5"}, {7, "0 7"}} {
		s.fromClient.Store(tt.received)
		if got := string(srv.ret.appendValue(nil, s)); got != tt.want {
			t.Errorf("after %d bytes: %q, want %q", tt.received, got, tt.want)
		}
	}
}

// TestGeoVolatile checks geo's "volatile" (nginx 1.29.3, read from its
// source: the variable is not cacheable): evaluated again at each use,
// while a geo without it keeps its first value for the session.
func TestGeoVolatile(t *testing.T) {
	cfg := load(t, t.TempDir(), `map $bytes_received $addr { volatile; default 10.0.0.$bytes_received; }
geo $addr $cached { 10.0.0.5 five; default other; }
geo $addr $vol { 10.0.0.5 five; volatile; default other; }
server { listen 127.0.0.1:0; return "$cached $vol"; }`)
	tab, err := compileTable(cfg, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var srv *server
	for _, s := range tab.servers {
		srv = s
	}
	s := &session{p: New(Options{}), srv: srv}
	for _, tt := range []struct {
		received int64
		want     string
	}{{0, "other other"}, {5, "other five"}, {7, "other other"}} {
		s.fromClient.Store(tt.received)
		if got := string(srv.ret.appendValue(nil, s)); got != tt.want {
			t.Errorf("after %d bytes: %q, want %q", tt.received, got, tt.want)
		}
	}
}

// TestSetBeforeLimitConn checks that set runs before limit_conn, as in
// nginx 1.22.1: a zone keyed by a set variable limits the sessions.
func TestSetBeforeLimitConn(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '$status $sv';
limit_conn_zone $sv zone=z:1m;
server { listen 127.0.0.1:0; set $sv k; limit_conn z 1; proxy_pass %s; access_log %%DIR%%/s.log f; }`, a.addr())))
	first := dial(t, addr)
	if got := first.ask(t, "x"); got != "a x" {
		t.Fatalf("first session: %q", got)
	}
	if got := dial(t, addr).ask(t, "x"); got != "EOF" {
		t.Fatalf("second session: %q, want it refused", got)
	}
	waitFor(t, "the refused session's line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == "503 k\n" })
}

// TestLimitConnKeyLength checks keys of 255 and 256 bytes, as nginx 1.22.1
// answered the same configuration: the longer one is logged at error ("the
// value of the "$k" key is more than 255 bytes: "kkk..." while
// initializing session, client: ..., server: ...") and not counted, so a
// second session goes through; the other limits it.
func TestLimitConnKeyLength(t *testing.T) {
	a := startEcho(t, "a")
	for _, tt := range []struct {
		n      int
		second string
		logged bool
	}{{255, "EOF", false}, {256, "a x", true}} {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			dir := t.TempDir()
			key := strings.Repeat("k", tt.n)
			_, addr := start(t, load(t, dir, fmt.Sprintf(`map $remote_addr $k { default "%s"; }
limit_conn_zone $k zone=z:1m;
server { listen 127.0.0.1:0; limit_conn z 1; proxy_pass %s; error_log %%DIR%%/err.log info; }`, key, a.addr())))
			first := dial(t, addr)
			if got := first.ask(t, "x"); got != "a x" {
				t.Fatalf("first session: %q", got)
			}
			if got := dial(t, addr).ask(t, "x"); got != tt.second {
				t.Fatalf("second session: %q, want %q", got, tt.second)
			}
			msg := `the value of the "$k" key is more than 255 bytes: "` + key + `" while initializing session, client: 127.0.0.1, server: 127.0.0.1:`
			if tt.logged {
				waitFor(t, "the error line", func() bool {
					for _, l := range strings.Split(readFile(t, filepath.Join(dir, "err.log")), "\n") {
						if strings.Contains(l, msg) && strings.Contains(l, " [error] ") {
							return true
						}
					}
					return false
				})
			} else if strings.Contains(readFile(t, filepath.Join(dir, "err.log")), "more than 255 bytes") {
				t.Errorf("a %d-byte key was logged as too long", tt.n)
			}
		})
	}
}

// TestVariableCheck checks the load-time errors nginx 1.22.1 gave.
func TestVariableCheck(t *testing.T) {
	tests := []struct{ body, want string }{
		{`map $remote_addr $remote_port { default 1; } server { listen 127.0.0.1:0; return 1; }`, `the duplicate "remote_port" variable in `},
		{`server { listen 127.0.0.1:0; set $remote_addr 1; return 1; }`, `the duplicate "remote_addr" variable in `},
		{`map $remote_addr $m { default $nope; } server { listen 127.0.0.1:0; return $m; }`, `unknown "nope" variable in `},
		{`server { listen 127.0.0.1:0; proxy_pass $nope; }`, `unknown "nope" variable in `},
		// With the position, the fix.
		{"\nserver { listen 127.0.0.1:0; set $server_port 1; return 1; }", `the duplicate "server_port" variable in %DIR%/f.conf:4, a stream variable's value cannot be replaced: name another variable`},
		{"\nmap $remote_addr $m {\n default $nope; }", `unknown "nope" variable in %DIR%/f.conf:4, use a stream variable, or define it with map, geo or split_clients in the stream block or set in a server`},
		{`log_format f '$1'; server { listen 127.0.0.1:0; return 1; access_log /dev/null f; }`, `unknown "1" variable`},
		{`split_clients $nope $s { * a; } server { listen 127.0.0.1:0; return 1; }`, `unknown "nope" variable in `},
		{`geo $nope $g { default a; } server { listen 127.0.0.1:0; return 1; }`, `unknown "nope" variable in `},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		err := Check(load(t, dir, tt.body))
		if want := strings.ReplaceAll(tt.want, "%DIR%", dir); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want %q", tt.body, err, want)
		}
	}
}

// TestBindVariable checks proxy_bind with variables as nginx 1.22.1
// answered the same values: an address binds to it (with a port when it
// has one), an empty value binds nothing, and a value that is not an
// address is logged ("invalid local address") and binds nothing.
func TestBindVariable(t *testing.T) {
	up := testutil.RawBackend(t, func(c net.Conn) { io.WriteString(c, c.RemoteAddr().String()+"\n") })
	port := deadAddr(t)[len("127.0.0.1:"):]
	tests := []struct {
		name, value, want, line string
	}{
		{"address", "127.0.0.2", "127.0.0.2:", ""},
		{"address and port", "127.0.0.3:" + port, "127.0.0.3:" + port, ""},
		{"empty", "$nothing", "127.0.0.1:", ""},
		{"not an address", "bad", "127.0.0.1:", `invalid local address "bad", client: 127.0.0.1, server: 127.0.0.1:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`map $remote_addr $nothing { default ""; }
server { listen 127.0.0.1:0; set $b %s; proxy_bind $b; proxy_pass %s; error_log %%DIR%%/err.log info; }`, tt.value, up)))
			if got := dial(t, addr).ask(t, "x"); !strings.HasPrefix(got, tt.want) {
				t.Errorf("upstream saw %q, want %s...", got, tt.want)
			}
			if errs := readFile(t, filepath.Join(dir, "err.log")); tt.line != "" && !strings.Contains(errs, tt.line) {
				t.Errorf("error log %q, want %q", errs, tt.line)
			}
		})
	}
}

// TestIncludeInBlocks checks include inside stream map and geo blocks, and
// geo's delete, as in http.
func TestIncludeInBlocks(t *testing.T) {
	b1, b2 := startEcho(t, "b1"), startEcho(t, "b2")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.map"), []byte("127.0.0.1 b1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nets.geo"), []byte("127.0.0.0/8 b2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ups := fmt.Sprintf("upstream b1 { server %s; } upstream b2 { server %s; }\n", b1.addr(), b2.addr())
	for _, tt := range []struct{ name, conf, want string }{
		{"map include", `map $remote_addr $backend { include %DIR%/keys.map; default b2; }`, "b1"},
		{"geo include", `geo $backend { default b1; include %DIR%/nets.geo; }`, "b2"},
		{"geo include and delete", `geo $backend { default b1; include %DIR%/nets.geo; delete 127.0.0.0/8; }`, "b1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := start(t, load(t, dir, ups+tt.conf+"\nserver { listen 127.0.0.1:0; proxy_pass $backend; }"))
			if got := dial(t, addr).ask(t, "x"); got != tt.want+" x" {
				t.Errorf("%q, want %q", got, tt.want+" x")
			}
		})
	}
}

// TestReloadVariables checks that a reload's new map routes new sessions
// while a session started before keeps the old configuration's variables.
func TestReloadVariables(t *testing.T) {
	b1, b2 := startEcho(t, "b1"), startEcho(t, "b2")
	dir := t.TempDir()
	conf := func(to string) string {
		return fmt.Sprintf("upstream b1 { server %s; } upstream b2 { server %s; }\nmap $remote_addr $backend { default %s; }\nserver { listen 127.0.0.1:0; proxy_pass $backend; }", b1.addr(), b2.addr(), to)
	}
	p, addr := start(t, load(t, dir, conf("b1")))
	old := dial(t, addr)
	if got := old.ask(t, "x"); got != "b1 x" {
		t.Fatalf("before the reload: %q", got)
	}
	if _, err := p.Apply(load(t, dir, conf("b2"))); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, addr).ask(t, "x"); got != "b2 x" {
		t.Errorf("after the reload: %q, want b2", got)
	}
	if got := old.ask(t, "y"); got != "b1 y" {
		t.Errorf("the session started before: %q, want b1", got)
	}
}

// skewClock is the real clock moved ahead by hand (sessions set socket
// deadlines from it, so it cannot stand still in the past).
type skewClock struct {
	mu   sync.Mutex // guards skew
	skew time.Duration
}

func (c *skewClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *skewClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skew += d
}

// TestPassResolverTTL: a proxy_pass with variables keeps a name's answer
// for its TTL (at least a second), or for the resolver's valid= when it
// has one, as nginx's resolver caches it; a changed answer is used once
// that time has passed, not before.
func TestPassResolverTTL(t *testing.T) {
	port := startEchoAt(t, "127.0.0.2", "127.0.0.3")
	tests := []struct {
		name, valid     string
		ttl             uint32
		cached, expired time.Duration // clock moves: still the old answer; then past the keep
	}{
		{"the TTL", "", 60, 59 * time.Second, 2 * time.Second},
		{"valid= over a longer TTL", "valid=10s", 3600, 9 * time.Second, 2 * time.Second},
		{"valid= over a shorter TTL", "valid=1h", 5, 10 * time.Second, time.Hour},
		{"a TTL of 0 kept a second", "", 0, 500 * time.Millisecond, 600 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := testutil.StartDNSServer(t)
			dns.SetTTL("db.test", tt.ttl, "127.0.0.2")
			clock := &skewClock{}
			p := New(Options{Clock: clock.Now})
			addrs, err := p.Apply(load(t, t.TempDir(), fmt.Sprintf(`resolver %s %s ipv6=off;
server { listen 127.0.0.1:0; set $to db.test:%s; proxy_pass $to; }`, dns.Addr, tt.valid, port)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			addr := addrs[0].String()
			if got := dial(t, addr).ask(t, "x"); got != "127.0.0.2 x" {
				t.Fatalf("first session: %q", got)
			}
			dns.SetTTL("db.test", tt.ttl, "127.0.0.3")
			clock.advance(tt.cached)
			if got := dial(t, addr).ask(t, "x"); got != "127.0.0.2 x" {
				t.Errorf("after %v: %q, want the cached first answer", tt.cached, got)
			}
			if n := dns.QueriesFor("db.test"); n != 1 {
				t.Errorf("after %v: %d lookups, want 1", tt.cached, n)
			}
			clock.advance(tt.expired)
			if got := dial(t, addr).ask(t, "x"); got != "127.0.0.3 x" {
				t.Errorf("after %v more: %q, want the new answer", tt.expired, got)
			}
		})
	}
}

// TestMapMatchLimit: a map regex whose match hits the backtracking
// engine's bound gives the map's default, not a later regex's value, and
// logs the match's error at alert with the session's context, as nginx's
// ngx_stream_map_find and ngx_stream_regex_exec do (the http map's
// answer and line recorded with nginx 1.22.1; this build of nginx has no
// stream module, whose code is the same).
func TestMapMatchLimit(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("a", 40) + "c"
	_, addr := start(t, load(t, dir, `map $k $m { ~^(a|aa)+(?!x)$ first; ~^a second; default def; }
server { listen 127.0.0.1:0; set $k `+long+`; return "$m"; error_log %DIR%/e.log; }`))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(c); err != nil || string(b) != "def" {
		t.Errorf("answer %q, %v; want the default", b, err)
	}
	want := `[alert] `
	line := `regular expression match limit exceeded (20ms) on "` + long + `" using "^(a|aa)+(?!x)$", client: 127.0.0.1, server: 127.0.0.1:`
	waitFor(t, "the alert", func() bool {
		logged := readFile(t, filepath.Join(dir, "e.log"))
		return strings.Contains(logged, want) && strings.Contains(logged, line)
	})
}

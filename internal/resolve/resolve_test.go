package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// addrs lists the pool's servers of the line name, sorted.
func addrs(p *upstream.Pool, name string) []string {
	var out []string
	for _, s := range p.Servers() {
		if s.Name() == name {
			out = append(out, s.Addr())
		}
	}
	slices.Sort(out)
	return out
}

// TestRefresh resolves a name against a real DNS server on loopback as its
// answer changes: new addresses become servers with the line's settings,
// gone ones are removed, a failed lookup keeps what there was, and the
// pool's other servers are left alone.
func TestRefresh(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	other := upstream.NewSettings("tcp", "192.0.2.9:80")
	line := upstream.NewSettings("tcp", "10.0.0.1:8080")
	line.Name, line.Weight, line.MaxFails = "app.test:8080", 3, 7
	pool, err := upstream.NewPool("app", []upstream.Settings{other, line})
	if err != nil {
		t.Fatal(err)
	}
	w := New([]Name{{Pool: pool, Host: "app.test", Port: "8080", Settings: line}},
		Options{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, IPv4: true, IPv6: true})
	steps := []struct {
		name   string
		answer []string // nil: the name is unknown (NXDOMAIN)
		want   []string
	}{
		{"same address", []string{"10.0.0.1"}, []string{"10.0.0.1:8080"}},
		{"one more", []string{"10.0.0.2", "10.0.0.1"}, []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		{"one replaced", []string{"10.0.0.2", "10.0.0.3"}, []string{"10.0.0.2:8080", "10.0.0.3:8080"}},
		{"an IPv6 address too", []string{"10.0.0.3", "2001:db8::1"}, []string{"10.0.0.3:8080", "[2001:db8::1]:8080"}},
		{"lookup fails: kept", nil, []string{"10.0.0.3:8080", "[2001:db8::1]:8080"}},
	}
	for _, st := range steps {
		if st.answer == nil {
			dns.Set("other.test", "10.9.9.9")
			w.names[0].Host = "missing.test"
		} else {
			dns.Set("app.test", st.answer...)
		}
		w.Refresh()
		if got := addrs(pool, "app.test:8080"); !slices.Equal(got, st.want) {
			t.Fatalf("%s: servers %v, want %v", st.name, got, st.want)
		}
	}
	for _, s := range pool.Servers() {
		if s.Name() == "app.test:8080" && (s.Weight() != 3 || s.Settings().MaxFails != 7) {
			t.Errorf("server %s: weight %d max_fails %d, want the line's 3 and 7", s.Addr(), s.Weight(), s.Settings().MaxFails)
		}
	}
	if got := addrs(pool, "192.0.2.9:80"); len(got) != 1 {
		t.Errorf("the other server: %v", got)
	}
}

// TestPrimaryAndBackupLines: the same name on a primary and a backup line
// are two sets of servers, each kept in step on its own.
func TestPrimaryAndBackupLines(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "10.0.0.1", "10.0.0.2")
	primary := upstream.NewSettings("tcp", "10.0.0.1:80")
	primary.Name = "app.test"
	backup := primary
	backup.Backup = true
	pool, err := upstream.NewPool("app", []upstream.Settings{primary, backup})
	if err != nil {
		t.Fatal(err)
	}
	w := New([]Name{{Pool: pool, Host: "app.test", Port: "80", Settings: primary}, {Pool: pool, Host: "app.test", Port: "80", Settings: backup}},
		Options{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, IPv4: true})
	w.Refresh()
	count := map[bool]int{}
	for _, s := range pool.Servers() {
		count[s.Backup()]++
	}
	if count[false] != 2 || count[true] != 2 {
		t.Errorf("primaries %d, backups %d; want 2 and 2", count[false], count[true])
	}
}

// TestFamilies: ipv6=off asks for A records only, ipv4=off for AAAA only.
func TestFamilies(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "10.0.0.1", "2001:db8::1")
	for _, tt := range []struct {
		name       string
		ipv4, ipv6 bool
		want       []string
	}{
		{"both", true, true, []string{"10.0.0.1:80", "[2001:db8::1]:80"}},
		{"ipv6=off", true, false, []string{"10.0.0.1:80"}},
		{"ipv4=off", false, true, []string{"[2001:db8::1]:80"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			line := upstream.NewSettings("tcp", "10.0.0.1:80")
			line.Name = "app.test"
			pool, err := upstream.NewPool("app", []upstream.Settings{line})
			if err != nil {
				t.Fatal(err)
			}
			w := New([]Name{{Pool: pool, Host: "app.test", Port: "80", Settings: line}},
				Options{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, IPv4: tt.ipv4, IPv6: tt.ipv6})
			w.Refresh()
			if got := addrs(pool, "app.test"); !slices.Equal(got, tt.want) {
				t.Errorf("servers %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStartStop: Start resolves at once and then at each interval, Stop
// ends it.
func TestStartStop(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "10.0.0.5")
	line := upstream.NewSettings("tcp", "10.0.0.1:80")
	line.Name = "app.test"
	pool, err := upstream.NewPool("app", []upstream.Settings{line})
	if err != nil {
		t.Fatal(err)
	}
	w := New([]Name{{Pool: pool, Host: "app.test", Port: "80", Settings: line}},
		Options{Servers: []string{dns.Addr}, Interval: 20 * time.Millisecond, Timeout: 2 * time.Second, IPv4: true})
	w.Start()
	defer w.Stop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 5s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("first lookup", func() bool { return slices.Equal(addrs(pool, "app.test"), []string{"10.0.0.5:80"}) })
	dns.Set("app.test", "10.0.0.6")
	waitFor("second lookup", func() bool { return slices.Equal(addrs(pool, "app.test"), []string{"10.0.0.6:80"}) })
	w.Stop()
	n := dns.Queries()
	time.Sleep(100 * time.Millisecond) // five intervals: a running watcher would ask again
	if dns.Queries() != n {
		t.Errorf("queries went on after Stop: %d then %d", n, dns.Queries())
	}
}

func TestDescribe(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "x.test", IsNotFound: true}, "3: Host not found"},
		{&net.DNSError{Err: "i/o timeout", Name: "x.test", IsTimeout: true}, "110: Operation timed out"},
		{fmt.Errorf("lookup: %w", context.DeadlineExceeded), "110: Operation timed out"},
		{&net.DNSError{Err: "server misbehaving", Name: "x.test"}, "2: Server failure"},
	} {
		if got := Describe(tt.err); got != tt.want {
			t.Errorf("Describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestStopEndsLookup: Stop does not wait for a lookup that gets no answer
// (a reload stops the old watchers): the lookup ends with it, unlogged.
func TestStopEndsLookup(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	asked := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := silent.ReadFrom(buf); err != nil {
				return
			}
			select {
			case asked <- struct{}{}:
			default:
			}
		}
	}()
	line := upstream.NewSettings("tcp", "10.0.0.1:80")
	line.Name = "app.test"
	pool, err := upstream.NewPool("app", []upstream.Settings{line})
	if err != nil {
		t.Fatal(err)
	}
	w := New([]Name{{Pool: pool, Host: "app.test", Port: "80", Settings: line}},
		Options{Servers: []string{silent.LocalAddr().String()}, Timeout: time.Minute, IPv4: true})
	w.Start()
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher asked nothing")
	}
	stopped := make(chan struct{})
	go func() { w.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second): // the lookup's own timeout is a minute
		t.Fatal("Stop waited for the unanswered lookup")
	}
	if got := addrs(pool, "app.test"); !slices.Equal(got, []string{"10.0.0.1:80"}) {
		t.Errorf("servers %v after a stopped lookup, want the one it had", got)
	}
}

// TestLookupTTL: an answer is valid for the smallest TTL of the records
// used, CNAMEs included, across both families; a CNAME with no address
// behind it is asked about on its own.
func TestLookupTTL(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetTTL("a.test", 300, "10.0.0.1", "10.0.0.2")
	dns.SetTTL("dual.test", 600, "10.0.0.3", "2001:db8::3")
	dns.SetTTL("zero.test", 0, "10.0.0.4")
	dns.SetTTL("target.test", 120, "10.0.0.5")
	dns.SetCNAME("alias.test", "target.test", 60)
	dns.SetCNAME("long.test", "target.test", 900)
	dns.SetCNAME("dangling.test", "nowhere.test", 60)
	dns.Set("empty.test")
	dns.SetTTL("repeat.test", 300, "10.0.0.2", "10.0.0.1", "10.0.0.2")
	c := NewClient([]string{dns.Addr}, 2*time.Second, true, true)
	tests := []struct {
		host     string
		want     string
		ttl      time.Duration
		notFound bool
	}{
		{"a.test", "[10.0.0.1 10.0.0.2]", 300 * time.Second, false},
		{"dual.test", "[10.0.0.3 2001:db8::3]", 600 * time.Second, false},
		{"zero.test", "[10.0.0.4]", 0, false},
		{"alias.test", "[10.0.0.5]", 60 * time.Second, false}, // the CNAME's TTL is the smaller
		{"long.test", "[10.0.0.5]", 120 * time.Second, false}, // the address's is
		{"dangling.test", "", 0, true},
		{"empty.test", "", 0, true},
		{"missing.test", "", 0, true},
		{"10.1.2.3", "[10.1.2.3]", 0, false},
		// A repeated record stays, as nginx's resolver keeps it.
		{"repeat.test", "[10.0.0.1 10.0.0.2 10.0.0.2]", 300 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			addrs, ttl, err := c.LookupTTL(context.Background(), tt.host)
			if tt.notFound {
				var de *net.DNSError
				if !errors.As(err, &de) || !de.IsNotFound || Describe(err) != "3: Host not found" {
					t.Fatalf("%v, %v: want a name not found", addrs, err)
				}
				return
			}
			if err != nil || fmt.Sprint(addrs) != tt.want || ttl != tt.ttl {
				t.Errorf("%v %v %v, want %s %v", addrs, ttl, err, tt.want, tt.ttl)
			}
		})
	}
	if n := dns.QueriesFor("nowhere.test"); n == 0 {
		t.Error("the CNAME's target was not asked about")
	}
}

// TestWait: valid= overrides the TTL, a failure waits DefaultInterval, and
// a TTL waits a second more, a TTL of 0 one second, as nginx 1.27.3's
// resolve timer.
func TestWait(t *testing.T) {
	fail := errors.New("no answer")
	tests := []struct {
		name  string
		valid time.Duration
		ttl   time.Duration
		err   error
		want  time.Duration
	}{
		{"ttl", 0, 300 * time.Second, nil, 301 * time.Second},
		{"ttl 0: no spin", 0, 0, nil, time.Second},
		{"valid= overrides", 10 * time.Second, 300 * time.Second, nil, 10 * time.Second},
		{"valid= overrides 0", 10 * time.Second, 0, nil, 10 * time.Second},
		{"failure", 0, 0, fail, DefaultInterval},
		{"failure with valid=", 5 * time.Second, 0, fail, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Watcher{opts: Options{Interval: tt.valid}}
			if got := w.Wait(tt.ttl, tt.err); got != tt.want {
				t.Errorf("Wait = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStartFollowsTTL: each name is resolved again when its own answer
// expires: a name with a TTL of 0 about every second, while a name of the
// same watcher with an hour's TTL is not asked again.
func TestStartFollowsTTL(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetTTL("fast.test", 0, "10.0.0.1")
	dns.SetTTL("slow.test", 3600, "10.0.1.1")
	fast, slow := upstream.NewSettings("tcp", "10.0.0.1:80"), upstream.NewSettings("tcp", "10.0.1.1:80")
	fast.Name, slow.Name = "fast.test", "slow.test"
	pool, err := upstream.NewPool("app", []upstream.Settings{fast, slow})
	if err != nil {
		t.Fatal(err)
	}
	w := New([]Name{{Pool: pool, Host: "fast.test", Port: "80", Settings: fast}, {Pool: pool, Host: "slow.test", Port: "80", Settings: slow}},
		Options{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, IPv4: true})
	w.Start()
	defer w.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for dns.QueriesFor("slow.test") == 0 { // answered: the first answer is fixed
		if time.Now().After(deadline) {
			t.Fatal("slow.test was not asked about")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dns.SetTTL("fast.test", 0, "10.0.0.2")
	dns.SetTTL("slow.test", 3600, "10.0.1.2")
	for dns.QueriesFor("fast.test") < 3 || !slices.Equal(addrs(pool, "fast.test"), []string{"10.0.0.2:80"}) {
		if time.Now().After(deadline) {
			t.Fatalf("fast.test asked %d times, servers %v", dns.QueriesFor("fast.test"), addrs(pool, "fast.test"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := dns.QueriesFor("slow.test"); n != 1 {
		t.Errorf("slow.test asked %d times, want once: its answer is valid for an hour", n)
	}
	if got := addrs(pool, "slow.test"); !slices.Equal(got, []string{"10.0.1.1:80"}) {
		t.Errorf("slow.test servers %v, want the first answer's until the TTL runs out", got)
	}
}

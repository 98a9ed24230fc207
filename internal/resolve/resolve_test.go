package resolve

import (
	"context"
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

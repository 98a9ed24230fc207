package daemon

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/vars"
)

// fakeClock is a millisecond clock that tests move by hand.
type fakeClock struct{ ms int64 }

func (c *fakeClock) now() int64 { return c.ms }

// TestReqTableLeakyBucket checks ngx_http_limit_req_lookup's arithmetic one
// request at a time, on one key with account (a location's only limit). The
// excess values are the ones nginx logs ("excess: 0.600").
func TestReqTableLeakyBucket(t *testing.T) {
	type step struct {
		after      int64 // ms since the previous step
		want       lookupResult
		wantExcess int64
	}
	tests := []struct {
		name        string
		rate, burst int64
		steps       []step
	}{
		{"the first request passes, the second at once is over burst 0", 1000, 0,
			[]step{{0, lookupOK, 0}, {0, lookupBusy, 1000}, {1000, lookupOK, 0}}},
		{"a rejected request is not recorded", 1000, 0,
			[]step{{0, lookupOK, 0}, {400, lookupBusy, 600}, {600, lookupOK, 0}}},
		{"burst 2 takes three at once", 1000, 2000,
			[]step{{0, lookupOK, 0}, {0, lookupOK, 1000}, {0, lookupOK, 2000}, {0, lookupBusy, 3000}, {500, lookupBusy, 2500}, {500, lookupOK, 2000}}},
		{"the bucket never goes below empty", 10000, 0,
			[]step{{0, lookupOK, 0}, {5000, lookupOK, 0}, {100, lookupOK, 0}, {50, lookupBusy, 500}}},
		{"30r/m leaks half a request a second", 500, 0,
			[]step{{0, lookupOK, 0}, {1000, lookupBusy, 500}, {1000, lookupOK, 0}}},
		{"1r/m: nginx's 16 thousandths a second", 16, 1000,
			[]step{{0, lookupOK, 0}, {1000, lookupOK, 984}, {0, lookupBusy, 1984}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{ms: 1_000_000}
			tb := newReqTable(1<<20, clock.now)
			for i, s := range tt.steps {
				clock.ms += s.after
				rc, excess, _ := tb.lookup([]byte("k"), tt.rate, tt.burst, true)
				if rc != s.want || excess != s.wantExcess {
					t.Fatalf("step %d: %v excess %d, want %v excess %d", i, rc, excess, s.want, s.wantExcess)
				}
			}
		})
	}
}

// TestReqTableEviction checks the zone's size: idle entries whose buckets
// emptied a minute ago go first, then the least recently used one, and a
// zone full of entries that requests hold answers lookupFull.
func TestReqTableEviction(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	tb := newReqTable(minTestZone, clock.now)
	capacity := int(tb.budget / entryCost(4))
	key := func(i int) []byte { return []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)} }
	for i := range capacity {
		if rc, _, _ := tb.lookup(key(i), 1000, 0, true); rc != lookupOK {
			t.Fatalf("key %d of %d: %v", i, capacity, rc)
		}
	}
	// Full: the oldest key (0) makes room for a new one.
	if rc, _, _ := tb.lookup(key(capacity), 1000, 0, true); rc != lookupOK || tb.len() != capacity {
		t.Fatalf("new key in a full zone: %v, %d keys, want OK and %d", rc, tb.len(), capacity)
	}
	if _, ok := tb.entries[string(key(0))]; ok {
		t.Error("the least recently used key was kept")
	}
	// A minute later, new keys drop emptied entries instead (two at a time).
	clock.ms += 60_000
	tb.lookup(key(capacity+1), 1000, 0, true)
	if n := tb.len(); n != capacity-1 {
		t.Errorf("after a minute: %d keys, want %d (two expired, one added)", n, capacity-1)
	}
	// Entries held by requests in progress are never dropped.
	held := newReqTable(minTestZone, clock.now)
	for i := range capacity {
		if rc, _, _ := held.lookup(key(i), 1000, 0, false); rc != lookupAgain {
			t.Fatalf("held key %d: %v", i, rc)
		}
	}
	if rc, _, _ := held.lookup(key(capacity), 1000, 0, true); rc != lookupFull {
		t.Errorf("new key in a zone full of held entries: %v, want lookupFull", rc)
	}
}

// minTestZone is nginx's smallest limit_req zone (32k): about 160 keys.
const minTestZone = 32 << 10

// reqSnapshot returns a snapshot with the limit_req zones of src (an http
// block's directives), their clocks at clock, logging into the returned
// buffer, and the settings of the first server.
func reqSnapshot(t *testing.T, clock *fakeClock, src string) (*snapshot, *config.Settings, *testutil.SyncBuffer) {
	t.Helper()
	cfg := loadHTTP(t, src)
	buf := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Info}}, Stderr: buf, PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{log: log, reqZones: map[string]*reqZone{}}
	for _, z := range cfg.HTTP.LimitReqZones {
		rz, err := newReqZone(z, &vars.Compiler{}, clock.now)
		if err != nil {
			t.Fatal(err)
		}
		s.reqZones[z.Name] = rz
	}
	return s, cfg.HTTP.Servers[0].Settings, buf
}

// TestLimitReqHandler checks ngx_http_limit_req_handler's rules across
// several limits: the first over its burst rejects and the ones before it
// record nothing, the longest delay wins, nodelay and delay=, dry run, and
// the log lines, word for word as nginx 1.22.1 writes them.
func TestLimitReqHandler(t *testing.T) {
	type req struct {
		after     int64 // ms since the previous request
		wantCode  int
		wantDelay time.Duration
		want      vars.LimitReqStatus
		wantLog   string // a substring of the log, "" for no line
	}
	tests := []struct {
		name  string
		limit string
		reqs  []req
	}{
		{"burst with delay 0 delays every excess", "limit_req zone=a burst=2;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 100 * time.Millisecond, vars.LimitReqDelayed, `[warn] 1#0: *7 delaying request, excess: 1.000, by zone "a", client: 10.0.0.1, server: , request: "GET / HTTP/1.1", host: "h"`},
			{0, 0, 200 * time.Millisecond, vars.LimitReqDelayed, `delaying request, excess: 2.000, by zone "a"`},
			{40, 503, 0, vars.LimitReqRejected, `[error] 1#0: *7 limiting requests, excess: 2.600 by zone "a", client: 10.0.0.1`},
		}},
		{"nodelay passes the burst at once", "limit_req zone=a burst=2 nodelay; limit_req_status 429;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 429, 0, vars.LimitReqRejected, `limiting requests, excess: 3.000 by zone "a"`},
		}},
		{"delay=2 passes two, then delays", "limit_req zone=a burst=4 delay=2;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 100 * time.Millisecond, vars.LimitReqDelayed, `delaying request, excess: 3.000, by zone "a"`},
		}},
		{"the longest delay of several limits", "limit_req zone=a burst=5; limit_req zone=b burst=5;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			// a (10r/s): 1.000 -> 100ms; b (2r/s): 1.000 -> 500ms.
			{0, 0, 500 * time.Millisecond, vars.LimitReqDelayed, `delaying request, excess: 1.000, by zone "b"`},
		}},
		{"a later limit's rejection records nothing in the earlier", "limit_req zone=a burst=1 nodelay; limit_req zone=b;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 503, 0, vars.LimitReqRejected, `limiting requests, excess: 1.000 by zone "b"`},
			{0, 503, 0, vars.LimitReqRejected, `limiting requests, excess: 1.000 by zone "b"`},
			// b has leaked its request; a holds only the first request's.
			{500, 0, 0, vars.LimitReqPassed, ""},
		}},
		{"dry run delays and rejects nothing", "limit_req zone=a burst=1; limit_req_dry_run on; limit_req_log_level warn;", []req{
			{0, 0, 0, vars.LimitReqPassed, ""},
			{0, 0, 0, vars.LimitReqDelayedDryRun, `[notice] 1#0: *7 delaying request, dry run, excess: 1.000, by zone "a"`},
			{0, 0, 0, vars.LimitReqRejectedDryRun, `[warn] 1#0: *7 limiting requests, dry run, excess: 2.000 by zone "a"`},
		}},
		{"an empty key is not limited", "limit_req zone=empty;", []req{
			{0, 0, 0, vars.LimitReqNone, ""},
			{0, 0, 0, vars.LimitReqNone, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{ms: 1_000_000}
			s, set, logged := reqSnapshot(t, clock, `
				limit_req_zone $remote_addr zone=a:1m rate=10r/s;
				limit_req_zone $remote_addr zone=b:1m rate=2r/s;
				limit_req_zone $http_none zone=empty:1m rate=1r/s;
				server { `+tt.limit+` }`)
			r, _ := http.NewRequest("GET", "http://h/", nil)
			for i, q := range tt.reqs {
				clock.ms += q.after
				st := &vars.State{Request: vars.Request{Remote: mustAddrPort("10.0.0.1:5000"),
					RequestLine: "GET / HTTP/1.1", Conn: 7, Header: vars.HeaderMap{}}}
				before := len(logged.String())
				code, delay := s.limitReq(r, st, set)
				line := logged.String()[before:]
				if code != q.wantCode || delay != q.wantDelay || st.LimitReq != q.want {
					t.Errorf("request %d: code %d, delay %v, %v; want %d, %v, %v", i, code, delay, st.LimitReq, q.wantCode, q.wantDelay, q.want)
				}
				if q.wantLog == "" && line != "" || !strings.Contains(line, q.wantLog) {
					t.Errorf("request %d logged %q, want %q", i, line, q.wantLog)
				}
				// nginx checks a request once, even after an internal redirect.
				if code, delay := s.limitReq(r, st, set); code != 0 || delay != 0 {
					t.Errorf("request %d checked twice: %d %v", i, code, delay)
				}
			}
		})
	}
}

// TestAdoptReqZones checks what a reload keeps: a zone's table when its name
// and size are unchanged (whatever its rate), and nginx's refusal of a zone
// whose key changed.
func TestAdoptReqZones(t *testing.T) {
	clock := &fakeClock{}
	old, _, _ := reqSnapshot(t, clock, `limit_req_zone $remote_addr zone=a:1m rate=1r/s; limit_req_zone $remote_addr zone=b:1m rate=1r/s; server {}`)
	next, _, _ := reqSnapshot(t, clock, `limit_req_zone $remote_addr zone=a:1m rate=5r/s; limit_req_zone $remote_addr zone=b:2m rate=1r/s; server {}`)
	if err := next.adoptReqZones(old); err != nil {
		t.Fatal(err)
	}
	if next.reqZones["a"].table != old.reqZones["a"].table {
		t.Error("zone a (same size, new rate) lost its state")
	}
	if next.reqZones["b"].table == old.reqZones["b"].table {
		t.Error("zone b (new size) kept its state")
	}
	if next.reqZones["a"].rate != 5000 {
		t.Errorf("zone a's rate %d, want the new 5000", next.reqZones["a"].rate)
	}
	changed, _, _ := reqSnapshot(t, clock, `limit_req_zone $server_name zone=a:1m rate=1r/s; server {}`)
	err := changed.adoptReqZones(old)
	if want := `limit_req "a" uses the "$server_name" key while previously it used the "$remote_addr" key`; err == nil || err.Error() != want {
		t.Errorf("key changed: %v, want %q", err, want)
	}
}

// loadHTTP loads "events {} http { src }" from a temporary file.
func loadHTTP(t *testing.T, src string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	conf := "error_log " + filepath.Join(dir, "error.log") + ";\nhttp {\n" + src + "\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir, ErrorLog: filepath.Join(dir, "error.log")})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

package cache

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injected clock for zones.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestZone(t *testing.T, o Options) (*Zone, *clock) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.KeysSize == 0 {
		o.KeysSize = 1 << 20
	}
	if o.Inactive == 0 {
		o.Inactive = 10 * time.Minute
	}
	o.Now = c.now
	z, err := NewZone(o)
	if err != nil {
		t.Fatal(err)
	}
	return z, c
}

// store puts body under key with a head, fresh for ttl.
func store(t *testing.T, z *Zone, key, body string, ttl time.Duration) {
	t.Helper()
	fl, err := z.Begin(Sum(key), Meta{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fl, body); err != nil {
		t.Fatal(err)
	}
	now := z.now()
	head := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if err := fl.Commit([]byte(head), now.Add(ttl), now); err != nil {
		t.Fatal(err)
	}
}

func readBody(t *testing.T, z *Zone, key string) string {
	t.Helper()
	e, err := z.Open(Sum(key))
	if err != nil {
		t.Fatalf("open %q: %v", key, err)
	}
	defer e.Close()
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	if e.Key != key {
		t.Errorf("entry key = %q, want %q", e.Key, key)
	}
	return string(b)
}

func TestPathLevels(t *testing.T) {
	// nginx's documented example: with levels=1:2 a file is at
	// /data/nginx/cache/c/29/b7f54b2df7773722d382f4809d65029c: the last
	// character of the name, then the two before it.
	var k Key
	copy(k[:], mustHex("b7f54b2df7773722d382f4809d65029c"))
	tests := []struct {
		levels []int
		want   string
	}{
		{nil, "/d/b7f54b2df7773722d382f4809d65029c"},
		{[]int{1}, "/d/c/b7f54b2df7773722d382f4809d65029c"},
		{[]int{1, 2}, "/d/c/29/b7f54b2df7773722d382f4809d65029c"},
		{[]int{2, 2, 1}, "/d/9c/02/5/b7f54b2df7773722d382f4809d65029c"},
	}
	for _, tt := range tests {
		z := newZone(Options{Dir: "/d", Levels: tt.levels, KeysSize: 1 << 20})
		if got := z.path(k); got != tt.want {
			t.Errorf("levels %v: path = %s, want %s", tt.levels, got, tt.want)
		}
	}
}

func mustHex(s string) []byte {
	k, ok := parseKey(s)
	if !ok {
		panic(s)
	}
	return k[:]
}

func TestStoreOpenAndFreshness(t *testing.T) {
	z, c := newTestZone(t, Options{Levels: []int{1, 2}})
	if l := z.Get(Sum("a")); l.Exists || l.Uses != 1 {
		t.Fatalf("first lookup = %+v, want a miss used once", l)
	}
	store(t, z, "a", "hello", 10*time.Second)
	if got := readBody(t, z, "a"); got != "hello" {
		t.Errorf("body = %q", got)
	}
	if _, err := os.Stat(z.path(Sum("a"))); err != nil {
		t.Errorf("no file at the levels path: %v", err)
	}
	tests := []struct {
		after     time.Duration
		wantFresh bool
	}{
		{0, true},
		{10 * time.Second, true}, // through the second it expires in, as nginx
		{999 * time.Millisecond, true},
		{time.Second, false},
	}
	for _, tt := range tests {
		c.add(tt.after)
		l := z.Get(Sum("a"))
		if !l.Exists || l.Fresh != tt.wantFresh {
			t.Errorf("after +%v: %+v, want fresh=%v", tt.after, l, tt.wantFresh)
		}
	}
	refreshed := Stale{Updating: 5 * time.Second, Error: 30 * time.Second}
	if err := z.Refresh(Sum("a"), c.now().Add(time.Minute), refreshed); err != nil {
		t.Fatal(err)
	}
	if l := z.Get(Sum("a")); !l.Fresh {
		t.Errorf("after Refresh: %+v, want fresh", l)
	}
	e, err := z.Open(Sum("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Stale != refreshed || e.Expires.Unix() != c.now().Add(time.Minute).Unix() {
		t.Errorf("after Refresh the file says %v, expires %v; want %v, %v", e.Stale, e.Expires, refreshed, c.now().Add(time.Minute))
	}
}

// TestStaleKept: the stale times an entry begins with are in its file
// once committed, and read back with it.
func TestStaleKept(t *testing.T) {
	z, _ := newTestZone(t, Options{})
	want := Stale{Updating: 10 * time.Second, Error: 100 * time.Second}
	fl, err := z.Begin(Sum("s"), Meta{Key: "s", Stale: want})
	if err != nil {
		t.Fatal(err)
	}
	now := z.now()
	if err := fl.Commit([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), now.Add(time.Second), now); err != nil {
		t.Fatal(err)
	}
	e, err := z.Open(Sum("s"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Stale != want {
		t.Errorf("stale times %+v, want %+v", e.Stale, want)
	}
}

func TestReopenKeepsEntries(t *testing.T) {
	dir := t.TempDir()
	z, c := newTestZone(t, Options{Dir: dir, Levels: []int{1, 2}})
	store(t, z, "kept", "body one", time.Hour)
	// Temporary files a crash left behind are removed at load: one named
	// before the process ID was in the name, one of a process that ended.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "0123."+tmpSuffix)
	crashed := filepath.Join(dir, tempName(Sum("x"), gone.Process.Pid, 1))
	// One of a process that still runs (another binary on the directory
	// during an upgrade; here the test's own) is kept: it is being written.
	writing := filepath.Join(dir, tempName(Sum("y"), os.Getpid(), 1))
	for _, f := range []string{tmp, crashed, writing} {
		if err := os.WriteFile(f, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	z2, err := NewZone(Options{Dir: dir, Levels: []int{1, 2}, KeysSize: 1 << 20, Inactive: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	// Opening reads nothing: the loader does, in the background.
	if size, keys := z2.Size(); keys != 0 || size != 0 {
		t.Fatalf("before the loader: %d bytes, %d keys, want an empty index", size, keys)
	}
	if err := z2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := z2.Get(Sum("kept")); !l.Fresh {
		t.Fatalf("after reopen: %+v, want the stored entry fresh", l)
	}
	if got := readBody(t, z2, "kept"); got != "body one" {
		t.Errorf("body = %q", got)
	}
	for _, f := range []string{tmp, crashed} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("temporary file %s not removed: %v", filepath.Base(f), err)
		}
	}
	if _, err := os.Stat(writing); err != nil {
		t.Errorf("a running process's temporary file: %v, want it kept", err)
	}
	if size, keys := z2.Size(); keys != 1 || size == 0 {
		t.Errorf("size = %d bytes, %d keys", size, keys)
	}
}

func TestMaxSizeEvictsLeastRecentlyUsed(t *testing.T) {
	body := strings.Repeat("x", 100)
	dir := t.TempDir()
	bsize := fsBlockSize(dir)
	// Three one-block files reach max_size: the manager removes down to
	// under it, as nginx's does (max_size=10k, 4k blocks: two files stay
	// over, one under).
	z, _ := newTestZone(t, Options{Dir: dir, MaxSize: 3 * bsize})
	for _, k := range []string{"a", "b"} {
		z.Get(Sum(k))
		store(t, z, k, body, time.Hour)
	}
	z.Get(Sum("a")) // a is now more recently used than b
	z.Get(Sum("c"))
	store(t, z, "c", body, time.Hour)
	z.Manage()
	for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if l := z.Get(Sum(k)); l.Exists != want {
			t.Errorf("%s exists = %v, want %v", k, l.Exists, want)
		}
	}
	if size, _ := z.Size(); size != 2*bsize {
		t.Errorf("size = %d, want two blocks of %d", size, bsize)
	}
}

func TestInactiveRemovesUnusedEntries(t *testing.T) {
	z, c := newTestZone(t, Options{Inactive: time.Minute})
	z.Get(Sum("old"))
	store(t, z, "old", "o", time.Hour)
	c.add(40 * time.Second)
	z.Get(Sum("new"))
	store(t, z, "new", "n", time.Hour)
	path := z.path(Sum("old"))
	c.add(30 * time.Second) // old unused for 70s, new for 30s
	z.Manage()
	if _, keys := z.Size(); keys != 1 {
		t.Errorf("keys = %d, want 1", keys)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("inactive entry's file still there: %v", err)
	}
	if l := z.Get(Sum("new")); !l.Exists {
		t.Errorf("recent entry gone")
	}
}

func TestKeysZoneBoundsKeys(t *testing.T) {
	z, _ := newTestZone(t, Options{KeysSize: 3 * NodeSize})
	for _, k := range []string{"a", "b", "c", "d"} {
		z.Get(Sum(k))
	}
	if _, keys := z.Size(); keys != 3 {
		t.Errorf("keys = %d, want 3", keys)
	}
	if l := z.Get(Sum("a")); l.Uses != 1 {
		t.Errorf("a was not forgotten: %+v", l)
	}
}

func TestLock(t *testing.T) {
	z, c := newTestZone(t, Options{})
	k := Sum("k")
	ok, _ := z.Lock(k, 5*time.Second)
	if !ok {
		t.Fatal("first Lock refused")
	}
	ok, done := z.Lock(k, 5*time.Second)
	if ok || done == nil {
		t.Fatal("second Lock granted while the first holds it")
	}
	if l := z.Get(k); !l.Updating {
		t.Error("Get does not report the update")
	}
	z.Unlock(k)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Unlock did not wake the waiter")
	}
	ok, _ = z.Lock(k, 5*time.Second)
	if !ok {
		t.Fatal("Lock after Unlock refused")
	}
	c.add(5 * time.Second) // proxy_cache_lock_age: an old update is taken over
	if ok, _ := z.Lock(k, 5*time.Second); !ok {
		t.Error("Lock past the lock age refused")
	}
}

func TestRegistryKeepsZone(t *testing.T) {
	dir := t.TempDir()
	r := NewRegistry(nil)
	o := Options{Name: "z", Dir: dir, KeysSize: 1 << 20, Inactive: time.Minute}
	z1, err := r.Zone(o)
	if err != nil {
		t.Fatal(err)
	}
	o.MaxSize = 1 << 30
	z2, err := r.Zone(o)
	if err != nil {
		t.Fatal(err)
	}
	if z1 != z2 {
		t.Error("the same zone was not kept")
	}
	o.Levels = []int{2}
	if z3, err := r.Zone(o); err != nil || z3 == z1 {
		t.Errorf("a zone with other levels was kept (err %v)", err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	z, _ := newTestZone(t, Options{})
	fl, err := z.Begin(Sum("a"), Meta{Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fl.Write([]byte("partial"))
	fl.Abort()
	ents, _ := os.ReadDir(z.Dir())
	if len(ents) != 0 {
		t.Errorf("files left: %v", ents)
	}
	if _, err := z.Open(Sum("a")); err == nil {
		t.Error("an aborted entry opens")
	}
}

// BenchmarkGetHit is a lookup of a stored key: the request path's cost of
// the index (compare allocations, not timings).
func BenchmarkGetHit(b *testing.B) {
	z, err := NewZone(Options{Dir: b.TempDir(), KeysSize: 1 << 20, Inactive: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	k := Sum("hit")
	z.Get(k) // as a request does before it stores
	fl, err := z.Begin(k, Meta{Key: "hit"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := fl.Commit([]byte("HTTP/1.1 200 OK\r\n\r\n"), now.Add(time.Hour), now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if l := z.Get(k); !l.Exists {
			b.Fatal("miss")
		}
	}
}

// TestRegistryRetainForgetsDroppedZones: after Retain, the registry hands
// out the zones kept and makes a new zone for a name it forgot, so a
// reload that renames a zone does not keep the old one (and its index)
// for the process's life.
func TestRegistryRetainForgetsDroppedZones(t *testing.T) {
	r := NewRegistry(nil)
	oa := Options{Name: "a", Dir: t.TempDir(), KeysSize: 1 << 20, Inactive: time.Minute}
	ob := Options{Name: "b", Dir: t.TempDir(), KeysSize: 1 << 20, Inactive: time.Minute}
	za, err := r.Zone(oa)
	if err != nil {
		t.Fatal(err)
	}
	zb, err := r.Zone(ob)
	if err != nil {
		t.Fatal(err)
	}
	r.Retain(zb)
	if len(r.zones) != 1 {
		t.Errorf("%d zones kept, want 1", len(r.zones))
	}
	if z, err := r.Zone(ob); err != nil || z != zb {
		t.Errorf("the zone retained was not handed out again (err %v)", err)
	}
	if z, err := r.Zone(oa); err != nil || z == za {
		t.Errorf("the zone dropped was handed out again (err %v)", err)
	}
}

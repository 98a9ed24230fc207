package cache

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// exists reports whether the file of key is on disk.
func exists(t *testing.T, z *Zone, key string) bool {
	t.Helper()
	_, err := os.Stat(z.path(Sum(key)))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// use stores key (one small file) as a request does: a lookup, then a fill.
func use(t *testing.T, z *Zone, key string) {
	t.Helper()
	z.Get(Sum(key))
	store(t, z, key, "body of "+key, time.Hour)
}

// TestManagerInactive: a round removes the entries unused for inactive and
// says when the next one turns inactive, in whole seconds as nginx counts,
// at most 10 s; an entry a request is filling stays (nginx's "ignore long
// locked inactive cache entry").
func TestManagerInactive(t *testing.T) {
	var alerts []string
	z, c := newTestZone(t, Options{Inactive: 3 * time.Second, Alert: func(m string) { alerts = append(alerts, m) }})
	if next := z.Manage(); next != 10*time.Second {
		t.Errorf("empty zone: next round in %v, want 10s", next)
	}
	use(t, z, "old")
	c.add(1500 * time.Millisecond)
	use(t, z, "new") // at 1.5 s
	if ok, _ := z.Lock(Sum("filling"), time.Minute); !ok {
		t.Fatal("lock refused")
	}
	c.add(1500 * time.Millisecond) // 3 s: old is inactive, new has 1 s (whole seconds) left
	if next := z.Manage(); next != time.Second {
		t.Errorf("next round in %v, want 1s (new turns inactive then)", next)
	}
	if exists(t, z, "old") || !exists(t, z, "new") {
		t.Errorf("old on disk %v, new %v: want only new", exists(t, z, "old"), exists(t, z, "new"))
	}
	if _, keys := z.Size(); keys != 2 {
		t.Errorf("keys = %d, want new and the one being filled", keys)
	}
	c.add(time.Second)
	z.Manage()
	if exists(t, z, "new") {
		t.Error("new still on disk after inactive")
	}
	if _, keys := z.Size(); keys != 1 {
		t.Errorf("keys = %d, want only the one being filled", keys)
	}
	if want := "ignore long locked inactive cache entry " + Sum("filling").String() + ", count:1"; len(alerts) != 1 || alerts[0] != want {
		t.Errorf("alerts = %q, want [%q] (nginx's)", alerts, want)
	}
	z.Unlock(Sum("filling"))
	z2, _ := newTestZone(t, Options{Inactive: time.Hour})
	if next := z2.Manage(); next != 10*time.Second {
		t.Errorf("inactive=1h: next round in %v, want at most 10s", next)
	}
}

// TestManagerMaxSize: as nginx 1.22.1 did with max_size=10k on a file
// system of 4 KiB blocks, four one-block files are removed, least recently
// used first, until the size is under max_size: one stays. The size counts
// blocks, not bytes.
func TestManagerMaxSize(t *testing.T) {
	dir := t.TempDir()
	bsize := fsBlockSize(dir)
	z, _ := newTestZone(t, Options{Dir: dir, MaxSize: 2*bsize + bsize/2})
	for i := 1; i <= 4; i++ {
		use(t, z, "b"+strconv.Itoa(i))
	}
	if size, _ := z.Size(); size != 4*bsize {
		t.Fatalf("size = %d, want 4 blocks of %d (a store does not trim; the manager does)", size, bsize)
	}
	z.Manage()
	for i, want := range []bool{false, false, false, true} {
		if got := exists(t, z, "b"+strconv.Itoa(i+1)); got != want {
			t.Errorf("b%d on disk = %v, want %v", i+1, got, want)
		}
	}
	if size, _ := z.Size(); size != bsize {
		t.Errorf("size = %d, want one block", size)
	}
}

// TestManagerRoundLimits: a round removes at most manager_files entries
// and lasts at most manager_threshold, then asks for manager_sleep.
func TestManagerRoundLimits(t *testing.T) {
	tests := []struct {
		name string
		pace Pace
		keys []int // after each round
	}{
		{"manager_files=2", Pace{Files: 2, Sleep: 7 * time.Millisecond, Threshold: time.Hour}, []int{3, 1, 0}},
		{"manager_threshold=1ns", Pace{Files: 100, Sleep: 7 * time.Millisecond, Threshold: time.Nanosecond}, []int{4, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, c := newTestZone(t, Options{Inactive: time.Second, Manager: tt.pace})
			for i := range 5 {
				use(t, z, "k"+strconv.Itoa(i))
			}
			c.add(2 * time.Second)
			for _, want := range tt.keys {
				if next := z.Manage(); want > 0 && next != 7*time.Millisecond {
					t.Errorf("next round in %v, want manager_sleep", next)
				}
				if _, keys := z.Size(); keys != want {
					t.Errorf("after a round: %d keys, want %d", keys, want)
				}
			}
		})
	}
}

// TestManagerMinFree: while the file system has min_free or less free, the
// manager removes the least recently used entries, but not one being
// filled.
func TestManagerMinFree(t *testing.T) {
	if fsAvailable(os.TempDir()) < 0 {
		t.Skip("no free space figure on this system")
	}
	z, _ := newTestZone(t, Options{MinFree: 1 << 62})
	use(t, z, "a")
	use(t, z, "b")
	if ok, _ := z.Lock(Sum("b"), time.Minute); !ok {
		t.Fatal("lock refused")
	}
	z.Manage()
	if exists(t, z, "a") || !exists(t, z, "b") {
		t.Errorf("a on disk %v, b %v: want only b, which is being filled", exists(t, z, "a"), exists(t, z, "b"))
	}
	z2, _ := newTestZone(t, Options{MinFree: 1})
	use(t, z2, "a")
	z2.Manage()
	if !exists(t, z2, "a") {
		t.Error("min_free=1: entry removed")
	}
}

// TestRunRemovesIdleEntries: with no request at all, the manager removes an
// entry inactive for a second (nginx 1.22.1 removed inactive=2s entries
// while nothing asked for them), and Run ends with its context.
func TestRunRemovesIdleEntries(t *testing.T) {
	z, err := NewZone(Options{Dir: t.TempDir(), KeysSize: 1 << 20, Inactive: time.Second, LoaderDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	use(t, z, "idle")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { z.Run(ctx); close(done) }()
	deadline := time.Now().Add(4 * time.Second)
	for exists(t, z, "idle") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if exists(t, z, "idle") {
		t.Error("inactive entry still on disk after 4s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestLoader: a reopened zone finds its files before the loader has read
// them (a lookup reads the key's file, as nginx's does while its loader has
// not run); the loader reads the directory in rounds of loader_files,
// sleeping loader_sleep between them, after the loader delay.
func TestLoader(t *testing.T) {
	dir := t.TempDir()
	z, c := newTestZone(t, Options{Dir: dir, Levels: []int{1, 2}})
	for i := range 5 {
		use(t, z, "k"+strconv.Itoa(i))
	}
	notices := make(chan string, 1)
	o := Options{Dir: dir, Levels: []int{1, 2}, KeysSize: 1 << 20, Inactive: time.Hour, Now: c.now,
		Loader: Pace{Files: 2, Sleep: 40 * time.Millisecond, Threshold: time.Hour}, LoaderDelay: 30 * time.Millisecond,
		Notice: func(m string) { notices <- m }}
	z2, err := NewZone(o)
	if err != nil {
		t.Fatal(err)
	}
	if l := z2.Get(Sum("k3")); !l.Exists || !l.Fresh || l.Uses != 1 {
		t.Errorf("cold lookup of a stored key: %+v, want it found, fresh, used once", l)
	}
	if got := readBody(t, z2, "k3"); got != "body of k3" {
		t.Errorf("cold read: %q", got)
	}
	if l := z2.Get(Sum("none")); l.Exists {
		t.Errorf("cold lookup of an unknown key: %+v", l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	go func() { z2.Run(ctx); close(done) }()
	deadline := start.Add(3 * time.Second)
	for z2.isCold() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if _, keys := z2.Size(); keys != 6 { // five files and "none"
		t.Fatalf("keys = %d after the loader, want 6", keys)
	}
	// 30ms of delay, then rounds of 2, 2 and 1 files: two 40ms sleeps.
	if elapsed < 110*time.Millisecond {
		t.Errorf("loaded in %v, want the delay and two loader_sleep pauses (110ms)", elapsed)
	}
	if z2.isCold() {
		t.Error("zone still cold after the loader")
	}
	// nginx 1.22.1: "http file cache: /path 0.000M, bsize: 4096".
	size, _ := z2.Size()
	want := fmt.Sprintf("http file cache: %s %.3fM, bsize: %d", dir, float64(size)/(1<<20), fsBlockSize(dir))
	select {
	case got := <-notices:
		if got != want {
			t.Errorf("notice %q, want %q", got, want)
		}
	case <-time.After(time.Second):
		t.Error("no notice from the loader")
	}
	cancel()
	<-done
}

// TestLoaderStopsWithContext: a loader stopped midway leaves the zone cold,
// so that lookups still read the files.
func TestLoaderStopsWithContext(t *testing.T) {
	dir := t.TempDir()
	z, _ := newTestZone(t, Options{Dir: dir})
	for i := range 3 {
		use(t, z, "k"+strconv.Itoa(i))
	}
	z2, err := NewZone(Options{Dir: dir, KeysSize: 1 << 20, Inactive: time.Hour, Loader: Pace{Files: 1, Sleep: time.Hour, Threshold: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := z2.Load(ctx); err == nil {
		t.Fatal("Load finished; want it stopped by its context after the first round")
	}
	if _, keys := z2.Size(); keys != 1 {
		t.Errorf("keys = %d after one round of one file", keys)
	}
	if l := z2.Get(Sum("k2")); !l.Exists {
		t.Errorf("lookup after a stopped loader: %+v, want the file found", l)
	}
}

// isCold reports whether the loader has not read the whole directory yet.
func (z *Zone) isCold() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.cold
}

package cache

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestPurgeExact: a purge of a key removes its file and its index entry at
// once and reports it; a key without an entry reports none; other keys stay.
func TestPurgeExact(t *testing.T) {
	z, _ := newTestZone(t, Options{Levels: []int{1, 2}})
	use(t, z, "http/a")
	use(t, z, "http/b")
	sizeBefore, _ := z.Size()
	if !z.Purge("http/a") {
		t.Fatal("Purge of a stored key = false")
	}
	if exists(t, z, "http/a") {
		t.Error("the purged entry's file is still on disk")
	}
	if l := z.Get(Sum("http/a")); l.Exists {
		t.Errorf("lookup after the purge: %+v, want no entry", l)
	}
	if _, err := z.Open(Sum("http/a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after the purge: %v, want ErrNotFound", err)
	}
	if size, _ := z.Size(); size >= sizeBefore {
		t.Errorf("size %d after the purge, want less than %d", size, sizeBefore)
	}
	if z.Purge("http/a") || z.Purge("http/none") {
		t.Error("Purge of a key without an entry = true")
	}
	if got := readBody(t, z, "http/b"); got != "body of http/b" {
		t.Errorf("other entry: %q", got)
	}
	if z.purging.Load() {
		t.Error("an exact purge without Vary left a purge record")
	}
}

// TestPurgeExactCold: before the loader ran, a purge finds the key's file
// on disk, as a lookup does.
func TestPurgeExactCold(t *testing.T) {
	dir := t.TempDir()
	z, c := newTestZone(t, Options{Dir: dir})
	use(t, z, "http/a")
	z2, err := NewZone(Options{Dir: dir, KeysSize: 1 << 20, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if !z2.Purge("http/a") {
		t.Fatal("Purge in a cold zone of a key stored on disk = false")
	}
	if exists(t, z2, "http/a") {
		t.Error("file still on disk")
	}
}

// TestPurgePrefix: a wildcard purge leaves the files on disk, but a request
// that reaches one finds no entry and removes the file; keys without the
// prefix stay, and entries stored after the purge are served.
func TestPurgePrefix(t *testing.T) {
	z, c := newTestZone(t, Options{Levels: []int{1}})
	for _, k := range []string{"http/a/1", "http/a/2", "http/ab", "http/b/1"} {
		use(t, z, k)
	}
	z.PurgePrefix("http/a/")
	if !exists(t, z, "http/a/1") || !exists(t, z, "http/a/2") {
		t.Fatal("a wildcard purge removed files at once; NGINX Plus leaves them to the purger")
	}
	for _, k := range []string{"http/a/1", "http/a/2"} {
		if l := z.Get(Sum(k)); !l.Exists {
			t.Fatalf("%s: the index no longer knows the file: %+v", k, l)
		}
		if _, err := z.Open(Sum(k)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open %s after the wildcard purge: %v, want ErrNotFound", k, err)
		}
		if exists(t, z, k) {
			t.Errorf("%s: file still on disk after a request reached it", k)
		}
		if l := z.Get(Sum(k)); l.Exists {
			t.Errorf("%s: lookup after the request: %+v, want no entry", k, l)
		}
	}
	for _, k := range []string{"http/ab", "http/b/1"} {
		if got := readBody(t, z, k); got != "body of "+k {
			t.Errorf("%s, outside the wildcard: %q", k, got)
		}
	}
	c.add(time.Millisecond)
	store(t, z, "http/a/1", "new", time.Hour)
	if got := readBody(t, z, "http/a/1"); got != "new" {
		t.Errorf("entry stored after the purge: %q", got)
	}
}

// TestPurgeDropsOlderFill: a response that came before a wildcard purge and
// is stored after it is not kept: the purger may have passed its place.
func TestPurgeDropsOlderFill(t *testing.T) {
	z, c := newTestZone(t, Options{})
	fl, err := z.Begin(Sum("http/a/1"), Meta{Key: "http/a/1"})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fl, "old")
	came := z.now()
	c.add(time.Millisecond)
	z.PurgePrefix("http/a/")
	if err := fl.Commit([]byte("HTTP/1.1 200 OK\r\n\r\n"), came.Add(time.Hour), came); err != nil {
		t.Fatal(err)
	}
	if l := z.Get(Sum("http/a/1")); l.Exists || exists(t, z, "http/a/1") {
		t.Errorf("a response from before the purge was stored: %+v", l)
	}
}

// TestPurgeVariants: an exact purge of a key whose response has Vary also
// purges the variants stored under their own keys.
func TestPurgeVariants(t *testing.T) {
	z, _ := newTestZone(t, Options{})
	variant := Sum("http/a\nAccept-Encoding:gzip,")
	for _, k := range []Key{Sum("http/a"), variant} {
		fl, err := z.Begin(k, Meta{Key: "http/a", Vary: "Accept-Encoding", Variant: k})
		if err != nil {
			t.Fatal(err)
		}
		now := z.now()
		if err := fl.Commit([]byte("HTTP/1.1 200 OK\r\n\r\n"), now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
	}
	if !z.Purge("http/a") {
		t.Fatal("Purge = false")
	}
	if _, err := z.Open(variant); !errors.Is(err, ErrNotFound) {
		t.Errorf("variant after the purge of its key: %v, want ErrNotFound", err)
	}
}

// TestPurger: with purger on, the manager's purger rounds remove the files
// of a wildcard purge from disk, purger_files at a time, and forget the
// purge when it walked every file; files outside it stay.
func TestPurger(t *testing.T) {
	z, _ := newTestZone(t, Options{Levels: []int{1, 2}, Purger: true, Purge: Pace{Files: 2, Sleep: 7 * time.Millisecond, Threshold: time.Hour}})
	for i := range 5 {
		use(t, z, "http/a/"+strconv.Itoa(i))
	}
	use(t, z, "http/b")
	if d := z.PurgeRound(); d != managerMaxWait {
		t.Errorf("idle purger round: next in %v, want %v", d, managerMaxWait)
	}
	z.PurgePrefix("http/a/")
	rounds := 0
	for z.purging.Load() {
		d := z.PurgeRound()
		rounds++
		if rounds == 1 {
			gone := 0
			for i := range 5 {
				if !exists(t, z, "http/a/"+strconv.Itoa(i)) {
					gone++
				}
			}
			if gone > 2 || d != 7*time.Millisecond {
				t.Errorf("first round removed %d files and asks for %v; want at most purger_files (2) and purger_sleep (7ms)", gone, d)
			}
		}
		if rounds > 10 {
			t.Fatal("the purger never finished its walk")
		}
	}
	for i := range 5 {
		k := "http/a/" + strconv.Itoa(i)
		if exists(t, z, k) {
			t.Errorf("%s still on disk after the purger's walk", k)
		}
		if l := z.Get(Sum(k)); l.Exists {
			t.Errorf("%s still indexed: %+v", k, l)
		}
	}
	if got := readBody(t, z, "http/b"); got != "body of http/b" {
		t.Errorf("entry outside the wildcard: %q", got)
	}
	if rounds < 3 {
		t.Errorf("%d rounds for 6 files at 2 a round, want at least 3", rounds)
	}
}

// TestPurgerRun: Run's manager goroutine starts the purger as soon as a
// wildcard purge comes, not at its next 10-second wake-up.
func TestPurgerRun(t *testing.T) {
	z, _ := newTestZone(t, Options{Purger: true, LoaderDelay: time.Hour})
	use(t, z, "http/a/1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { z.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(20 * time.Millisecond) // let Run go idle
	z.PurgePrefix("http/a/")
	deadline := time.Now().Add(3 * time.Second)
	for exists(t, z, "http/a/1") {
		if time.Now().After(deadline) {
			t.Fatal("the purger did not remove the file within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPurgerOff: without the purger, the files stay on disk (a request or
// the manager removes them) and the purge is forgotten once inactive (and
// the manager's 10 seconds) passed, when no entry it covers can be left.
func TestPurgerOff(t *testing.T) {
	z, c := newTestZone(t, Options{Inactive: time.Minute})
	use(t, z, "http/a/1")
	z.PurgePrefix("http/a/")
	z.PurgeRound()
	if !exists(t, z, "http/a/1") || !z.purging.Load() {
		t.Fatal("purger=off: the round removed the file or forgot the purge")
	}
	c.add(time.Minute + managerMaxWait + time.Second)
	z.PurgeRound()
	if z.purging.Load() {
		t.Error("the purge is still kept after inactive")
	}
}

// TestLoaderRemovesPurged: the loader removes the files a purge covers.
func TestLoaderRemovesPurged(t *testing.T) {
	dir := t.TempDir()
	z, c := newTestZone(t, Options{Dir: dir})
	use(t, z, "http/a/1")
	use(t, z, "http/b")
	z2, err := NewZone(Options{Dir: dir, KeysSize: 1 << 20, Now: c.now, Inactive: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	z2.PurgePrefix("http/a/")
	if err := z2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exists(t, z2, "http/a/1") || !exists(t, z2, "http/b") {
		t.Error("the loader kept a purged file or removed another")
	}
}

// TestPurgeConcurrent: purges race with lookups, reads and stores of the
// same keys (run with -race); a read gets a whole entry or none.
func TestPurgeConcurrent(t *testing.T) {
	z, c := newTestZone(t, Options{Levels: []int{1}, Purger: true, Purge: Pace{Files: 3, Threshold: time.Hour}})
	keys := []string{"http/a/1", "http/a/2", "http/b"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[(w+i)%len(keys)]
				z.Get(Sum(k))
				if e, err := z.Open(Sum(k)); err == nil {
					b, _ := io.ReadAll(e.Body)
					e.Close()
					if string(b) != "body of "+k {
						t.Errorf("read %q for %s", b, k)
						return
					}
				}
				if i%3 == 0 {
					c.add(time.Microsecond)
					store(t, z, k, "body of "+k, time.Hour)
				}
			}
		}()
	}
	for i := range 200 {
		switch i % 3 {
		case 0:
			z.Purge(keys[i%len(keys)])
		case 1:
			z.PurgePrefix("http/a/")
		default:
			z.PurgeRound()
		}
	}
	close(stop)
	wg.Wait()
}

package mmdb

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// fakeClock is a settable clock for auto_reload.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(c.t.Load(), 0) }
func (c *fakeClock) add(d time.Duration) { c.t.Add(int64(d / time.Second)) }

func country(iso string) []testutil.MMDBNetwork {
	return []testutil.MMDBNetwork{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Value: testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: iso}}}}}}
}

// TestAutoReload checks auto_reload as the module's log handler does it: a
// check at most once per period; a file newer than the last change is read
// and swapped in; last_check and last_change follow; a broken file keeps the
// database in force.
func TestAutoReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.mmdb")
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{BuildEpoch: 1}, country("DE"))
	start := time.Now().Unix()
	clock := &fakeClock{}
	clock.t.Store(start)
	var reloads, failures atomic.Int32
	f, err := OpenFile(path, FileOptions{AutoReload: time.Minute, Now: clock.now, OnReload: func(err error) {
		if err != nil {
			failures.Add(1)
		} else {
			reloads.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("10.1.1.1")
	cc := func() string {
		v, _ := f.Append(nil, a, []string{"country", "iso_code"})
		return string(v)
	}
	meta := func(field string) string {
		v, _ := f.AppendMetadata(nil, field)
		return string(v)
	}
	if cc() != "DE" || meta("build_epoch") != "1" || meta("last_check") != meta("last_change") {
		t.Fatalf("start: %s %s %s %s", cc(), meta("build_epoch"), meta("last_check"), meta("last_change"))
	}
	// A new file, with an mtime after the open.
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{BuildEpoch: 2}, country("FR"))
	mtime := time.Unix(start+30, 0)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	clock.add(59 * time.Second)
	if cc() != "DE" {
		t.Error("reloaded before the period")
	}
	clock.add(time.Second)
	if cc() != "FR" || meta("build_epoch") != "2" || reloads.Load() != 1 {
		t.Errorf("after the period: %s, build %s, %d reloads", cc(), meta("build_epoch"), reloads.Load())
	}
	if want := time.Unix(start+60, 0).Unix(); meta("last_check") != itoa(want) || meta("last_change") != itoa(start+30) {
		t.Errorf("last_check %s last_change %s", meta("last_check"), meta("last_change"))
	}
	// Unchanged: checked, not read.
	clock.add(time.Minute)
	cc()
	if reloads.Load() != 1 {
		t.Errorf("%d reloads of an unchanged file", reloads.Load())
	}
	// Broken: the database in force stays.
	if err := os.WriteFile(path, []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime = time.Unix(start+200, 0)
	os.Chtimes(path, mtime, mtime)
	clock.add(time.Minute)
	if cc() != "FR" || failures.Load() != 1 {
		t.Errorf("broken file: %s, %d failures", cc(), failures.Load())
	}
	if _, ok := f.AppendMetadata(nil, "other"); ok {
		t.Error("an unknown metadata field was found")
	}
}

// TestAutoReloadOff: without auto_reload the file is never read again.
func TestAutoReloadOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mmdb")
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{}, country("DE"))
	clock := &fakeClock{}
	f, err := OpenFile(path, FileOptions{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{}, country("FR"))
	os.Chtimes(path, time.Unix(1e9, 0), time.Unix(1e9, 0))
	clock.add(24 * time.Hour)
	if v, _ := f.Append(nil, netip.MustParseAddr("10.0.0.1"), []string{"country", "iso_code"}); string(v) != "DE" {
		t.Errorf("got %s", v)
	}
}

// TestAutoReloadRace: lookups during reloads see one database or the other.
func TestAutoReloadRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mmdb")
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{}, country("DE"))
	clock := &fakeClock{}
	clock.t.Store(1e9)
	f, err := OpenFile(path, FileOptions{AutoReload: time.Second, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				v, _ := f.Append(nil, netip.MustParseAddr("10.0.0.1"), []string{"country", "iso_code"})
				if s := string(v); s != "DE" && s != "FR" {
					t.Errorf("got %q", s)
					return
				}
			}
		})
	}
	for i := range 20 {
		testutil.WriteMMDB(t, path+".new", testutil.MMDBOptions{}, country([]string{"DE", "FR"}[i%2]))
		mt := time.Unix(1e9+int64(i)+1, 0)
		os.Chtimes(path+".new", mt, mt)
		os.Rename(path+".new", path)
		clock.add(time.Second)
	}
	wg.Wait()
}

func itoa(v int64) string { return string(appendInt(nil, v)) }

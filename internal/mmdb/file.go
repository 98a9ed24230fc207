package mmdb

import (
	"net/netip"
	"os"
	"sync/atomic"
	"time"
)

// File is the database of a geoip2 block: the DB read from its path,
// replaced with one atomic store when auto_reload finds the file changed.
// Lookups take no lock.
type File struct {
	path     string
	interval int64 // auto_reload in seconds; 0: never
	now      func() time.Time
	onReload func(err error)

	db atomic.Pointer[DB]
	// lastCheck and lastChange are the module's last_check and last_change
	// (Unix seconds): both start at the time the file is opened; a check
	// sets lastCheck, a reload sets lastChange to the file's mtime.
	lastCheck  atomic.Int64
	lastChange atomic.Int64
}

// FileOptions are a File's auto_reload settings.
type FileOptions struct {
	// AutoReload is the least time between two checks of the file's
	// modification time; zero never checks.
	AutoReload time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnReload is told of each reload: err nil when the new file was read,
	// else why it was not (the old database stays). May be nil.
	OnReload func(err error)
}

// OpenFile reads the database at path.
func OpenFile(path string, opts FileOptions) (*File, error) {
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	f := &File{path: path, interval: int64(opts.AutoReload / time.Second), now: opts.Now, onReload: opts.OnReload}
	if f.now == nil {
		f.now = time.Now
	}
	if opts.AutoReload > 0 && f.interval == 0 {
		f.interval = 1
	}
	f.db.Store(db)
	t := f.now().Unix()
	f.lastCheck.Store(t)
	f.lastChange.Store(t)
	return f, nil
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// DB is the database in force.
func (f *File) DB() *DB { return f.db.Load() }

// Check is auto_reload's step, as the module's log handler: at most once
// per period, it compares the file's modification time with the last
// change and, when the file is newer, reads it and swaps it in. A file that
// is gone or does not read keeps the database in force. Concurrent callers
// do one check between them.
func (f *File) Check() {
	if f.interval == 0 {
		return
	}
	now := f.now().Unix()
	last := f.lastCheck.Load()
	if last+f.interval > now || !f.lastCheck.CompareAndSwap(last, now) {
		return
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		f.report(err)
		return
	}
	mtime := fi.ModTime().Unix()
	if mtime <= f.lastChange.Load() {
		return
	}
	db, err := Open(f.path)
	if err != nil {
		f.report(err)
		return
	}
	f.lastChange.Store(mtime)
	f.db.Store(db)
	f.report(nil)
}

func (f *File) report(err error) {
	if f.onReload != nil {
		f.onReload(err)
	}
}

// Append checks the file (Check), looks a up and appends the value at
// path, as DB.Append; false when a is in no network or the path finds no
// scalar.
func (f *File) Append(dst []byte, a netip.Addr, path []string) ([]byte, bool) {
	f.Check()
	db := f.db.Load()
	e, ok := db.Lookup(a)
	if !ok {
		return dst, false
	}
	return db.Append(dst, e, path)
}

// AppendMetadata appends the metadata field build_epoch, last_check or
// last_change (Unix seconds); false for another name.
func (f *File) AppendMetadata(dst []byte, field string) ([]byte, bool) {
	var v int64
	switch field {
	case "build_epoch":
		return appendUint(dst, f.db.Load().BuildEpoch()), true
	case "last_check":
		v = f.lastCheck.Load()
	case "last_change":
		v = f.lastChange.Load()
	default:
		return dst, false
	}
	return appendInt(dst, v), true
}

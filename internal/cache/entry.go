package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// An entry's file is a fixed preamble, the key and the Vary field as text
// lines, the body, then the response head:
//
//	magic "FULCRUM\x02"            8 bytes
//	expires (Unix seconds)         8
//	stored (Unix nanoseconds)      8
//	body offset, body length       8 + 8
//	head offset, head length       8 + 8
//	variant                        16
//	stale updating, error (s)      8 + 8
//	"KEY: " key "\n" "VARY: " vary "\n"
//	body
//	head (status line and fields, ending with an empty line)
//
// The head comes last because its Content-Length is known only when the
// body has been read; the preamble is written last, so a file is never read
// as complete before it is.
const (
	magic        = "FULCRUM\x02"
	offExpires   = 8
	offStale     = 8 + 8*6 + 16
	preambleSize = offStale + 16
)

// Meta is what a stored entry says about itself besides its head and body.
type Meta struct {
	// Key is the key string (kept in the file, as nginx's "KEY:" line).
	Key string
	// Expires is when the entry stops being fresh.
	Expires time.Time
	// Stored is when the response was stored (its head came), to the
	// nanosecond: a purge covers the entries stored before it.
	Stored time.Time
	// Vary is the response's Vary field; Variant the request variant the
	// entry answers (zero without Vary).
	Vary    string
	Variant Key
	// Stale is how long past Expires the entry may still answer.
	Stale Stale
}

// Stale is how long past its expiry an entry may still answer, in whole
// seconds, as nginx keeps updating_sec and error_sec in an entry's header:
// Updating while a request updates it (a response's
// stale-while-revalidate), Error when the upstream fails (its
// stale-while-revalidate or stale-if-error). Zero means not at all.
type Stale struct{ Updating, Error time.Duration }

// Entry is a stored response open for reading.
type Entry struct {
	Meta
	// Head is the response head: the status line and fields, ending with
	// an empty line.
	Head []byte
	// Body reads the body; BodyLen is its length.
	Body    *io.SectionReader
	BodyLen int64
	f       *os.File
}

// Close closes the entry's file.
func (e *Entry) Close() error { return e.f.Close() }

// errDry is a fill asked of a configuration test's zone.
var errDry = errors.New("cache zone not opened")

// errCorrupt is a file that is not a complete entry.
var errCorrupt = errors.New("not a complete cache entry")

// openEntry opens and checks the entry file at path.
func openEntry(path string) (*Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	e, err := readEntry(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// readEntry reads the preamble, key, Vary field and head of the entry in f.
func readEntry(f *os.File) (*Entry, error) {
	var pre [preambleSize]byte
	if _, err := f.ReadAt(pre[:], 0); err != nil {
		return nil, errCorrupt
	}
	if string(pre[:8]) != magic {
		return nil, errCorrupt
	}
	u := func(i int) int64 { return int64(binary.LittleEndian.Uint64(pre[8+8*i:])) }
	e := &Entry{f: f}
	e.Expires, e.Stored = time.Unix(u(0), 0), time.Unix(0, u(1))
	bodyOff, bodyLen, headOff, headLen := u(2), u(3), u(4), u(5)
	copy(e.Variant[:], pre[8+8*6:])
	e.Stale = Stale{Updating: time.Duration(u(8)) * time.Second, Error: time.Duration(u(9)) * time.Second}
	if bodyOff < preambleSize || bodyLen < 0 || headOff != bodyOff+bodyLen || headLen <= 0 || headLen > 1<<20 {
		return nil, errCorrupt
	}
	lines := make([]byte, bodyOff-preambleSize)
	if _, err := f.ReadAt(lines, preambleSize); err != nil {
		return nil, errCorrupt
	}
	key, rest, _ := bytes.Cut(lines, []byte("\n"))
	vary, _, _ := bytes.Cut(rest, []byte("\n"))
	e.Key = strings.TrimPrefix(string(key), "KEY: ")
	e.Vary = strings.TrimPrefix(string(vary), "VARY: ")
	e.Head = make([]byte, headLen)
	if _, err := f.ReadAt(e.Head, headOff); err != nil {
		return nil, errCorrupt
	}
	e.Body, e.BodyLen = io.NewSectionReader(f, bodyOff, bodyLen), bodyLen
	return e, nil
}

// writeExpires rewrites the expiry and the stale times in the preamble of
// the file at path.
func writeExpires(path string, t time.Time, st Stale) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(t.Unix()))
	_, err = f.WriteAt(b[:], offExpires)
	if err == nil {
		var sb [16]byte
		putStale(sb[:], st)
		_, err = f.WriteAt(sb[:], offStale)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// putStale puts st's two times, in seconds, in the first 16 bytes of b.
func putStale(b []byte, st Stale) {
	binary.LittleEndian.PutUint64(b, uint64(st.Updating/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(st.Error/time.Second))
}

// Fill writes one response into a zone: Begin, Write the body, then Commit
// (or Abort). It is used by one goroutine.
type Fill struct {
	z       *Zone
	k       Key
	meta    Meta
	f       *os.File
	bodyOff int64
	n       int64
	err     error
}

// Begin starts storing a response for k in a temporary file of the zone's
// directory; m's Key, Vary and Variant are written now, its Stale times
// and expiry at Commit.
func (z *Zone) Begin(k Key, m Meta) (*Fill, error) {
	if z.dry {
		return nil, errDry
	}
	name := filepath.Join(z.opts.Dir, tempName(k, os.Getpid(), z.seq.Add(1)))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	lines := "KEY: " + m.Key + "\nVARY: " + m.Vary + "\n"
	if _, err := f.WriteAt([]byte(lines), preambleSize); err != nil {
		f.Close()
		os.Remove(name)
		return nil, err
	}
	fl := &Fill{z: z, k: k, meta: m, f: f, bodyOff: int64(preambleSize + len(lines))}
	return fl, nil
}

// tmpSuffix ends the names of files being written.
const tmpSuffix = ".tmp"

// tempName is the name of a file being written for k: the key, the writing
// process's ID and a sequence number of that process's zone, so that the
// loader of another process on the same directory (the new binary of a
// USR2 upgrade, while the old one still serves) can tell its files from
// the unfinished ones of a process that is gone.
func tempName(k Key, pid int, seq uint64) string {
	return k.String() + "." + strconv.Itoa(pid) + "." + strconv.FormatUint(seq, 10) + tmpSuffix
}

// tempOwnerRuns reports whether the process that named the temporary file
// name (tempName) is still running: its file may still be written and
// renamed into place. Names without a process ID (a crash's, from before
// the ID was in the name) have none.
func tempOwnerRuns(name string) bool {
	_, rest, ok := strings.Cut(strings.TrimSuffix(name, tmpSuffix), ".")
	if !ok {
		return false
	}
	id, _, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(id)
	if err != nil || pid <= 0 {
		return false
	}
	return processRuns(pid)
}

// Write appends body bytes. An error ends the fill (Commit then fails); the
// caller's response goes on.
func (fl *Fill) Write(p []byte) (int, error) {
	if fl.err != nil {
		return len(p), nil
	}
	n, err := fl.f.WriteAt(p, fl.bodyOff+fl.n)
	fl.n += int64(n)
	if err != nil {
		fl.err = err
	}
	return len(p), nil
}

// Len is how many body bytes were written.
func (fl *Fill) Len() int64 { return fl.n }

// Commit ends the fill: head (the response head, ending with an empty line)
// goes after the body, the preamble at the start, and the file to its place,
// replacing an older entry of the key.
func (fl *Fill) Commit(head []byte, expires, stored time.Time) error {
	if fl.err != nil {
		fl.Abort()
		return fl.err
	}
	headOff := fl.bodyOff + fl.n
	if _, err := fl.f.WriteAt(head, headOff); err != nil {
		fl.Abort()
		return err
	}
	var pre [preambleSize]byte
	copy(pre[:], magic)
	put := func(i int, v int64) { binary.LittleEndian.PutUint64(pre[8+8*i:], uint64(v)) }
	put(0, expires.Unix())
	put(1, stored.UnixNano()) // to the nanosecond: a purge is later or not
	put(2, fl.bodyOff)
	put(3, fl.n)
	put(4, headOff)
	put(5, int64(len(head)))
	copy(pre[8+8*6:], fl.meta.Variant[:])
	putStale(pre[offStale:], fl.meta.Stale)
	if _, err := fl.f.WriteAt(pre[:], 0); err != nil {
		fl.Abort()
		return err
	}
	tmp := fl.f.Name()
	if err := fl.f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	dst := fl.z.path(fl.k)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	fl.meta.Expires, fl.meta.Stored = expires, stored
	fl.z.commit(fl.k, &fl.meta, headOff+int64(len(head)))
	return nil
}

// Abort drops the fill's temporary file.
func (fl *Fill) Abort() {
	if fl.f == nil {
		return
	}
	name := fl.f.Name()
	fl.f.Close()
	os.Remove(name)
	fl.f = nil
}

// parseKey reads a file name that is a hex MD5.
func parseKey(name string) (Key, bool) {
	var k Key
	if len(name) != 2*len(k) {
		return k, false
	}
	for i := range k {
		v, err := strconv.ParseUint(name[2*i:2*i+2], 16, 8)
		if err != nil {
			return k, false
		}
		k[i] = byte(v)
	}
	return k, true
}

// Package mp4 is nginx's mp4 module (ngx_http_mp4_module) without the HTTP
// part: given an MP4 file and a time range in milliseconds (the "start" and
// "end" query arguments), it rewrites the file's moov atom so that the file
// plays from start (from the nearest earlier key frame with
// Options.StartKeyFrame) to end, and describes the new file as a Body: the
// ftyp atom, the new moov atom, a new mdat header and a section of the
// original mdat data, read from the file as it is sent.
//
// The parsing follows ngx_http_mp4_module.c (nginx 1.22) step by step, down
// to its buffer: the file is read in windows of Options.BufferSize bytes, the
// moov atom must fit in one (or in Options.MaxBufferSize), and the atoms
// nginx keeps (mvhd, and in each trak tkhd, mdia, mdhd, hdlr, minf, vmhd,
// smhd, dinf, stbl, stsd, stts, stss, ctts, stsc, stsz, stco, co64) are
// rewritten with the same arithmetic, so the bytes sent are nginx's. Other
// atoms (udta, edts, sdtp, free, ...) are dropped, as nginx drops them.
// The checks are those of nginx 1.22.1 as Debian 12 ships it (with the
// CVE-2024-7347 fixes): a range with no data in it is refused ("no data
// between start time and end time"), so are stsc chunks out of order and a
// start at the chunk past the last.
//
// A corrupt file never panics and never makes the parser hold more than the
// moov atom's size (bounded by the options) plus the output: where nginx
// would read outside a table (possible only with tables that contradict
// each other), Rewrite returns an Error instead.
package mp4

import (
	"errors"
	"fmt"
	"io"
)

// Default sizes, nginx's mp4_buffer_size and mp4_max_buffer_size defaults.
const (
	DefaultBufferSize    = 512 * 1024
	DefaultMaxBufferSize = 10 * 1024 * 1024
)

// Options are a location's mp4 settings.
type Options struct {
	// BufferSize is mp4_buffer_size: how much of the file is read at a
	// time while looking for the atoms. A moov atom larger than both it
	// and MaxBufferSize is refused. 0 means DefaultBufferSize.
	BufferSize int64
	// MaxBufferSize is mp4_max_buffer_size: the largest moov atom read when
	// it is larger than BufferSize. 0 means DefaultMaxBufferSize.
	MaxBufferSize int64
	// StartKeyFrame is mp4_start_key_frame: start from the key frame at or
	// before start, with an edit list (elst) that hides the frames before
	// start, instead of from the sample at start.
	StartKeyFrame bool
}

// Range is what a request asks for, in milliseconds, as nginx keeps it:
// the file from Start, for Length (0: to its end).
type Range struct {
	Start  uint64
	Length uint64
}

// ParseTime reads a "start" or "end" argument the way nginx's
// ngx_http_mp4_atofp does: decimal seconds with at most one dot and any
// number of digits after it (a Flash player sends many), as milliseconds
// (digits past the third decimal are checked and dropped). It returns -1
// for anything else: an empty value, a sign, another character, or a value
// that overflows an int64 in milliseconds.
func ParseTime(v string) int64 {
	const cutoff, cutlim = (1<<63 - 1) / 10, (1<<63 - 1) % 10
	if v == "" {
		return -1
	}
	var value int64
	point, dot := 3, 0
	for i := range len(v) {
		c := v[i]
		if c == '.' {
			if dot != 0 {
				return -1
			}
			dot = 1
			continue
		}
		if c < '0' || c > '9' {
			return -1
		}
		if point == 0 {
			continue
		}
		d := int64(c - '0')
		if value >= cutoff && (value > cutoff || d > cutlim) {
			return -1
		}
		value = value*10 + d
		point -= dot
	}
	for ; point > 0; point-- {
		if value > cutoff {
			return -1
		}
		value *= 10
	}
	return value
}

// RangeOf is the nginx mp4 handler's reading of the two arguments, each
// already passed through ParseTime (-1 when absent or invalid): an end
// above 0 makes a missing start 0 and, when it is past start, gives the
// length. ok is false when the file goes out as it is (no valid start and
// no end above 0).
func RangeOf(start, end int64) (rng Range, ok bool) {
	if end > 0 {
		start = max(start, 0)
		if end > start {
			rng.Length = uint64(end - start)
		}
	}
	if start < 0 {
		return Range{}, false
	}
	rng.Start = uint64(start)
	return rng, true
}

// ErrDeclined is Rewrite's answer when the file is to be sent unchanged, as
// nginx does for a file whose moov atom comes before its mdat atom when the
// range is the whole file (start 0, no end).
var ErrDeclined = errors.New("mp4: the file is sent as it is")

// Error is a file Rewrite cannot cut: Msg is the line nginx writes in its
// error log (it names the file), at level error, or crit for a failed read
// (Read). nginx answers 500.
type Error struct {
	Msg  string
	Read bool
}

// Error returns the log line.
func (e *Error) Error() string { return e.Msg }

// Body is a rewritten file: Head (the ftyp atom, the new moov atom and the
// new mdat header), then the original file's bytes [From, To).
type Body struct {
	Head     []byte
	From, To int64
	file     io.ReaderAt
}

// Size is the body's length, the response's Content-Length.
func (b *Body) Size() int64 { return int64(len(b.Head)) + b.To - b.From }

// ReadAt reads the body from off, as io.ReaderAt.
func (b *Body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mp4: negative offset")
	}
	n := 0
	if off < int64(len(b.Head)) {
		n = copy(p, b.Head[off:])
		if n == len(p) {
			return n, nil
		}
		off = int64(len(b.Head))
	}
	pos := b.From + off - int64(len(b.Head))
	if pos >= b.To {
		return n, io.EOF
	}
	want := p[n:]
	if rest := b.To - pos; int64(len(want)) > rest {
		want = want[:rest]
	}
	m, err := b.file.ReadAt(want, pos)
	n += m
	if err == io.EOF && m == len(want) {
		err = nil
	}
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// Rewrite cuts the MP4 file f of size bytes to rng, as nginx's mp4 module
// does. name is the file's path for the error messages. It returns
// ErrDeclined when nginx sends the file as it is, an *Error for a file
// nginx refuses (answering 500), or the error of a failed read.
func Rewrite(f io.ReaderAt, size int64, name string, rng Range, opt Options) (*Body, error) {
	if opt.BufferSize <= 0 {
		opt.BufferSize = DefaultBufferSize
	}
	if opt.MaxBufferSize <= 0 {
		opt.MaxBufferSize = DefaultMaxBufferSize
	}
	p := &parser{f: f, end: size, name: name, rng: rng, opt: opt, bufSize: opt.BufferSize}
	if err := p.readAtoms(levelFile, uint64(size)); err != nil {
		return nil, err
	}
	return p.process()
}

// errorf is an Error whose message is format with the file's name, in
// nginx's quotes, for its first %s, then args.
func (p *parser) errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, append([]any{p.quoted()}, args...)...)}
}

// quoted is the file name in nginx's quotes (as written, not escaped).
func (p *parser) quoted() string { return `"` + p.name + `"` }

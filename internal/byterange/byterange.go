// Package byterange is nginx's range filter (ngx_http_range_filter_module.c)
// as data: the Range and If-Range fields read against a response's length
// and validators, and the 206 that cuts it (one range, or a
// multipart/byteranges body). The static module, the slice module, and the
// proxy's and the FastCGI client's caches answer ranges with it; each
// decides itself whether its response allows ranges (nginx's
// r->allow_ranges) and writes the bytes.
package byterange

import (
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"fulcrum/internal/httptime"
)

// Verdict is the outcome of a Range field.
type Verdict int

// The verdicts of Parse.
const (
	Ignored       Verdict = iota // send the whole response (200)
	Satisfiable                  // 206
	Unsatisfiable                // 416
)

// ByteRange is the bytes [Start, End) of a response's body.
type ByteRange struct{ Start, End int64 }

// Cut is what nginx's range filter sends of a 200 of Size bytes: one range
// (a 206 with its Content-Range) or several, as a multipart/byteranges
// body.
type Cut struct {
	Ranges []ByteRange
	Size   int64
	// partHead and tail frame a multipart body (several ranges only).
	partHead, tail string
}

// Tagged is nginx's range filter for a 200 of size bytes that carries
// the entity tag etag and the Last-Modified date lastModified ("" for
// none), reading the Range and If-Range fields of h: an If-Range that does
// not match (an entity tag, a value ending in a quote, compared exactly;
// else a date compared to the second) sends the whole response, as does a
// Range in another unit than "bytes" or one nginx declines (more ranges
// than limit, above 0; ranges adding up to more than the body). It returns
// the status to answer with: 200, 206 with the cut, or 416 for a Range that
// is malformed or names no byte.
func Tagged(h http.Header, etag, lastModified string, size int64, limit int) (*Cut, int) {
	v, ok := first(h, "Range")
	if !ok || len(v) < 7 || !strings.EqualFold(v[:6], "bytes=") {
		return nil, http.StatusOK
	}
	if ir, ok := first(h, "If-Range"); ok && !taggedIfRange(ir, etag, lastModified) {
		return nil, http.StatusOK
	}
	ranges, verdict := Parse(v[6:], size, limit)
	switch verdict {
	case Satisfiable:
		return &Cut{Ranges: ranges, Size: size}, http.StatusPartialContent
	case Unsatisfiable:
		return nil, http.StatusRequestedRangeNotSatisfiable
	}
	return nil, http.StatusOK
}

// SetUnsatisfiable sets the Content-Range field of nginx's 416 for a body
// of size bytes: "bytes */SIZE".
func SetUnsatisfiable(h http.Header, size int64) {
	h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
}

// contentRange is "bytes START-LAST/SIZE".
func (c *Cut) contentRange(br ByteRange) string {
	return "bytes " + strconv.FormatInt(br.Start, 10) + "-" + strconv.FormatInt(br.End-1, 10) + "/" +
		strconv.FormatInt(c.Size, 10)
}

// SetHeader sets the fields of the 206 in h: Content-Range and
// Content-Length for one range; for several, the multipart/byteranges
// Content-Type and the body's Content-Length. ctype is the response's
// Content-Type, which each part repeats ("" for none: the parts have no
// Content-Type line, as in nginx). The boundary is 20 random digits where
// nginx counts, so that a body cannot be prepared to contain it.
func (c *Cut) SetHeader(h http.Header, ctype string) {
	if len(c.Ranges) == 1 {
		br := c.Ranges[0]
		h.Set("Content-Range", c.contentRange(br))
		h.Set("Content-Length", strconv.FormatInt(br.End-br.Start, 10))
		return
	}
	boundary := strconv.FormatUint(rand.Uint64(), 10)
	boundary = strings.Repeat("0", 20-len(boundary)) + boundary
	c.partHead = "\r\n--" + boundary + "\r\n"
	if ctype != "" {
		c.partHead += "Content-Type: " + ctype + "\r\n"
	}
	c.tail = "\r\n--" + boundary + "--\r\n"
	n := int64(len(c.tail))
	for _, br := range c.Ranges {
		n += int64(len(c.partHead)+len(c.contentRange(br))+len("Content-Range: \r\n\r\n")) + br.End - br.Start
	}
	h.Set("Content-Type", "multipart/byteranges; boundary="+boundary)
	h.Set("Content-Length", strconv.FormatInt(n, 10))
}

// WriteParts writes the 206's body from src, which reads the whole
// response's bytes: the range, or each part's head and bytes in the order
// the client asked for them, then the multipart tail. SetHeader must have
// run first.
func (c *Cut) WriteParts(w io.Writer, src io.ReaderAt) error {
	if len(c.Ranges) == 1 {
		return c.copyRange(w, src, c.Ranges[0])
	}
	for _, br := range c.Ranges {
		if _, err := io.WriteString(w, c.partHead+"Content-Range: "+c.contentRange(br)+"\r\n\r\n"); err != nil {
			return err
		}
		if err := c.copyRange(w, src, br); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, c.tail)
	return err
}

// copyRange copies one range of src to w.
func (c *Cut) copyRange(w io.Writer, src io.ReaderAt, br ByteRange) error {
	n := br.End - br.Start
	// CopyN's limit sizes io.Copy's buffer to a small range.
	_, err := io.CopyN(w, io.NewSectionReader(src, br.Start, n), n)
	return err
}

// Parse parses the ranges after "bytes=" (ngx_http_range_parse): a
// malformed value is 416; ranges that start past the end are skipped, and if
// none is left the answer is 416; ranges adding up to more than the file (an
// overlap, a repeat) or any range of an empty file make it send the whole
// file instead. A limit above 0 sends the whole file as soon as a range
// beyond limit is read (max_ranges; nginx's single_range for upstream
// responses); only ranges that name bytes of the file count.
func Parse(v string, size int64, limit int) ([]ByteRange, Verdict) {
	sc := rangeScanner{s: v}
	var ranges []ByteRange
	var total int64
	for {
		start, end, ok := sc.spec(size)
		if !ok {
			return nil, Unsatisfiable
		}
		switch {
		case start < end:
			if total > math.MaxInt64-(end-start) {
				return nil, Unsatisfiable
			}
			total += end - start
			ranges = append(ranges, ByteRange{start, end})
			if limit > 0 && len(ranges) > limit {
				return nil, Ignored
			}
		case start == 0:
			return nil, Ignored
		}
		if sc.next() != ',' {
			break
		}
	}
	switch {
	case len(ranges) == 0:
		return nil, Unsatisfiable
	case total > size:
		return nil, Ignored
	}
	return ranges, Satisfiable
}

// rangeScanner reads a byte-range-set as nginx does; 0 stands for its end
// (nginx reads up to the header's terminating NUL).
type rangeScanner struct {
	s string
	i int
}

func (sc *rangeScanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// next returns the byte at the position and moves past it.
func (sc *rangeScanner) next() byte {
	c := sc.peek()
	sc.i++
	return c
}

func (sc *rangeScanner) spaces() {
	for sc.peek() == ' ' {
		sc.i++
	}
}

// spec reads one range-spec ("a-b", "a-", "-n", with spaces around the
// numbers) and returns it as [start, end) with end clipped to size; ok is
// false for a malformed one.
func (sc *rangeScanner) spec(size int64) (start, end int64, ok bool) {
	sc.spaces()
	if sc.peek() == '-' { // a suffix: the last n bytes
		sc.i++
		n, ok := sc.lastNumber()
		if !ok {
			return 0, 0, false
		}
		return max(size-n, 0), size, true
	}
	if start, ok = sc.number(); !ok {
		return 0, 0, false
	}
	sc.spaces()
	if sc.next() != '-' {
		return 0, 0, false
	}
	sc.spaces()
	if c := sc.peek(); c == ',' || c == 0 {
		return start, size, true
	}
	if end, ok = sc.lastNumber(); !ok {
		return 0, 0, false
	}
	if end >= size {
		return start, size, true
	}
	return start, end + 1, true
}

// number reads at least one digit; ok is false without one or on overflow.
func (sc *rangeScanner) number() (n int64, ok bool) {
	if c := sc.peek(); c < '0' || c > '9' {
		return 0, false
	}
	for c := sc.peek(); c >= '0' && c <= '9'; c = sc.peek() {
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
		sc.i++
	}
	return n, true
}

// lastNumber reads the number that ends a range-spec and the spaces after it,
// which must be followed by a comma or the end.
func (sc *rangeScanner) lastNumber() (int64, bool) {
	n, ok := sc.number()
	if !ok {
		return 0, false
	}
	sc.spaces()
	if c := sc.peek(); c != ',' && c != 0 {
		return 0, false
	}
	return n, true
}

// taggedIfRange reports whether an If-Range value v lets the ranges apply
// to a response with the ETag etag and the Last-Modified lastModified (""
// for none; then only the other can match): an entity tag (a value ending
// in a quote) compared exactly, else a date compared to the second.
func taggedIfRange(v, etag, lastModified string) bool {
	if len(v) >= 2 && v[len(v)-1] == '"' {
		return etag != "" && v == etag
	}
	mod := httptime.Unix(lastModified)
	return mod != -1 && httptime.Unix(v) == mod
}

// first returns a field's first value and whether the field is there (an
// empty value counts, as in nginx). Keys are canonical.
func first(h http.Header, key string) (string, bool) {
	if v := h[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// Window passes on the bytes [From, To) of a body whose bytes are written
// in order, the first written being byte Pos.
type Window struct {
	Pos, From, To int64
}

// Cut returns the part of p, the bytes [w.Pos, w.Pos+len(p)), that lies
// in the window, and moves Pos past p.
func (w *Window) Cut(p []byte) []byte {
	pos := w.Pos
	w.Pos += int64(len(p))
	lo := max(w.From-pos, 0)
	hi := min(w.To-pos, int64(len(p)))
	if lo >= hi {
		return nil
	}
	return p[lo:hi]
}

// Writer passes on to W the bytes of its window of the body written to it
// in order, as nginx's range filter cuts a single range out of the buffers
// it is passed. Write reports all of p written.
type Writer struct {
	W   io.Writer
	Win Window
}

func (ww *Writer) Write(p []byte) (int, error) {
	if q := ww.Win.Cut(p); len(q) > 0 {
		if _, err := ww.W.Write(q); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Stream is the Writer that sends the cut's range of a body written to it
// whole, in order, to w: the cut must have one range.
func (c *Cut) Stream(w io.Writer) *Writer {
	r := c.Ranges[0]
	return &Writer{W: w, Win: Window{From: r.Start, To: r.End}}
}

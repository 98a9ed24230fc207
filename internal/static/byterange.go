package static

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// ByteRange is the bytes [Start, End) of a response's body.
type ByteRange struct{ Start, End int64 }

// Cut is what nginx's range filter sends of a 200 of Size bytes: one range
// (a 206 with its Content-Range) or several, as a multipart/byteranges
// body. The static module, the proxy's and the FastCGI client's cache
// answers and the memcached module cut their 200s with it.
type Cut struct {
	Ranges []ByteRange
	Size   int64
	// partHead and tail frame a multipart body (several ranges only).
	partHead, tail string
}

// TaggedRanges is nginx's range filter for a 200 of size bytes that carries
// the entity tag etag and the Last-Modified date lastModified ("" for
// none), reading the Range and If-Range fields of h: an If-Range that does
// not match (an entity tag, a value ending in a quote, compared exactly;
// else a date compared to the second) sends the whole response, as does a
// Range in another unit than "bytes" or one nginx declines (more ranges
// than limit, above 0; ranges adding up to more than the body). It returns
// the status to answer with: 200, 206 with the cut, or 416 for a Range that
// is malformed or names no byte.
func TaggedRanges(h http.Header, etag, lastModified string, size int64, limit int) (*Cut, int) {
	v, ok := first(h, "Range")
	if !ok || len(v) < 7 || !strings.EqualFold(v[:6], "bytes=") {
		return nil, http.StatusOK
	}
	if ir, ok := first(h, "If-Range"); ok && !taggedIfRange(ir, etag, lastModified) {
		return nil, http.StatusOK
	}
	ranges, verdict := rangeSet(v[6:], size, limit)
	switch verdict {
	case rangeSatisfiable:
		c := &Cut{Ranges: make([]ByteRange, len(ranges)), Size: size}
		for i, br := range ranges {
			c.Ranges[i] = ByteRange{br.start, br.end}
		}
		return c, http.StatusPartialContent
	case rangeUnsatisfiable:
		return nil, http.StatusRequestedRangeNotSatisfiable
	}
	return nil, http.StatusOK
}

// Unsatisfiable sets the Content-Range field of nginx's 416 for a body of
// size bytes: "bytes */SIZE".
func Unsatisfiable(h http.Header, size int64) {
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

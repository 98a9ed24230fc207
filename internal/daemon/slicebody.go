package daemon

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
)

// sliceBodyMemory is the most of a request body a sliced request keeps in
// memory for its slice subrequests; the rest goes to a temporary file, as
// nginx writes a body past client_body_buffer_size to one.
const sliceBodyMemory = 1 << 20

// sliceBody is the body of a main request to a location with "slice": the
// bytes its handler reads are kept, so that every slice subrequest sends
// the same body again. nginx's slice subrequests (NGX_HTTP_SUBREQUEST_CLONE)
// keep the main request's method and share its request body, so a POST or
// a PUT is sent, body and Content-Length, once per slice (nginx 1.22.1:
// "POST /f bytes=1000-1999" with the client's 5 bytes, then 2000-2999...).
type sliceBody struct {
	rc io.ReadCloser // the client's body
	// mem holds the first sliceBodyMemory bytes read, file the others
	// (unlinked once created); n counts them all.
	mem  []byte
	file *os.File
	n    int64
	// done reports that rc was read to its end; err is the error that
	// ended the reading otherwise (the copy is then not the whole body).
	done bool
	err  error
}

// hasRequestBody reports whether r comes with a body to read.
func hasRequestBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// Read reads from the client's body and keeps what it read.
func (b *sliceBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		if kerr := b.keep(p[:n]); kerr != nil && err == nil {
			err = kerr
		}
	}
	switch {
	case err == io.EOF:
		b.done = true
	case err != nil && b.err == nil:
		b.err = err
	}
	return n, err
}

// Close closes the client's body.
func (b *sliceBody) Close() error { return b.rc.Close() }

// keep appends p to the copy, in memory up to sliceBodyMemory bytes.
func (b *sliceBody) keep(p []byte) error {
	if room := sliceBodyMemory - len(b.mem); b.file == nil && room > 0 {
		k := min(room, len(p))
		b.mem = append(b.mem, p[:k]...)
		b.n += int64(k)
		p = p[k:]
	}
	if len(p) == 0 {
		return nil
	}
	if b.file == nil {
		f, err := os.CreateTemp("", "fulcrum-slice-body-*")
		if err != nil {
			return fmt.Errorf("slice request body: %w", err)
		}
		os.Remove(f.Name()) // the open file stays readable
		b.file = f
	}
	if _, err := b.file.Write(p); err != nil {
		return fmt.Errorf("slice request body: %w", err)
	}
	b.n += int64(len(p))
	return nil
}

// finish reads what the handler left of the client's body, so that the
// copy is the whole body; false when it cannot be (the client went away,
// timed out, or sent too much).
func (b *sliceBody) finish() bool {
	if !b.done && b.err == nil {
		io.Copy(io.Discard, b)
	}
	return b.done && b.err == nil
}

// reader returns the whole body for one slice subrequest.
func (b *sliceBody) reader() io.ReadCloser {
	if b.file == nil {
		return io.NopCloser(bytes.NewReader(b.mem))
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(b.mem),
		io.NewSectionReader(b.file, 0, b.n-int64(len(b.mem)))))
}

// release closes the temporary file, if any.
func (b *sliceBody) release() {
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
}

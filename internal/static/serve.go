package static

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/httptime"
	"fulcrum/internal/mp4"
)

// ServeFile sends the file of a KindFile Result for a GET or HEAD request with
// the head nginx's static module and its filters give it:
//   - 200: Content-Type as resolved (never sniffed), Content-Length,
//     Last-Modified, an ETag in nginx's format ("<mtime hex>-<size hex>";
//     none with etag off) and Accept-Ranges: bytes (none with max_ranges 0);
//   - 304 (If-Modified-Since under the location's if_modified_since, If-None-Match):
//     Last-Modified and ETag, no body, no Content-Type or Content-Length;
//   - 206 (Range, If-Range; at most max_ranges ranges, else 200): Content-Type, Content-Length, Last-Modified, ETag
//     and Content-Range, or nginx's multipart/byteranges body; no Accept-Ranges.
//
// res.Status is the status to send the file with: 200 (0 means 200), or the
// status of an error page the caller serves from this file (error_page). Then,
// as in nginx, conditionals and ranges do not apply and the head has
// Content-Type, Content-Length and ETag but no Last-Modified or Accept-Ranges.
//
// The file is opened again through an os.Root on res.Base, so a symbolic link
// swapped in since Resolve cannot lead outside the document root; its size and
// date are read from the opened file.
//
// A non-nil error means no status was written: ErrorStatus(err) is the status to
// answer with an error page, as nginx does (error_page applies): 404 when the
// file vanished, 403 when it is refused, 405 for a method other than GET and
// HEAD, 412 for ErrPreconditionFailed, 416 for ErrRangeNotSatisfiable. Only
// the last leaves a field in the header: Content-Range "bytes */<size>", which
// nginx's 416 carries.
func ServeFile(w http.ResponseWriter, r *http.Request, res Result) error {
	if res.Kind != KindFile {
		return fmt.Errorf("static: serve a %v result: %w", res.Kind, ErrNotFile)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fmt.Errorf("static: serve %s %q: %w", r.Method, res.URI, ErrMethodNotAllowed)
	}
	f, err := res.open()
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("static: fstat() %q failed: %w", res.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("static: %q is not a regular file: %w", res.Path, syscall.ENOENT)
	}
	o := output{w: w, r: r, src: f, size: fi.Size(), mod: fi.ModTime(), ctype: res.ContentType, encoding: res.Encoding, filters: res.filters}
	if start := res.FLVStart; start > 0 && start < o.size {
		// The flv module's answer: its FLV header, then the file from
		// start; the ETag, the ranges and the length are the new body's.
		o.src = flvBody{f: f, start: start}
		o.size = int64(len(flvHeader)) + o.size - start
	}
	if res.MP4 != nil {
		if err := o.cutMP4(f, res); err != nil {
			return err
		}
	}
	if !o.filters.noETag {
		o.tag = etag(o.mod, o.size)
	}
	if res.Status != 0 && res.Status != http.StatusOK {
		o.headers(false)
		if o.encoding != "" {
			// gzip_static's file as an error page keeps its
			// Content-Encoding (recorded with nginx 1.22.1: "error_page
			// 500 /t1;" to a location with gzip_static always and only
			// t1.gz answers 500 with the .gz and "Content-Encoding: gzip",
			// which gunzip undoes for a client without gzip;
			// nginx-tests' gunzip_static.t)
			o.w.Header().Set("Content-Encoding", o.encoding)
		}
		o.whole(res.Status)
		return nil
	}
	return o.serve200(res.URI)
}

// cutMP4 is the mp4 module's answer: the file cut to res.MP4's range, as
// one body for the length, the ETag, ranges (one at most, as nginx's
// r->single_range: a request for several gets the whole body) and
// conditionals. A file whose moov atom comes first, asked for whole, goes
// out as it is. A file the module refuses is an *mp4.Error (500).
func (o *output) cutMP4(f *os.File, res Result) error {
	o.singleRange = true
	body, err := mp4.Rewrite(f, o.size, res.Path, res.MP4.Range, res.MP4.Options)
	switch {
	case errors.Is(err, mp4.ErrDeclined):
		return nil
	case err != nil:
		return fmt.Errorf("static: %w", err)
	}
	o.src, o.size = body, body.Size()
	return nil
}

// output is one file going out.
type output struct {
	w    http.ResponseWriter
	r    *http.Request
	src  io.ReaderAt // the body: the file, flvBody or an mp4.Body
	size int64
	// singleRange allows one byte range at most (the mp4 module's).
	singleRange bool
	mod         time.Time
	tag         string // the ETag; "" with etag off
	ctype       string
	// encoding is the precompressed file's Content-Encoding (Result.Encoding).
	encoding string
	filters  fileFilters
}

// serve200 sends the file as nginx answers a 200 from the static module: its
// not-modified filter first (412, 304), then its range filter (416, 206), else
// the whole file.
func (o *output) serve200(uri string) error {
	switch notModified(o.r.Header, o.mod, o.tag, o.filters.ims) {
	case precondFailed:
		return fmt.Errorf("static: %q: %w", uri, ErrPreconditionFailed)
	case precondNotModified:
		o.headers(true)
		delete(o.w.Header(), "Content-Type")
		o.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	ranges, verdict := []byteRange(nil), rangeIgnored
	if _, asked := o.r.Header["Range"]; asked && o.encoding == "" && !o.filters.noRanges && o.rangesAllowed() {
		limit := o.filters.rangeLimit
		if o.singleRange {
			limit = 1 // fewer than max_ranges, or max_ranges unset (0)
		}
		tag, mod := o.rangeValidators()
		ranges, verdict = parseRanges(o.r.Header, tag, mod, o.size, limit)
	}
	switch verdict {
	case rangeUnsatisfiable:
		o.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
		return fmt.Errorf("static: %q: %w", uri, ErrRangeNotSatisfiable)
	case rangeSatisfiable:
		o.headers(true)
		o.sendRanges(ranges)
		return nil
	}
	o.headers(true)
	if o.encoding != "" {
		o.w.Header().Set("Content-Encoding", o.encoding)
	} else if !o.filters.noRanges { // max_ranges 0: nginx's range filter adds nothing
		// Added, not set: an upstream's Accept-Ranges kept across an
		// X-Accel-Redirect stays beside it, as in nginx.
		o.w.Header().Add("Accept-Ranges", "bytes")
	}
	o.whole(http.StatusOK)
	return nil
}

// RangeFilter is a ResponseWriter that changes the body it is given and so may
// refuse byte ranges, as nginx's gzip filter clears allow_ranges before its
// range filter runs: a Range request then gets the whole file (200), a 416
// included.
type RangeFilter interface {
	// AllowRanges reports whether a 200 with Content-Type contentType and
	// Content-Length size may go out in ranges instead.
	AllowRanges(contentType string, size int64) bool
}

// ValidatorFilter is a ResponseWriter whose headers filter may replace the
// ETag and Last-Modified a response goes out with (add_header ETag,
// add_header Last-Modified), as nginx's does before its range filter
// compares If-Range with them.
type ValidatorFilter interface {
	// RangeValidators returns the entity tag and the Last-Modified value
	// ("" for none) a 200 with the given ones goes out with.
	RangeValidators(etag, lastModified string) (string, string)
}

// rangeValidators returns the entity tag and the Unix time (-1 for none)
// that If-Range is compared with: the file's, or those the writer's
// headers filter gives the response (ValidatorFilter).
func (o *output) rangeValidators() (string, int64) {
	vf, ok := o.w.(ValidatorFilter)
	if !ok || len(o.r.Header["If-Range"]) == 0 {
		return o.tag, o.mod.Unix()
	}
	tag, lm := vf.RangeValidators(o.tag, o.mod.UTC().Format(http.TimeFormat))
	return tag, httptime.Unix(lm)
}

// rangesAllowed asks the writer, when it is a RangeFilter, whether this file
// may be sent in ranges.
func (o *output) rangesAllowed() bool {
	rf, ok := o.w.(RangeFilter)
	if !ok {
		return true
	}
	ct := o.ctype
	if v := o.w.Header()["Content-Type"]; len(v) > 0 { // an upstream's, kept (headers)
		ct = v[0]
	}
	return rf.AllowRanges(ct, o.size)
}

// headers sets Content-Type (unless the response has one already: an
// upstream's, kept across an X-Accel-Redirect, as ngx_http_set_content_type
// keeps it), ETag and, for a 200, 206 or 304, Last-Modified (nginx's header
// filter drops it for other statuses).
func (o *output) headers(lastModified bool) {
	h := o.w.Header()
	if _, set := h["Content-Type"]; !set {
		h.Set("Content-Type", o.ctype)
	}
	if o.tag != "" {
		h.Set("Etag", o.tag)
	}
	if lastModified {
		h.Set("Last-Modified", o.mod.UTC().Format(http.TimeFormat))
	}
}

// whole sends the whole file with status.
func (o *output) whole(status int) {
	o.w.Header().Set("Content-Length", strconv.FormatInt(o.size, 10))
	o.w.WriteHeader(status)
	o.body(0, o.size)
}

// BodyForHead is implemented by a response writer that may want a HEAD
// answer's body all the same: nginx's image filter reads it to size the
// answer (its Content-Length is the transformed image's), and the writer
// sends no body for HEAD anyway.
type BodyForHead interface {
	BodyForHead() bool
}

// body copies n bytes of the file from off, except for HEAD (unless the
// writer wants it, BodyForHead). A failed copy
// (the client went away, the file shrank) cannot change the head any more; the
// engine closes the connection after a body shorter than its Content-Length.
func (o *output) body(off, n int64) {
	if bh, ok := o.w.(BodyForHead); o.r.Method != http.MethodHead || ok && bh.BodyForHead() {
		// CopyN's limit sizes io.Copy's buffer to a small file.
		_, _ = io.CopyN(o.w, io.NewSectionReader(o.src, off, n), n)
	}
}

// ErrNotRegular is a gzip_static companion (Precompressed) that exists but
// is not a regular file: a directory, say. It is not served and not logged.
var ErrNotRegular = errors.New("static: not a regular file")

// Precompressed looks for the gzip_static companion of a KindFile result:
// the file at res.Path with ".gz" appended, in the same document root. It
// returns the Result that serves it (with res's URI and ContentType: the
// type of the file asked for, as nginx sets it from the URI's extension,
// and Encoding "gzip") when it is a regular file. found is false when there
// is no such file (ENOENT, ENOTDIR, ENAMETOOLONG: nginx declines silently)
// or it is not a regular file (err is then ErrNotRegular: it exists, which
// nginx's gzip_vary marks); err explains any other failure, which nginx
// logs before serving the file asked for.
func Precompressed(res Result) (gz Result, found bool, err error) {
	gz = res
	gz.Path, gz.Encoding = res.Path+".gz", "gzip"
	if gz.opened != "" {
		gz.opened += ".gz"
	}
	f, err := gz.open()
	if err != nil {
		// ELOOP and EMLINK: a link disable_symlinks refused, which nginx's
		// gzip_static passes over to the static module.
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, ErrOutsideRoot) ||
			errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
			return gz, false, nil
		}
		return gz, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return gz, false, fmt.Errorf("static: fstat() %q failed: %w", gz.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return gz, false, ErrNotRegular
	}
	gz.Size, gz.ModTime = fi.Size(), fi.ModTime()
	return gz, true, nil
}

// open opens the file of a KindFile Result: under its disable_symlinks when
// that checks the path, else through an os.Root on its document root (which
// still keeps a link swapped in since Resolve from leading out).
//
// A failed open is a *CallError naming the path as looked up, which nginx
// names in its error line (`open() "/srv/x" failed (13: Permission
// denied)`): a file that stat found but the process may not read fails
// here, not in Resolve.
func (res Result) open() (*os.File, error) {
	name := res.opened
	if name == "" {
		name = res.Path
	}
	if res.links.policy != config.SymlinksOff && res.opened != "" && res.links.checks(res.opened) {
		f, err := res.links.open(res.opened)
		if err != nil {
			return nil, &CallError{Call: openCall(err), Path: name, Err: err}
		}
		return f, nil
	}
	f, err := openBeneath(res.Base, res.Path)
	var errno syscall.Errno
	if err != nil && !errors.Is(err, ErrOutsideRoot) && errors.As(err, &errno) {
		return nil, &CallError{Call: "open", Path: name, Err: err}
	}
	return f, err
}

// openBeneath opens path, which lies inside base, without leaving base even if
// a component changed into a symbolic link since it was resolved.
func openBeneath(base, path string) (*os.File, error) {
	rel, err := filepath.Rel(base, path)
	if err == nil && rel == "." {
		// The document root is the file itself (an alias naming a file).
		base, rel = filepath.Dir(path), filepath.Base(path)
	}
	if err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("static: open() %q: %w: not inside %q", path, ErrOutsideRoot, base)
	}
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, fmt.Errorf("static: open() %q failed: %w", base, err)
	}
	defer root.Close()
	// O_NONBLOCK: a FIFO swapped in since Resolve must not block the open; it
	// changes nothing for a regular file.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			// Not the kernel's error: os.Root refused a link leading out.
			return nil, fmt.Errorf("static: open() %q failed: %w: %w", path, ErrOutsideRoot, err)
		}
		return nil, fmt.Errorf("static: open() %q failed: %w", path, err)
	}
	return f, nil
}

// etag is nginx's ETag: the modification time in seconds and the size, in hex.
func etag(mod time.Time, size int64) string {
	return `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(size, 16) + `"`
}

package static

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServeFile sends the file of a KindFile Result for a GET or HEAD request:
// Content-Type as resolved (never sniffed), an ETag in nginx's format
// ("<mtime hex>-<size hex>"), Last-Modified, Accept-Ranges, If-None-Match,
// If-Modified-Since with nginx's default exact-date rule, If-Range and byte
// ranges (206, multipart ranges, 416), through net/http.ServeContent.
//
// The file is opened again through an os.Root on res.Base, so a symbolic link
// swapped in since Resolve cannot lead outside the document root; its size and
// date are read from the opened file.
//
// A non-nil error means nothing was written: ErrorStatus(err) is the status to
// answer (404 when the file vanished, 403 when it is refused, 405 for a method
// other than GET and HEAD).
func ServeFile(w http.ResponseWriter, r *http.Request, res Result) error {
	if res.Kind != KindFile {
		return fmt.Errorf("static: serve a %v result: %w", res.Kind, ErrNotFile)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fmt.Errorf("static: serve %s %q: %w", r.Method, res.URI, ErrMethodNotAllowed)
	}
	f, err := openBeneath(res.Base, res.Path)
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
	h := w.Header()
	h.Set("Content-Type", res.ContentType)
	h.Set("Etag", etag(fi.ModTime(), fi.Size()))
	http.ServeContent(w, nginxConditions(r, fi.ModTime()), "", fi.ModTime(), f)
	return nil
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

// nginxConditions returns r, or a shallow copy with some headers changed, so
// that ServeContent answers the way nginx does:
//   - If-Modified-Since follows nginx's default "if_modified_since exact": only
//     the file's own date answers 304. ServeContent also answers 304 to a later
//     date, and ignores If-Modified-Since when If-None-Match is present, where
//     nginx wants both to agree. So when the date is not the file's (or does not
//     parse), both headers are dropped and the file is sent.
//   - A Range in a unit other than bytes is ignored (RFC 9110, section 14.2, and
//     nginx), where ServeContent answers 416; the unit is case-insensitive.
func nginxConditions(r *http.Request, mod time.Time) *http.Request {
	dropIMS := !exactDate(r.Header, mod)
	rng, hasRange := r.Header["Range"]
	fixRange := hasRange && (len(rng) == 0 || !strings.HasPrefix(rng[0], "bytes="))
	if !dropIMS && !fixRange {
		return r
	}
	r2 := r.WithContext(r.Context())
	r2.Header = r.Header.Clone()
	if dropIMS {
		r2.Header.Del("If-Modified-Since")
		r2.Header.Del("If-None-Match")
	}
	if fixRange {
		r2.Header.Del("Range")
		if len(rng) > 0 && len(rng[0]) >= 6 && strings.EqualFold(rng[0][:6], "bytes=") {
			r2.Header.Set("Range", "bytes="+rng[0][6:])
		}
	}
	return r2
}

// exactDate reports whether If-Modified-Since is absent or names exactly mod.
func exactDate(h http.Header, mod time.Time) bool {
	v, ok := h["If-Modified-Since"]
	if !ok {
		return true
	}
	if len(v) == 0 {
		return false
	}
	t, err := http.ParseTime(v[0])
	return err == nil && t.Unix() == mod.Unix()
}

package static

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// ListFormat is autoindex_format: how a directory listing is written.
type ListFormat int

// The listing formats of autoindex_format.
const (
	ListHTML ListFormat = iota
	ListXML
	ListJSON
	ListJSONP
)

// ParseListFormat maps autoindex_format's value to a ListFormat; "" and
// anything unknown mean html, nginx's default (config.Load checked it).
func ParseListFormat(s string) ListFormat {
	switch s {
	case "xml":
		return ListXML
	case "json":
		return ListJSON
	case "jsonp":
		return ListJSONP
	}
	return ListHTML
}

// Listing is a location's autoindex settings. The zero value lists nothing:
// Enabled must be set.
type Listing struct {
	Enabled bool
	Format  ListFormat
	// ExactSize (autoindex_exact_size, on by default) writes HTML sizes in
	// bytes; off rounds them to K, M or G.
	ExactSize bool
	// LocalTime (autoindex_localtime) writes HTML times in the server's time
	// zone, shifted by the offset it has when the page is made, as nginx
	// does; UTC otherwise. XML and JSON times are always UTC.
	LocalTime bool
	// UTF8 counts HTML name lengths in characters instead of bytes, as nginx
	// does when the response's charset is utf-8 (the charset directive).
	UTF8 bool
}

// ErrBadCallback is the answer to a jsonp listing request whose callback
// argument is longer than 128 bytes or has a byte other than a letter, a
// digit, "_" or ".": 400, as in nginx.
var ErrBadCallback = errors.New("invalid callback name")

// DirEntry is one line of a directory listing.
type DirEntry struct {
	Name    string
	Dir     bool // a directory (or a link to one)
	File    bool // a regular file (or a link to one); neither is "other"
	Size    int64
	ModTime time.Time
}

// ReadDir reads the directory of a KindDirectory Result (ngx_open_dir and
// ngx_read_dir): every entry except those whose name starts with ".", with
// the information of what a symbolic link points to (the link's own when
// it dangles, loops or leads out of res.Base), sorted as nginx sorts them:
// directories first, then by name, byte by byte. An entry that cannot be
// stat'ed for lack of permission is left out, as in nginx.
//
// The error wraps the open or read's system error: nginx answers 404 for
// ENOENT, ENOTDIR and ENAMETOOLONG, 403 for EACCES, else 500 (ErrorStatus
// maps it).
func ReadDir(res Result) ([]DirEntry, error) {
	rel, err := filepath.Rel(res.Base, res.Path)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return nil, &CallError{Call: "opendir", Path: res.Path, Err: ErrOutsideRoot}
	}
	root, err := os.OpenRoot(res.Base)
	if err != nil {
		return nil, &CallError{Call: "opendir", Path: res.Path, Err: err}
	}
	defer root.Close()
	d, err := root.Open(rel)
	if err != nil {
		return nil, &CallError{Call: "opendir", Path: res.Path, Err: sysErr(err)}
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, &CallError{Call: "readdir", Path: res.Path, Err: sysErr(err)}
	}
	entries := make([]DirEntry, 0, len(names))
	lr := linkResolver{base: res.Base}
	for _, name := range names {
		if strings.HasPrefix(name, ".") {
			continue
		}
		e, skip, err := dirEntry(root, filepath.Join(rel, name), name, &lr, filepath.Join(res.Path, name))
		if err != nil {
			return nil, &CallError{Call: "stat", Path: filepath.Join(res.Path, name), Err: err}
		}
		if !skip {
			entries = append(entries, e)
		}
	}
	sortEntries(entries)
	return entries, nil
}

// dirEntry stats one entry through root: what a link points to, else (a
// dangling or looping link, one leading out of root) the link itself.
// os.Root refuses every absolute link, so one of those (full is the
// entry's path) is stated by lr, which follows it while it leads back
// inside the root, as a file under root is served. skip reports an entry
// nginx leaves out (EACCES).
func dirEntry(root *os.Root, rel, name string, lr *linkResolver, full string) (e DirEntry, skip bool, err error) {
	fi, err := root.Stat(rel)
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return DirEntry{}, true, nil
		}
		fi, err = root.Lstat(rel)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return DirEntry{}, true, nil // gone since readdir
			}
			return DirEntry{}, false, sysErr(err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if target, ok := lr.stat(full); ok {
				fi = target
			}
		}
	}
	return DirEntry{
		Name:    name,
		Dir:     fi.IsDir(),
		File:    fi.Mode().IsRegular(),
		Size:    fi.Size(),
		ModTime: fi.ModTime(),
	}, false, nil
}

// linkResolver stats a symbolic link's target when the link, resolved,
// leads inside base (recorded with nginx 1.22.1: a link to the root's own
// directory or file by its absolute path is listed as that directory,
// "test-dir-link/", or file, with its size; nginx-tests' autoindex.t).
type linkResolver struct {
	base     string
	realBase string // base with its links resolved, once
}

// stat is what the link at path leads to, when that is inside the root.
func (lr *linkResolver) stat(path string) (fs.FileInfo, bool) {
	if lr.realBase == "" {
		real, err := filepath.EvalSymlinks(lr.base)
		if err != nil {
			return nil, false
		}
		lr.realBase = real
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil || !within(real, lr.realBase) {
		return nil, false
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, false
	}
	return fi, true
}

// sysErr unwraps a PathError to its errno, for CallError's wording.
func sysErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sortEntries puts directories first, then orders by name as strcmp does.
func sortEntries(entries []DirEntry) {
	slices.SortFunc(entries, func(a, b DirEntry) int {
		if a.Dir != b.Dir {
			if a.Dir {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// ListingStatus maps ReadDir's error to nginx's status: 404, 403 or 500.
func ListingStatus(err error) int {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG):
		return http.StatusNotFound
	case errors.Is(err, syscall.EACCES), errors.Is(err, ErrOutsideRoot):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// JSONPCallback returns the callback argument of args (nginx's
// ngx_http_arg: the first "callback=" whose name matches in any case, its
// value as sent, not decoded). "" means none, which makes a jsonp listing a
// json one. A value that is too long or has a byte other than a letter, a
// digit, "_" or "." is ErrBadCallback.
func JSONPCallback(args string) (string, error) {
	cb, ok := argValue(args, "callback")
	if !ok || cb == "" {
		return "", nil
	}
	if len(cb) > 128 {
		return "", fmt.Errorf("client sent too long callback name: %q: %w", cb, ErrBadCallback)
	}
	for i := 0; i < len(cb); i++ {
		c := cb[i]
		if l := c | 0x20; l >= 'a' && l <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' {
			continue
		}
		return "", fmt.Errorf("client sent invalid callback name: %q: %w", cb, ErrBadCallback)
	}
	return cb, nil
}

// argValue finds name's value in a query string as ngx_http_arg does.
func argValue(args, name string) (string, bool) {
	for args != "" {
		var pair string
		pair, args, _ = strings.Cut(args, "&")
		k, v, found := strings.Cut(pair, "=")
		if found && strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// ContentType is the listing's Content-Type: text/html, text/xml with
// charset utf-8, application/json, or application/javascript for jsonp
// with a callback.
func (l Listing) ContentType(callback string) string {
	switch l.Format {
	case ListXML:
		return "text/xml; charset=utf-8"
	case ListJSON:
		return "application/json"
	case ListJSONP:
		if callback != "" {
			return "application/javascript"
		}
		return "application/json"
	}
	return "text/html"
}

// AppendListing appends the listing of entries for the directory whose $uri
// is uri, byte for byte as nginx's autoindex module writes it.
func (l Listing) AppendListing(b []byte, uri, callback string, entries []DirEntry, now time.Time) []byte {
	switch l.Format {
	case ListXML:
		return appendXML(b, entries)
	case ListJSON:
		return appendJSON(b, entries, "")
	case ListJSONP:
		return appendJSON(b, entries, callback)
	}
	return l.appendHTML(b, uri, entries, now)
}

// nameWidth is NGX_HTTP_AUTOINDEX_NAME_LEN: the column names are cut to.
const nameWidth = 50

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendHTML is ngx_http_autoindex_html.
func (l Listing) appendHTML(b []byte, uri string, entries []DirEntry, now time.Time) []byte {
	b = append(b, "<html>\r\n<head><title>Index of "...)
	b = appendEscapeHTML(b, uri)
	b = append(b, "</title></head>\r\n<body>\r\n<h1>Index of "...)
	b = appendEscapeHTML(b, uri)
	b = append(b, "</h1><hr><pre><a href=\"../\">../</a>\r\n"...)
	var offset time.Duration
	if l.LocalTime {
		_, secs := now.Zone()
		offset = time.Duration(secs) * time.Second
	}
	for i := range entries {
		b = l.appendHTMLEntry(b, &entries[i], offset)
	}
	return append(b, "</pre><hr></body>\r\n</html>\r\n"...)
}

// appendHTMLEntry writes one line: the link, the name cut to 50 columns
// ("..&gt;" after 47 when longer) and padded, the date and the size.
func (l Listing) appendHTMLEntry(b []byte, e *DirEntry, offset time.Duration) []byte {
	b = append(b, `<a href="`...)
	b = appendEscapeComponent(b, e.Name)
	if e.Dir {
		b = append(b, '/')
	}
	b = append(b, `">`...)
	n := len(e.Name)
	if l.UTF8 && utf8.ValidString(e.Name) {
		n = utf8.RuneCountInString(e.Name)
	}
	if n > nameWidth {
		b = appendEscapeHTML(b, prefixUnits(e.Name, nameWidth-3, n != len(e.Name)))
		b = append(b, "..&gt;</a>"...)
	} else {
		b = appendEscapeHTML(b, e.Name)
		if e.Dir && n < nameWidth {
			b = append(b, '/')
			n++
		}
		b = append(b, "</a>"...)
		b = append(b, strings.Repeat(" ", nameWidth-n)...)
	}
	b = append(b, ' ')
	t := e.ModTime.UTC().Add(offset)
	b = appendPad(b, int64(t.Day()), 2, '0')
	b = append(b, '-')
	b = append(b, months[t.Month()-1]...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(t.Year()), 10)
	b = append(b, ' ')
	b = appendPad(b, int64(t.Hour()), 2, '0')
	b = append(b, ':')
	b = appendPad(b, int64(t.Minute()), 2, '0')
	b = append(b, ' ')
	b = l.appendSize(b, e)
	return append(b, "\r\n"...)
}

// prefixUnits is the first n bytes of s, or its first n characters when
// runes is set.
func prefixUnits(s string, n int, runes bool) string {
	if !runes {
		return s[:n]
	}
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// appendSize writes the size column: 19 columns exact, else 7 rounded.
func (l Listing) appendSize(b []byte, e *DirEntry) []byte {
	if l.ExactSize {
		if e.Dir {
			return append(b, "                  -"...)
		}
		return appendPad(b, e.Size, 19, ' ')
	}
	if e.Dir {
		return append(b, "      -"...)
	}
	size, scale := e.Size, byte(0)
	switch {
	case size >= 1<<30:
		size, scale = roundDiv(size, 1<<30), 'G'
	case size >= 1<<20:
		size, scale = roundDiv(size, 1<<20), 'M'
	case size > 9999:
		size, scale = roundDiv(size, 1<<10), 'K'
	}
	if scale == 0 {
		return appendPad(append(b, ' '), size, 6, ' ')
	}
	return append(appendPad(b, size, 6, ' '), scale)
}

// roundDiv divides by unit, rounding a remainder of half a unit or more up.
func roundDiv(n, unit int64) int64 {
	q := n / unit
	if n%unit > unit/2-1 {
		q++
	}
	return q
}

// appendPad writes n right-aligned in width columns, filled with pad.
func appendPad(b []byte, n int64, width int, pad byte) []byte {
	var buf [24]byte
	s := strconv.AppendInt(buf[:0], n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, pad)
	}
	return append(b, s...)
}

// appendXML is ngx_http_autoindex_xml.
func appendXML(b []byte, entries []DirEntry) []byte {
	b = append(b, "<?xml version=\"1.0\"?>\r\n<list>\r\n"...)
	for i := range entries {
		e := &entries[i]
		typ := entryType(e)
		b = append(b, '<')
		b = append(b, typ...)
		b = append(b, ` mtime="`...)
		b = e.ModTime.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
		if e.File {
			b = append(b, `" size="`...)
			b = strconv.AppendInt(b, e.Size, 10)
		}
		b = append(b, `">`...)
		b = appendEscapeHTML(b, e.Name)
		b = append(b, "</"...)
		b = append(b, typ...)
		b = append(b, ">\r\n"...)
	}
	return append(b, "</list>\r\n"...)
}

// appendJSON is ngx_http_autoindex_json; a callback wraps it for jsonp.
func appendJSON(b []byte, entries []DirEntry, callback string) []byte {
	if callback != "" {
		b = append(b, "/* callback */\r\n"...)
		b = append(b, callback...)
		b = append(b, '(')
	}
	b = append(b, '[')
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\r\n{ \"name\":\""...)
		b = appendEscapeJSON(b, e.Name)
		b = append(b, `", "type":"`...)
		b = append(b, entryType(e)...)
		b = append(b, `", "mtime":"`...)
		b = e.ModTime.UTC().AppendFormat(b, http.TimeFormat)
		if e.File {
			b = append(b, `", "size":`...)
			b = strconv.AppendInt(b, e.Size, 10)
		} else {
			b = append(b, '"')
		}
		b = append(b, " }"...)
	}
	b = append(b, "\r\n]"...)
	if callback != "" {
		b = append(b, ");"...)
	}
	return b
}

func entryType(e *DirEntry) string {
	switch {
	case e.Dir:
		return "directory"
	case e.File:
		return "file"
	}
	return "other"
}

// appendEscapeHTML is ngx_escape_html: <, >, & and " as entities.
func appendEscapeHTML(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&quot;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendEscapeComponent is ngx_escape_uri with NGX_ESCAPE_URI_COMPONENT:
// every byte but letters, digits, "-", ".", "_" and "~" as %XX.
func appendEscapeComponent(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&0xf])
	}
	return b
}

// appendEscapeJSON is ngx_escape_json: '"' and '\' with a backslash, \n \r
// \t \b \f in their short forms, other control bytes as \u00XX with
// upper-case hex (nginx 1.22.1 lists "tab\tx.txt" for a file named with a
// tab).
func appendEscapeJSON(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c <= 0x1f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

package htpasswd

import (
	"bytes"
	"strings"
)

// File is a parsed user file. It is immutable and safe for concurrent use.
type File struct {
	// users maps a name to the hash of its first line, for files whose
	// lines all read plainly (see exact).
	users map[string]string
	// raw is the file's content, scanned byte by byte as nginx does when
	// the map cannot give nginx's answer.
	raw []byte
	// exact is set when some line has no ':' or holds a CR before its end:
	// nginx's scanner then behaves in ways a map does not capture (a line
	// that is a prefix of "name:" makes it skip the next line), so Lookup
	// scans raw instead.
	exact bool
}

// Parse reads the content of a user file.
func Parse(data []byte) *File {
	f := &File{users: map[string]string{}, raw: data}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 || line[0] == '#' || line[0] == '\r' {
			continue
		}
		name, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok || bytes.IndexByte(name, '\r') >= 0 {
			f.exact = true
			continue
		}
		if _, dup := f.users[string(name)]; !dup {
			f.users[string(name)] = string(passwordField(rest))
		}
	}
	return f
}

// passwordField is the hash at the start of rest: it ends at ':', CR or LF.
func passwordField(rest []byte) []byte {
	if i := bytes.IndexAny(rest, ":\r\n"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// Lookup returns the hash stored for user, as nginx finds it: the first line
// that starts with "user:". A user name containing CR or LF, or a file with
// irregular lines, is looked up with nginx's own scanner.
func (f *File) Lookup(user string) (string, bool) {
	if user == "" {
		return "", false
	}
	if f.exact || strings.ContainsAny(user, "\r\n") {
		return scan(f.raw, user)
	}
	h, ok := f.users[user]
	return h, ok
}

// scan is ngx_http_auth_basic_handler's state machine over the whole file:
// at a line's start '#' or CR skips the line and LF is an empty line; the
// bytes must then equal "user:"; the hash runs to LF, CR, ':' or the end.
// A byte that differs moves to skipping and is itself consumed, so when it
// is the LF of a line that is a prefix of "user:", the next line is skipped
// too, as in nginx.
func scan(data []byte, user string) (string, bool) {
	const (
		login = iota
		passwd
		skip
	)
	want := user + ":"
	state, n, start := login, 0, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch state {
		case login:
			if n == 0 && (c == '#' || c == '\r') {
				state = skip
				break
			}
			if n == 0 && c == '\n' {
				break
			}
			if c != want[n] {
				state = skip
				break
			}
			if n++; n == len(want) {
				state, start = passwd, i+1
			}
		case passwd:
			if c == '\n' || c == '\r' || c == ':' {
				return string(data[start:i]), true
			}
		case skip:
			if c == '\n' {
				state, n = login, 0
			}
		}
	}
	if state == passwd {
		return string(data[start:]), true
	}
	return "", false
}

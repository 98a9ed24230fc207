package vars

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// Getters of the variables read from the client's request. Each returns
// dst unchanged with false when the variable is not found.

func getRequestMethod(dst []byte, st *State) ([]byte, bool) {
	if st.Method == "" {
		return dst, false
	}
	return append(dst, st.Method...), true
}

// getRequestURI is not found when the request line did not parse (a
// refused request), as nginx's $request_uri without r->unparsed_uri.
func getRequestURI(dst []byte, st *State) ([]byte, bool) {
	if st.RequestURI == "" {
		return dst, false
	}
	return append(dst, st.RequestURI...), true
}

func getURI(dst []byte, st *State) ([]byte, bool) {
	// Not found for a request refused before its line parsed; found and
	// empty after a rewrite whose result was empty (its 500), as nginx
	// 1.22.1 logs it.
	if st.Path == "" && !st.Rewritten {
		return dst, false
	}
	return append(dst, st.Path...), true
}

// getArgs is not found when the query is empty: no '?' in the target, or a
// bare '?' at its end ("GET /p?"). nginx sets r->args only when something
// follows the '?' (ngx_http_process_request_uri), and $args tests
// r->args.data; nginx 1.22.1 logs "-" for both. An internal redirect or a
// rewrite may leave it found but empty (State.ArgsFound).
func getArgs(dst []byte, st *State) ([]byte, bool) {
	if st.Args == "" {
		return dst, st.ArgsFound
	}
	return append(dst, st.Args...), true
}

func getIsArgs(dst []byte, st *State) ([]byte, bool) {
	if st.Args != "" {
		dst = append(dst, '?')
	}
	return dst, true
}

func getRequestLine(dst []byte, st *State) ([]byte, bool) {
	if st.RequestLine != "" || st.EmptyRequestLine {
		return append(dst, st.RequestLine...), true
	}
	if st.Method == "" {
		return dst, false
	}
	dst = append(dst, st.Method...)
	dst = append(dst, ' ')
	dst = append(dst, st.RequestURI...)
	if st.Proto != "" {
		dst = append(dst, ' ')
		dst = append(dst, st.Proto...)
	}
	return dst, true
}

func getServerProtocol(dst []byte, st *State) ([]byte, bool) {
	if st.Proto == "" {
		return dst, false
	}
	return append(dst, st.Proto...), true
}

func getScheme(dst []byte, st *State) ([]byte, bool) {
	if st.Scheme == "" {
		return append(dst, "http"...), true
	}
	return append(dst, st.Scheme...), true
}

func getHTTPS(dst []byte, st *State) ([]byte, bool) {
	if st.Scheme == "https" {
		dst = append(dst, "on"...)
	}
	return dst, true
}

// getHTTP2 is nginx's $http2: "h2" for a request that came over HTTP/2 on
// TLS, "h2c" over plain-text HTTP/2 (listen ... http2 without ssl), else
// empty.
func getHTTP2(dst []byte, st *State) ([]byte, bool) {
	switch {
	case st.Proto != "HTTP/2.0":
	case st.Scheme == "https":
		dst = append(dst, "h2"...)
	default:
		dst = append(dst, "h2c"...)
	}
	return dst, true
}

// getHost is nginx's $host: the request's host without port or trailing
// dot, lowercased, else the server's primary name.
func getHost(dst []byte, st *State) ([]byte, bool) {
	h := hostOnly(st.Host)
	if h == "" {
		return append(dst, st.ServerName...), true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// RequestHost is the host the request named, as nginx keeps it
// (headers_in.server): Host without its port and a trailing dot, in lower
// case; "" when the request named none. $host is this, else ServerName.
func (st *State) RequestHost() string {
	return strings.ToLower(hostOnly(st.Host))
}

// AbsoluteURL makes path (starting with "/") absolute as nginx's header
// filter does for a Location it sends (absolute_redirect on): the scheme,
// the host the request named (RequestHost), else the address that accepted
// the connection (server_name for a unix socket), and the port the request
// came in on unless it is the scheme's default. With serverName
// (server_name_in_redirect on) the host is the server's primary name,
// empty when it has none, as in nginx; without port (port_in_redirect off)
// no port is added. Other values are returned as they are.
func (st *State) AbsoluteURL(path string, port, serverName bool) string {
	if !strings.HasPrefix(path, "/") {
		return path
	}
	scheme, defaultPort := "http", uint16(80)
	if st.Scheme == "https" {
		scheme, defaultPort = "https", 443
	}
	host := st.RequestHost()
	switch {
	case serverName:
		host = st.ServerName
	case host != "":
	case st.Local.IsValid():
		// No host (HTTP/1.0 without Host): nginx names the local address,
		// never server_name (server_name_in_redirect off).
		host = st.Local.Addr().String()
		if st.Local.Addr().Is6() {
			host = "[" + host + "]"
		}
	default: // a unix socket
		host = st.ServerName
	}
	suffix := ""
	if p := st.Local.Port(); port && p != 0 && p != defaultPort {
		suffix = ":" + strconv.Itoa(int(p))
	}
	return scheme + "://" + host + suffix + path
}

// hostOnly strips the port and one trailing dot from a Host value, as
// ngx_http_validate_host does ("[::1]:80" -> "[::1]").
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i >= 0 {
			return h[:i+1]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

func getRequestBody(dst []byte, st *State) ([]byte, bool) {
	if st.Body == nil {
		return dst, false
	}
	return append(dst, st.Body...), true
}

// getRequestBodyFile is $request_body_file: the temporary file's name when
// the body went to one (nginx 1.22.1 names it for any body written to a
// file, kept or already unlinked), else not found.
func getRequestBodyFile(dst []byte, st *State) ([]byte, bool) {
	if st.BodyFile == "" {
		return dst, false
	}
	return append(dst, st.BodyFile...), true
}

func getRequestLength(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendInt(dst, st.Length, 10), true
}

// getRequestID is nginx's $request_id: 16 random bytes in lower-case hex,
// drawn once per request and stable until Reset.
func getRequestID(dst []byte, st *State) ([]byte, bool) {
	st.drawRequestID()
	return append(dst, st.reqID[:]...), true
}

// drawRequestID draws the request's $request_id unless it has one.
func (st *State) drawRequestID() {
	if !st.reqIDSet {
		_, _ = rand.Read(st.reqIDRaw[:]) // never fails since Go 1.24
		hex.Encode(st.reqID[:], st.reqIDRaw[:])
		st.reqIDSet = true
	}
}

// getProxyAddXForwardedFor is the client's X-Forwarded-For fields joined
// by ", ", then ", " and $remote_addr; just $remote_addr without any.
func getProxyAddXForwardedFor(dst []byte, st *State) ([]byte, bool) {
	dst, ok := appendHeader(dst, st.Header, "X-Forwarded-For", ", ")
	if ok {
		dst = append(dst, ", "...)
	}
	return appendRemote(dst, st), true
}

// headerSource picks one of the State's header sections.
type headerSource func(st *State) Headers

func reqHeaders(st *State) Headers      { return st.Header }
func sentTrailers(st *State) Headers    { return st.SentTrailer }
func sentHeaders(st *State) Headers     { return st.SentHeader }
func upstreamHeaders(st *State) Headers { return st.UpstreamHeader }

// headerGetter returns the getter of a header variable: every field named
// name (canonical form) joined by sep, not found when there is none.
func headerGetter(name, sep string, src headerSource) Getter {
	if name == "" {
		return getNotFound
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		return appendHeader(dst, src(st), name, sep)
	}
}

func getNotFound(dst []byte, _ *State) ([]byte, bool) { return dst, false }

// getContentLength is the Content-Length field, or, for a chunked body that
// was read, the sum of its chunk sizes (nginx's content_length_n, which the
// chunked body filter sets: 0 for a body it discarded); not found for a
// chunked body cut short while it streamed (State.BodyCut).
func getContentLength(dst []byte, st *State) ([]byte, bool) {
	if dst, ok := appendHeader(dst, reqHeaders(st), "Content-Length", ", "); ok {
		return dst, true
	}
	if st.ChunkedRead && !st.BodyCut {
		return strconv.AppendInt(dst, st.ChunkedLength, 10), true
	}
	return dst, false
}

// requestHeaderGetter returns the getter of $http_SUFFIX. Every field whose
// name is the suffix, with '-' for '_', is found through the canonical name;
// when the request kept fields with '_' in their names
// (Request.UnderscoredFields), they are found too: nginx's
// ngx_http_variable_unknown_header takes a '_' in the variable for '-' or
// '_' in the name, so $http_x_api_key reads "X_Api_Key: k". The fields nginx
// 1.22 reads by their exact names ($http_host, $http_user_agent,
// $http_referer, $http_via, $http_x_forwarded_for) are never found that way.
func requestHeaderGetter(suffix string) Getter {
	suffix = strings.ToLower(suffix)
	name := headerName(suffix)
	if name == "" {
		return getNotFound
	}
	switch suffix {
	case "user_agent", "referer":
		return func(dst []byte, st *State) ([]byte, bool) {
			return appendLoggedField(dst, st, name)
		}
	case "host", "via", "x_forwarded_for":
		return headerGetter(name, ", ", reqHeaders)
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.UnderscoredFields {
			return appendLooseFields(dst, st.Fields, suffix, ", ")
		}
		return appendHeader(dst, st.Header, name, ", ")
	}
}

// maxScannedFields bounds the request fields appendLoggedField and
// firstLoggedField scan: beyond it, one map index costs less (measured: 3
// fields, the scans save 400 instructions per log line; 11, they cost 140
// more).
const maxScannedFields = 8

// appendLoggedField appends the values of the request's fields named name
// (canonical form: "User-Agent", "Referer"), joined by ", ", as
// appendHeader(dst, st.Header, name, ", ") does, for the fields log_format
// combined reads on every line. A request read with its fields in order
// (st.Fields) has the same fields in st.Header, its map: for a few fields a
// scan of the list costs less than hashing name into the map. Only these
// names read the list: a subrequest's map lacks some fields its list keeps
// (Range and the If- fields of an SSI or addition include; Upgrade of a
// mirror), never these.
func appendLoggedField(dst []byte, st *State, name string) ([]byte, bool) {
	l := st.Fields
	if l == nil || len(l) > maxScannedFields {
		return appendHeader(dst, st.Header, name, ", ")
	}
	i := l.index(0, name)
	if i == len(l) {
		return dst, false
	}
	dst = append(dst, l[i].Value...)
	for {
		if i = l.index(i+1, name); i == len(l) {
			return dst, true
		}
		dst = append(dst, ", "...)
		dst = append(dst, l[i].Value...)
	}
}

// firstLoggedField returns the value of the request's first field named
// name (canonical form), from st.Fields when it is short, as
// appendLoggedField reads it, else from st.Header.
func firstLoggedField(st *State, name string) (string, bool) {
	l := st.Fields
	if l == nil || len(l) > maxScannedFields {
		if st.Header == nil {
			return "", false
		}
		v, _, ok := st.Header.Lookup(name, 0)
		return v, ok
	}
	if i := l.index(0, name); i < len(l) {
		return l[i].Value, true
	}
	return "", false
}

// index returns the position of the first field at or after from whose
// name, as sent, is name in any case (the canonical key a map files it
// under), or len(l).
func (l HeaderList) index(from int, name string) int {
	for i := from; i < len(l); i++ {
		if n := l[i].Name; len(n) == len(name) && (n == name || strings.EqualFold(n, name)) {
			return i
		}
	}
	return len(l)
}

// appendLooseFields appends the values of the fields of l whose names equal
// suffix when upper case is folded and '-' is read as '_', in the order they
// came, joined by sep.
func appendLooseFields(dst []byte, l HeaderList, suffix, sep string) ([]byte, bool) {
	found := false
	for _, f := range l {
		if !looseNameEqual(f.Name, suffix) {
			continue
		}
		if found {
			dst = append(dst, sep...)
		}
		dst, found = append(dst, f.Value...), true
	}
	return dst, found
}

// looseNameEqual reports whether the field name is the variable suffix, as
// ngx_http_variable_unknown_header compares them.
func looseNameEqual(name, suffix string) bool {
	if len(name) != len(suffix) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			c = '_'
		}
		if c != suffix[i] {
			return false
		}
	}
	return true
}

// appendHeader appends every value of the fields named name, joined by sep,
// and reports whether there was one (ngx_http_variable_unknown_header).
func appendHeader(dst []byte, h Headers, name, sep string) ([]byte, bool) {
	if m, isMap := h.(HeaderMap); isMap { // one map index instead of two
		return appendJoined(dst, m[name], sep)
	}
	if h == nil {
		return dst, false
	}
	v, next, ok := h.Lookup(name, 0)
	if !ok {
		return dst, false
	}
	dst = append(dst, v...)
	for {
		if v, next, ok = h.Lookup(name, next); !ok {
			return dst, true
		}
		dst = append(dst, sep...)
		dst = append(dst, v...)
	}
}

func appendJoined(dst []byte, vs []string, sep string) ([]byte, bool) {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, v...)
	}
	return dst, len(vs) > 0
}

// argGetter returns the getter of $arg_NAME: the raw value of the first
// query argument named name (case-insensitive), as ngx_http_arg finds it.
func argGetter(name string) Getter {
	if name == "" {
		return getNotFound
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		v, ok := findArg(st.Args, name)
		if !ok {
			return dst, false
		}
		return append(dst, v...), true
	}
}

// findArg finds "name=" at the start of args or after a '&'. An argument
// without '=' is not found.
func findArg(args, name string) (string, bool) {
	for i := 0; i+len(name) < len(args); i++ {
		if (i > 0 && args[i-1] != '&') || args[i+len(name)] != '=' ||
			!strings.EqualFold(args[i:i+len(name)], name) {
			continue
		}
		v := args[i+len(name)+1:]
		if j := strings.IndexByte(v, '&'); j >= 0 {
			v = v[:j]
		}
		return v, true
	}
	return "", false
}

// cookieGetter returns the getter of $cookie_NAME.
func cookieGetter(name string) Getter {
	if name == "" {
		return getNotFound
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.Header == nil {
			return dst, false
		}
		line, next, ok := st.Header.Lookup("Cookie", 0)
		for ok {
			if v, found := FindCookie(line, name); found {
				return append(dst, v...), true
			}
			line, next, ok = st.Header.Lookup("Cookie", next)
		}
		return dst, false
	}
}

// FindCookie is ngx_http_parse_multi_header_lines for one Cookie line:
// pairs are separated by ';' or ',', the name compares case-insensitively,
// spaces around '=' are skipped, and the value runs to the next ';'.
func FindCookie(line, name string) (string, bool) {
	if len(name) > len(line) {
		return "", false
	}
	for s := 0; s < len(line); {
		if len(line)-s >= len(name) && strings.EqualFold(line[s:s+len(name)], name) {
			s = skipSpaces(line, s+len(name))
			if s < len(line) && line[s] == '=' {
				start := skipSpaces(line, s+1)
				end := start
				for end < len(line) && line[end] != ';' {
					end++
				}
				return line[start:end], true
			}
			if s < len(line) {
				s++ // nginx consumes the byte that was not '='
			}
		}
		for s < len(line) {
			c := line[s]
			s++
			if c == ';' || c == ',' {
				break
			}
		}
		s = skipSpaces(line, s)
	}
	return "", false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// getRemoteUser is the user name of "Authorization: Basic" credentials,
// not found when they are absent or malformed (ngx_http_auth_basic_user).
func getRemoteUser(dst []byte, st *State) ([]byte, bool) {
	v, ok := firstLoggedField(st, "Authorization")
	if !ok || len(v) < len("Basic ") || !strings.EqualFold(v[:len("Basic ")], "Basic ") {
		return dst, false
	}
	v = v[skipSpaces(v, len("Basic ")):]
	mark := len(dst)
	dst, ok = appendBase64Decoded(dst, v)
	if !ok {
		return dst[:mark], false
	}
	user := dst[mark:]
	i := 0
	for i < len(user) && user[i] != ':' {
		i++
	}
	if i == 0 || i == len(user) {
		return dst[:mark], false
	}
	return dst[:mark+i], true
}

// BasicCredentials are the user name and password of the request's
// "Authorization: Basic" header, read as ngx_http_auth_basic_user does: the
// scheme without case, spaces before the base64, a user name of at least one
// byte before the first ':'. ok is false when the header is absent or
// malformed; the user name is what $remote_user gives.
func BasicCredentials(st *State) (user, password string, ok bool) {
	if st.Header == nil {
		return "", "", false
	}
	v, _, found := st.Header.Lookup("Authorization", 0)
	if !found || len(v) < len("Basic ") || !strings.EqualFold(v[:len("Basic ")], "Basic ") {
		return "", "", false
	}
	raw, decoded := appendBase64Decoded(nil, v[skipSpaces(v, len("Basic ")):])
	if !decoded {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", false
	}
	return user, password, true
}

// appendBase64Decoded decodes standard base64 the way ngx_decode_base64
// does: input stops at the first '=', any other byte outside the alphabet
// is an error, and a length of 4n+1 is an error.
func appendBase64Decoded(dst []byte, s string) ([]byte, bool) {
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	if s == "" || len(s)%4 == 1 {
		return dst, false
	}
	var acc uint32
	var bits uint
	for i := 0; i < len(s); i++ {
		d := base64Value(s[i])
		if d < 0 {
			return dst, false
		}
		acc = acc<<6 | uint32(d)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	return dst, true
}

func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

package proxy

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strings"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// headerRule is a compiled proxy_set_header.
type headerRule struct {
	name  string // as written in the configuration
	value *vars.Template
	// constant says value has no variables: line is then the whole
	// field ("Name: value\r\n"), nil when the value sends none (empty, or
	// with CR or LF), and closes says it is a Connection field that
	// lists close.
	constant bool
	line     []byte
	closes   bool
	// connection says name is Connection (in any case): its value may
	// list close.
	connection bool
}

// newHeaderRule compiles the rule for name and its value: the field of a
// constant value is written once, here.
func newHeaderRule(name string, value *vars.Template) headerRule {
	r := headerRule{name: name, value: value, connection: strings.EqualFold(name, "Connection")}
	v, ok := value.Constant()
	if !ok {
		return r
	}
	r.constant = true
	if v == "" || hasCRLF([]byte(v)) {
		return r // an empty value sends no field, as in nginx
	}
	r.line = []byte(name + ": " + v + "\r\n")
	r.closes = r.connection && hasCloseToken([]byte(v))
	return r
}

// hasCRLF reports whether a field value holds CR or LF, which would end
// the field early.
func hasCRLF(v []byte) bool {
	for _, c := range v {
		if c == '\r' || c == '\n' {
			return true
		}
	}
	return false
}

// dropped are request headers fulcrum never forwards, besides the hop-by-hop
// ones: Expect is answered by fulcrum itself.
var dropped = []string{"Expect"}

// prepare builds the upstream request from scratch: request line, fulcrum's own
// headers (proxy_set_header in order, then Host unless set), then the client's end-to-end headers
// in the order the client sent them and spelled as sent, as nginx passes them
// (without hop-by-hop fields, those the client's Connection header names,
// underscore names unless allowed, and those proxy_set_header sets), so a client
// can never delete or spoof a header fulcrum sets. The body framing is added
// when the request is written.
func (h *Handler) prepare(req *request) {
	in, st := req.in, req.st
	method := h.upstreamMethod(in.Method, st)
	if req.caching && method == http.MethodHead && req.cache.set.ConvertHead {
		method = http.MethodGet // proxy_cache_convert_head
	}
	b := req.out.head[:0]
	b = append(b, method...)
	b = append(b, ' ')
	req.sentFrom = len(b)
	b = h.appendTarget(b, req)
	req.sentTo = len(b)
	if h.set.ProxyHTTPVersion == "1.0" {
		b = append(b, " HTTP/1.0\r\n"...) // as nginx writes it; the connection closes (out.close)
	} else {
		b = append(b, " HTTP/1.1\r\n"...)
	}
	closeAsked := false // proxy_set_header Connection close (or a map's "close")
	for i := range h.headers {
		rule := &h.headers[i]
		if rule.constant {
			b = append(b, rule.line...)
			closeAsked = closeAsked || rule.closes
			continue
		}
		mark := len(b)
		b = append(b, rule.name...)
		b = append(b, ": "...)
		start := len(b)
		b = rule.value.Append(b, st)
		if len(b) == start || hasCRLF(b[start:]) {
			b = b[:mark] // an empty value sends no field, as in nginx
			continue
		}
		if rule.connection && hasCloseToken(b[start:]) {
			closeAsked = true
		}
		b = append(b, "\r\n"...)
	}
	req.out.framingAt = len(b)
	conn := in.Header["Connection"]
	if h.set.ProxyPassRequestHeaders {
		fields := st.Fields
		block := ^uint64(0) // sortedFields' names may be any a module set: each looked at
		if fields == nil {
			fields = sortedFields(in.Header)
		} else if len(conn) > 0 || h.connlessBlock == 0 {
			block = h.blockSigs(conn) // the client's names: tokens, ASCII
		} else {
			block = h.connlessBlock // blockSigs(nil), computed once in New
		}
		for _, f := range fields {
			if foldSig(f.Name)&block != 0 && !h.forwardable(f.Name, conn) || req.caching && !req.passRange && containsFold(cacheDropped, f.Name) {
				continue
			}
			b = append(b, f.Name...)
			b = append(b, ": "...)
			b = append(b, f.Value...)
			b = append(b, "\r\n"...)
		}
	}
	if req.caching {
		b = req.appendCacheFields(b)
	}
	if len(conn) > 0 { // no Connection field, no upgrade (upgradeType): most requests
		if up := upgradeType(conn, in.Header); up != "" && !strings.EqualFold(up, "h2c") {
			req.upgrade = up
			b = h.appendUpgrade(b, up)
		}
	}
	req.out.head = b
	req.out.method = append(req.out.method[:0], method...)
	req.out.close = h.set.ProxyHTTPVersion == "1.0"
	req.out.closeAsked = closeAsked
	req.out.maxHead = h.maxHead
	h.prepareBody(req)
}

// hasCloseToken reports whether a Connection field's value lists "close".
func hasCloseToken(v []byte) bool {
	for _, t := range bytes.Split(v, []byte(",")) {
		if h1.EqualFold(bytes.TrimSpace(t), "close") {
			return true
		}
	}
	return false
}

// upstreamMethod is the method sent upstream: proxy_method's value, its
// variables evaluated for the request, else the client's. A value that
// evaluates empty, or to something that is not a token (a space from a
// header's value), keeps the client's method: nginx 1.22.1 sends it as it is
// (an empty one makes the request line " /x HTTP/1.0", which no server
// takes; recorded), fulcrum never writes a broken request line.
func (h *Handler) upstreamMethod(client string, st *vars.State) string {
	if h.method == nil {
		return client
	}
	if m := h.method.String(st); h1.ValidFieldName([]byte(m)) {
		return m
	}
	return client
}

// appendUpgrade adds fulcrum's default pass-through of an upgrade handshake,
// for what proxy_set_header leaves unset: a Connection or Upgrade rule (the
// usual "Upgrade $http_upgrade" and "Connection $connection_upgrade") is the
// only one of its field that goes upstream, as in nginx, even when it
// evaluates empty. Two of either field would make backends such as Node's ws
// refuse the handshake.
func (h *Handler) appendUpgrade(b []byte, up string) []byte {
	if !h.setsConnection {
		b = append(b, "Connection: Upgrade\r\n"...)
	}
	if !h.setsUpgrade {
		b = append(b, "Upgrade: "...)
		b = append(b, up...)
		b = append(b, "\r\n"...)
	}
	return b
}

// forwardable reports whether the client's header field name goes upstream.
// Names compare without regard to case: they come as the client spelled them.
func (h *Handler) forwardable(name string, conn []string) bool {
	return !unforwarded.hasFold(name) && !containsFold(h.ruleNames, name) && (len(conn) == 0 || !namedIn(conn, name))
}

// blockSigs returns the foldSig bits of every name that may keep a client's
// field from going upstream (forwardable): the unforwarded ones,
// proxy_set_header's and those the client's Connection fields (conn) list.
// A field whose bit is not among them goes without a closer look. A
// Connection token with a byte outside ASCII (which namedIn's Unicode
// folding could match with an ASCII name of another length) sets every bit;
// the names looked up must be ASCII too (the client's: tokens).
func (h *Handler) blockSigs(conn []string) uint64 {
	b := unforwarded.sigs
	for _, n := range h.ruleNames {
		b |= foldSig(n)
	}
	for _, v := range conn {
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				return ^uint64(0)
			}
		}
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				b |= foldSig(tok)
			}
		}
	}
	return b
}

// containsFold reports whether list holds name, ignoring case. One side of
// each comparison is a token (a client's field name, or a literal), so
// folding ASCII only says what strings.EqualFold says (see
// nameSet.hasFold).
func containsFold(list []string, name string) bool {
	for _, s := range list {
		if equalFoldASCII(s, name) {
			return true
		}
	}
	return false
}

// sortedFields lists a header map's fields, sorted by name, for a request
// that came without its fields' order (vars.State.Fields nil).
func sortedFields(h http.Header) vars.HeaderList {
	var fields vars.HeaderList
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			fields = append(fields, vars.Field{Name: name, Value: v})
		}
	}
	return fields
}

// namedIn reports whether a Connection header's values name the field.
func namedIn(conn []string, name string) bool {
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), name) {
				return true
			}
		}
	}
	return false
}

// upgradeType returns the protocol a client asks to upgrade to, if its Connection
// header (conn, h's values of it) names Upgrade.
func upgradeType(conn []string, h http.Header) string {
	if namedIn(conn, "Upgrade") {
		return h.Get("Upgrade")
	}
	return ""
}

// appendTarget appends the request target per proxy_pass's URI rules. The query
// string is forwarded byte for byte. With variables in proxy_pass, a URI in the
// evaluated URL replaces the request URI as it is (nginx's rule); without one
// the client's URI is passed, or the URI a rewrite or an internal redirect
// made (appendRewritten).
func (h *Handler) appendTarget(b []byte, req *request) []byte {
	st := req.st
	if req.hasURI {
		return append(b, req.uri...)
	}
	if st.Rewritten {
		return h.uri.appendRewritten(b, st.Path, st.Args, st.WholeURI)
	}
	return append(b, h.uri.target(st.RequestURI, st.Path, st.Args)...)
}

// prepareBody applies proxy_pass_request_body and proxy_set_body, and
// decides whether an empty body is announced: as nginx's
// $proxy_internal_body_length, a Content-Length goes upstream when the
// client announced a body (its Content-Length, "0" included, or chunked
// framing) or proxy_set_body gives one, and none goes for a request without
// either, whatever its method (a GET with "Content-Length: 0" keeps it, a
// POST without one gets none; checked against nginx 1.22.1). A subrequest
// (auth_request, SSI, ...) has no body whatever its copy of the client's
// fields says: a length other than "0" there is the client's, sent only
// when the subrequest's body is an AnnouncedBody (auth_request's and a
// mirror's without its body, as nginx sends them).
func (h *Handler) prepareBody(req *request) {
	switch {
	case h.setBody != nil:
		body := h.setBody.String(req.st)
		req.body = &replayBody{buf: []byte(body), buffered: true, empty: body == ""}
	case !h.set.ProxyPassRequestBody:
		req.body = &replayBody{empty: true, buffered: true}
	}
	cl := req.lengths
	req.out.sendLength = h.setBody != nil || req.in.ContentLength != 0 || len(cl) == 1 && cl[0] == "0"
	req.out.userLength = h.setsLength
	if !h.setsLength {
		req.out.announced = req.body.announced
	}
}

package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"fulcrum/internal/cacherule"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/pace"
	"fulcrum/internal/vars"
)

// hiddenByDefault are the upstream response headers nginx does not pass to the
// client unless proxy_pass_header names them.
var hiddenByDefault = []string{"Date", "Server", "X-Pad", "X-Accel-Expires", "X-Accel-Redirect",
	"X-Accel-Limit-Rate", "X-Accel-Buffering", "X-Accel-Charset"}

// respond passes the upstream response in req.resp to the client: header
// fields (hop-by-hop and hidden ones removed, Location and Refresh rewritten
// per proxy_redirect), status, then the body, streamed, and its trailers. A
// 101 hands both connections over to a byte copy in each direction. An
// X-Accel-Redirect goes to the writer instead (accelRedirect). With
// proxy_intercept_errors on, an error status the writer has an error page for
// is answered with that page (interceptError), before any X-Accel-Redirect,
// as in nginx.
func (h *Handler) respond(req *request) {
	resp := &req.resp
	defer func() {
		// A body that came with the head (or none) ended when the head
		// did: no clock reading for it. An upgraded connection's exchange
		// lasts as long as its tunnel.
		end := req.cur.headAt
		if resp.upgraded || resp.received() != req.cur.headIn {
			end = h.now()
		}
		resp.closeAt(end)
		if req.target.Sticky != nil { // the common case skips the call
			h.learnSession(req, false)
		}
		h.finishAttempt(req, end)
	}()
	if h.set.ProxyInterceptErrors && resp.head.Status >= http.StatusMultipleChoices {
		h.accelCharset(req) // the page intercepting it carries the charset
		if h.interceptError(req) {
			return
		}
	}
	if h.accelRedirect(req) {
		return
	}
	if h.forceRanges {
		// proxy_force_ranges: nginx drops the upstream's Accept-Ranges
		// and lets its range filter cut any 200, one range at most
		// unless it comes from the cache.
		req.rangeable, req.acceptRanges = true, true
	} else if req.cache != nil && h.ranges != nil {
		h.rangeCheck(req)
	}
	if req.st.Body == nil && req.bodyStore.streamEnd {
		// A body streamed through whole before the response head
		// (proxy_request_buffering off) is $request_body for add_header
		// and the rest, as nginx 1.22.1 shows it (recorded:
		// add_header X-Body $request_body; with a 10-byte body).
		req.st.Body = req.bodyStore.variable(true)
	}
	if !h.copyHeader(req) {
		// A proxy_cookie_flags regex over its match bound: nginx's
		// ngx_http_upstream_process_headers fails the request with 500,
		// the fields copied so far on its page; the body is not read.
		resp.done = resp.body.Remaining() == 0
		fail(req.w, http.StatusInternalServerError, h.server)
		req.keepBody(false)
		return
	}
	if req.target.Sticky != nil {
		h.addStickyCookie(req)
		h.learnSession(req, true)
	}
	if rs := req.caps.reason; rs != nil {
		rs.SetReason(resp.head.Status, resp.head.Reason)
	}
	if ht := req.caps.headTimer; ht != nil {
		ht.SetHeadTime(req.cur.headAt)
	}
	if resp.upgraded {
		h.switchProtocols(req)
		return
	}
	status := resp.head.Status
	if un := req.caps.namer; un != nil {
		if resp.entry == nil && req.cur.srv != nil {
			un.NameUpstream(h.schemeOf(req), req.cur.srv.Name(), req.sentURI())
		} else {
			un.NameUpstream("", "", nil) // from the cache: none
		}
	}
	if hf := req.caps.filter; hf != nil {
		var ok bool
		if status, ok = hf.FilterHead(status); !ok {
			return // the writer ended the response; the upstream's is dropped
		}
	}
	if status == http.StatusOK && (req.fill != nil || resp.entry != nil || h.cacheable(req)) && h.answerConditional(req) {
		return
	}
	if req.acceptRanges && status == http.StatusOK {
		var ok bool
		if status, ok = h.cutRanges(req); !ok {
			return // a 416: the writer answered; the response is dropped
		}
	}
	// proxy_buffering, which the upstream's X-Accel-Buffering turns off
	// or on (unless proxy_ignore_headers lists it), decides how the body
	// goes out: nginx sends an unbuffered response as it comes, with no
	// limit_rate, whatever the location or the upstream says.
	req.buffered = h.set.ProxyBuffering
	if req.accelBuffering {
		req.buffered = cacherule.Buffered(headFields(&resp.head), h.set.ProxyBuffering, h.set.IgnoreAccelBuffering)
	}
	if !req.buffered {
		req.st.Unlimit()
	}
	if h.store != nil {
		h.startStore(req)
	}
	req.w.WriteHeader(status)
	if br := req.caps.refuser; br != nil && br.RefusedBody() {
		// Answered otherwise: the upstream's body is neither read nor
		// cached (the fill is dropped) nor stored.
		if req.store != nil {
			h.endStore(req, false)
		}
		return
	}
	err := h.copyBody(req)
	if req.store != nil {
		h.endStore(req, err == nil && resp.done && !resp.failed)
	}
	if err != nil {
		// The head is out: the only way to tell the client the body is cut
		// short is to end the connection without finishing it.
		panic(http.ErrAbortHandler)
	}
}

// HeadFilter is a ResponseWriter with a header filter that may change the
// status of an upstream's response before the proxy's own filters see it,
// as the daemon's slice module turns a slice's 206 into the 200 of the
// whole object, changing the fields in Header() to match; the
// not-modified filter of a cached response then applies to that 200, as
// in nginx, where the slice filter comes first. FilterHead is called once
// per response, once its fields are in Header() and before WriteHeader,
// which is then called with the status it returns. false means the writer
// ended the response itself (nginx's NGX_ERROR from a header filter: the
// connection closes): the proxy writes nothing more and drops the rest of
// the upstream's response.
type HeadFilter interface {
	FilterHead(status int) (int, bool)
}

// UpstreamNamer is a ResponseWriter that writes error log lines of its own
// about an upstream's response (the daemon's slice module): it is told,
// before FilterHead, the pieces of the "upstream:" URL the proxy's own
// lines name (scheme, server and the request target sent upstream, joined
// only if a line is written), and told of none (empty strings) for a
// response from the cache. uri is the proxy's own buffer, so that naming
// costs no allocation: it stays valid only until the response's head is
// written (WriteHeader returned), and a namer that keeps it longer must
// copy it.
type UpstreamNamer interface {
	NameUpstream(scheme, server string, uri []byte)
}

// BodyRefuser is a ResponseWriter whose header filters may answer the
// request otherwise in WriteHeader, as the daemon's slice module does when
// the client's range is not satisfiable in the object a slice was turned
// into (a 416 page). RefusedBody, asked right after WriteHeader, reports
// it: the proxy then neither reads nor caches the upstream's body and
// closes its connection, as nginx finalizes the request with the header
// filter's code (the slice's cache file is dropped).
type BodyRefuser interface {
	RefusedBody() bool
}

// HeadTimer is a ResponseWriter that dates the response's head (its Date
// field) from a clock reading the proxy already made, when the upstream's head
// arrived, instead of reading the clock again, as the daemon's engine does:
// nginx dates a response from its cached time, read once per event.
type HeadTimer interface {
	SetHeadTime(t time.Time)
}

// FieldPos places one field of a response header: its name as the upstream
// spelled it, the key it has in the http.Header map (canonical), and which of
// that key's values it is.
type FieldPos struct {
	Name  string
	Key   string
	Index int
}

// A ValueStore is a ResponseWriter that lends the storage for its header's
// values, reused from one response to the next, as the daemon's engine does:
// the proxy puts an upstream's values there instead of allocating them.
type ValueStore interface {
	// HeaderValues returns n empty strings that stay valid, and are not
	// reused, until the writer's next response.
	HeaderValues(n int) []string
}

// FieldOrderer is a ResponseWriter that can write the header's fields in a
// given order and spelling, as the daemon's engine does. The proxy hands it
// the upstream's: nginx passes an upstream's fields in the order received,
// names spelled as received. The writer must copy order, which the proxy
// reuses.
type FieldOrderer interface {
	SetFieldOrder(order []FieldPos)
}

// A FieldLister is a FieldOrderer that can also take a response's whole
// header as the list of its fields, as the daemon's engine does: it writes
// the head from the list and builds the http.Header map from it only when
// Header() is first asked for, from then on the map being the header, as
// for any other writer. The proxy lists a response's fields when the
// header was empty before them and each key has one value.
type FieldLister interface {
	FieldOrderer
	// SetFields makes the header, empty before, order's fields: order[i]
	// (Index 0, keys distinct, Name spelled as Key but for case) with the
	// one value values[i], each a value h1 parsed (no CR, LF or NUL) or
	// one the proxy made of it. values must be storage the writer lent
	// (ValueStore); the writer copies order, which the proxy reuses.
	// false means the writer did not take them: the caller fills
	// Header() and calls SetFieldOrder instead.
	SetFields(order []FieldPos, values []string) bool
}

// Continuer is a ResponseWriter that can send "100 Continue" to a client
// that asked for it and has had none yet (Continue does nothing otherwise).
// The proxy calls it where nginx reads the request body, which sends 100
// Continue first, also for a request without a body.
type Continuer interface {
	Continue() error
}

// ReasonSetter is a ResponseWriter that can send a given reason phrase, as the
// daemon's engine does. The proxy hands it the upstream's: nginx passes an
// upstream's status line as received ("HTTP/1.1 200 Fine Thanks" stays "200
// Fine Thanks"), where its own statuses take its own phrases. The writer uses
// reason only when the response goes out with status, and must copy it.
type ReasonSetter interface {
	SetReason(status int, reason []byte)
}

// copyHeader fills the client response's header from the upstream's, and
// keeps every upstream field for $upstream_http_NAME. Names and values of all
// fields share one string. When the writer is a FieldOrderer, it also learns
// the upstream's order and spelling. It reports false when a Set-Cookie
// field's proxy_cookie_flags regex went over its match bound: as nginx
// 1.22.1 copies the fields one by one and stops at the one whose copy
// handler fails, the client's header then has the fields before it and
// that Set-Cookie as received, none after it (recorded: "X-Before: 1",
// "Set-Cookie: ok=1", then the failed one on nginx's 500 page, and on an
// error_page 500's answer too).
func (h *Handler) copyHeader(req *request) (ok bool) {
	head := &req.resp.head
	req.typeSeen, req.eventStream = false, false // this response's, not an earlier one's
	// The list for $upstream_http_* is the State's, reused: no allocation.
	// Its strings are carved from the request's text arena (fieldStrings),
	// no allocation for most responses either.
	fields := req.fieldStrings(head.Headers, req.st.UpstreamFields())
	var values []string
	if vs := req.caps.values; vs != nil {
		values = vs.HeaderValues(len(head.Headers))
	} else {
		values = make([]string, len(head.Headers))
	}
	out := req.w.Header()
	orderer := req.caps.orderer
	order := req.order[:0]
	// listing: the fields go to the writer as a list (FieldLister), the
	// header map untouched, while each key has one value: values[j] is
	// order[j]'s then (j <= i, so the map's values[i] never overlap).
	// Anything else turns the list into the map (spill) and goes on there.
	lister := req.caps.lister
	listing := lister != nil
	// The Location proxy_redirect rewrote last, as its index among
	// out["Location"] and its place in order: the one nginx keeps as
	// headers_out.location (redirectLocation).
	locIndex, locPos := -1, -1
	// fresh says out had no fields before this response's: a name that
	// none of the fields before it had is not in out then, and needs no
	// look-up (namedBefore).
	fresh := len(out) == 0
	listing = listing && fresh && len(h.ownPassed) == 0
	// connField says the response has a Connection field: without one,
	// only the hop-by-hop names ask passed.
	connField := head.Connection
	ok = true
	for i := range head.Headers {
		f := &head.Headers[i]
		name, value := fields[i].Name, fields[i].Value
		if !ok {
			continue // $upstream_http_NAME has every field
		}
		switch name {
		case "X-Accel-Limit-Rate":
			h.accelLimitRate(req.st, value)
		case "X-Accel-Buffering":
			req.accelBuffering = true
		case "X-Accel-Charset":
			if !h.set.IgnoreAccelCharset {
				req.st.OverrideCharset = value // the charset filter's (the last wins)
			}
		case "Content-Type":
			if !req.typeSeen { // the first, as h1.Headers.Get finds it
				req.typeSeen, req.eventStream = true, isEventStreamText(value)
			}
		}
		if h.hide.has(name) || (connField || h1.IsHopByHop(f.Name)) && !h.passed(req, head, f.Name) {
			continue
		}
		if req.rangeable && name == "Accept-Ranges" {
			req.acceptRanges = true // the range filter writes its own
			continue
		}
		rewritten := false
		if len(h.redirects) > 0 && (name == "Location" || name == "Refresh") {
			value, rewritten = rewriteRedirect(h.redirects, name, value, req.st)
		}
		if h.cookies != nil && name == "Set-Cookie" {
			value, ok = h.cookies.rewrite(value, req.st)
		}
		if listing {
			if !namedBefore(fields[:i], name) && !(rewritten && name == "Location") {
				if name == "Content-Length" {
					value = canonicalLength(value)
				}
				values[len(order)] = value
				order = append(order, FieldPos{Name: req.sentName(i, name, f.Name), Key: name})
				continue
			}
			spill(out, order, values)
			listing = false
		}
		var prev []string
		had := false
		if !fresh || namedBefore(fields[:i], name) {
			prev, had = out[name]
		}
		if name == "Content-Length" {
			// nginx keeps one length (headers_out.content_length_n) and
			// writes it as a number: h1 let only equal values through, so
			// a repeated field goes out once, and "002" as "2".
			if had {
				continue
			}
			value = canonicalLength(value)
		}
		index := 0
		if had && name == "Content-Type" {
			// One value, as nginx's headers_out.content_type: an
			// X-Accel-Redirect's kept one gives way to this response's.
			values[i] = value
			out[name] = values[i : i+1 : i+1]
		} else if had {
			index = len(prev)
			out[name] = append(prev[:len(prev):len(prev)], value)
		} else {
			values[i] = value
			out[name] = values[i : i+1 : i+1]
		}
		if rewritten && name == "Location" {
			locIndex, locPos = index, len(order)
		}
		if orderer != nil {
			order = append(order, FieldPos{Name: req.sentName(i, name, f.Name), Key: name, Index: index})
		}
	}
	if listing && !lister.SetFields(order, values[:len(order)]) {
		spill(out, order, values)
		listing = false
	}
	if locIndex >= 0 {
		order = h.redirectLocation(req, locIndex, locPos, order)
	}
	req.order = order
	if orderer != nil && !listing {
		orderer.SetFieldOrder(order)
	}
	req.st.SetUpstreamFields(fields)
	for _, name := range h.ownPassed {
		if _, sent := out[name]; !sent {
			// proxy_pass_header Server (Date): nginx 1.22.1 writes
			// none of its own, whether the upstream sent one or not
			// (recorded); an empty entry tells the writer so.
			out[name] = []string{}
		}
	}
	return ok
}

// fieldStrings appends to fields, for each of hs's fields in order, its
// name in canonical form and its value as strings that share their bytes
// with req.arena (fieldText's). When the fields lie in the head h1 read
// (req.resp.head.Raw), as a parsed head's do, their region of it ("Name:
// value" lines) is copied whole, one copy, and names not canonical are
// made so in the copy; the name as received is then the field's own
// (sentName). Otherwise each field's text is copied as fieldText does.
func (req *request) fieldStrings(hs h1.Headers, fields vars.HeaderList) vars.HeaderList {
	if len(hs) == 0 {
		return fields
	}
	raw := req.resp.head.Raw()
	last := hs[len(hs)-1].Value
	lo, hi := within(raw, hs[0].Name), within(raw, last)
	if lo < 0 || hi < lo {
		return req.fieldCopies(hs, fields)
	}
	hi += len(last)
	region := raw[lo:hi]
	text := req.arena[:0]
	if cap(text) < minArenaFree {
		text = make([]byte, 0, arenaChunk)
	}
	text = append(text, region...)
	// Each field's name and value, checked to lie in region, are at the
	// same offsets in the copy.
	base, size := uintptr(unsafe.Pointer(unsafe.SliceData(region))), uintptr(len(region))
	copied := unsafe.Pointer(unsafe.SliceData(text))
	start := len(fields)
	fields = slices.Grow(fields, len(hs))[:start+len(hs)]
	fs := fields[start:]
	var renamed uint64
	for i := range fs {
		f := &hs[i]
		n := uintptr(unsafe.Pointer(unsafe.SliceData(f.Name))) - base
		v := uintptr(unsafe.Pointer(unsafe.SliceData(f.Value))) - base
		if n > size || uintptr(len(f.Name)) > size-n || v > size || uintptr(len(f.Value)) > size-v {
			return req.fieldCopies(hs, fields[:start]) // the arena as before
		}
		name := unsafe.Slice((*byte)(unsafe.Add(copied, n)), len(f.Name))
		if h1.Canonicalize(name) || i >= 64 {
			renamed |= 1 << (i & 63)
		}
		fs[i] = vars.Field{
			Name:  unsafe.String(&name[0], len(name)),
			Value: unsafe.String((*byte)(unsafe.Add(copied, v)), len(f.Value)),
		}
	}
	req.arena = text[len(text):]
	req.renamed = renamed
	return fields
}

// within returns where b lies in buf, as an offset, or -1 when b is not
// wholly inside buf.
func within(buf, b []byte) int {
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	if off > uintptr(len(buf)) || uintptr(len(b)) > uintptr(len(buf))-off {
		return -1
	}
	return int(off)
}

// fieldCopies is fieldStrings for fields that do not lie in the head h1
// read: each field's text is copied (fieldText).
//
//go:noinline
func (req *request) fieldCopies(hs h1.Headers, fields vars.HeaderList) vars.HeaderList {
	s, off := req.fieldText(hs), 0
	req.renamed = ^uint64(0) // sentName compares
	for _, f := range hs {
		var name, value string
		name, _, value, off = h1.FieldText(s, off, f)
		fields = append(fields, vars.Field{Name: name, Value: value})
	}
	return fields
}

// sentName returns the name the upstream's field i was received with,
// whose canonical form is name: name itself when the two are spelled alike
// (fieldStrings left it as it was), else a copy in req.arena.
func (req *request) sentName(i int, name string, received []byte) string {
	if req.renamed>>(i&63)&1 == 0 || name == string(received) { // compared without allocating
		return name
	}
	return req.copyName(received)
}

// copyName is sentName's copy of a name not received in canonical form.
//
//go:noinline
func (req *request) copyName(received []byte) string {
	text := req.arena[:0]
	if cap(text) < len(received) {
		text = make([]byte, 0, arenaChunk)
	}
	text = append(text, received...)
	req.arena = text[len(text):]
	return unsafe.String(unsafe.SliceData(text), len(text))
}

// fieldText returns the text h1.Headers.AppendText writes for hs as a
// string that shares its bytes with req.arena, an append-only arena: the
// text is written past the bytes earlier strings took, and req.arena keeps
// only the free tail after it, so no byte a string holds is ever written
// again (a string outlives the request in $upstream_http_NAME's users:
// the access log, sticky learn, keyval). A tail shorter than
// minArenaFree is left to the strings that hold it and a new chunk of
// arenaChunk bytes taken, so one allocation serves the heads of several
// responses instead of one each; a longer head makes append take a larger
// array, which its string keeps.
func (req *request) fieldText(hs h1.Headers) string {
	text := req.arena[:0]
	if cap(text) < minArenaFree {
		text = make([]byte, 0, arenaChunk)
	}
	text = hs.AppendText(text)
	req.arena = text[len(text):]
	return unsafe.String(unsafe.SliceData(text), len(text))
}

// arenaChunk and minArenaFree size fieldText's chunks: a small head's text
// (three fields, about 80 bytes) takes a chunk for a dozen responses.
const (
	arenaChunk   = 1 << 10
	minArenaFree = 256
)

// spill puts the fields copyHeader listed so far, order's with values[j]
// for order[j], in the header map out, as it would have put them there.
func spill(out map[string][]string, order []FieldPos, values []string) {
	for j, p := range order {
		out[p.Key] = values[j : j+1 : j+1]
	}
}

// namedBefore reports whether one of fields (the upstream's before the one
// being copied) is name, or may be: past maxNamedBefore fields it says so
// without looking, as a map look-up then costs less than the walk.
func namedBefore(fields vars.HeaderList, name string) bool {
	if len(fields) > maxNamedBefore {
		return true
	}
	for i := range fields {
		if fields[i].Name == name {
			return true
		}
	}
	return false
}

// maxNamedBefore is how many fields namedBefore walks at most.
const maxNamedBefore = 24

// redirectLocation finishes the Location that proxy_redirect rewrote last,
// out["Location"][index], whose place is order[pos] (when there is an order).
// nginx 1.22.1 keeps only that one as headers_out.location (each rewrite
// replaces the one before), and its header filter makes it absolute when it
// starts with "/" and absolute_redirect is on, and writes it in its own
// place after Content-Length; every other Location, rewritten or not, stays
// as it is where the upstream put it (recorded with two Location fields).
// That one then moves to the end of out["Location"], out of order: the
// writer sends a Location value the order does not place with the front
// fields. It returns the order.
func (h *Handler) redirectLocation(req *request, index, pos int, order []FieldPos) []FieldPos {
	out := req.w.Header()
	locs := out["Location"]
	value := locs[index]
	if !h.set.AbsoluteRedirect || !strings.HasPrefix(value, "/") {
		return order
	}
	value = req.st.AbsoluteURL(value, h.set.PortInRedirect, h.set.ServerNameInRedirect)
	copy(locs[index:], locs[index+1:])
	locs[len(locs)-1] = value
	if pos < 0 || pos >= len(order) {
		return order
	}
	order = append(order[:pos], order[pos+1:]...)
	for i := range order {
		if order[i].Key == "Location" && order[i].Index > index {
			order[i].Index--
		}
	}
	return order
}

// canonicalLength writes a Content-Length value of digits without its
// leading zeros; any other value is returned as it is.
// The usual value, without a leading zero, is tested in line: copyHeader
// calls it for every Content-Length.
func canonicalLength(v string) string {
	if v == "" || v[0] != '0' || len(v) == 1 {
		return v
	}
	return canonicalDigits(v)
}

// canonicalDigits is canonicalLength for a value with a leading zero.
func canonicalDigits(v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return v
	}
	return strconv.FormatInt(n, 10)
}

// passed reports whether an upstream field goes to the client as far as
// hop-by-hop rules go: never the hop-by-hop ones or those its Connection
// header names, except the Upgrade field of a 101 (whose Connection field is
// fulcrum's own, see switchProtocols) and the Trailer announcement, which
// nginx 1.22 passes on whatever the framing (with Content-Length too, and to
// an HTTP/1.0 client); a chunked body's trailers are passed on after it
// under proxy_pass_trailers on.
func (h *Handler) passed(req *request, head *h1.Response, name []byte) bool {
	if !head.Headers.HopByHop(name) {
		return true
	}
	if req.resp.upgraded {
		return h1.EqualFold(name, "Upgrade")
	}
	return h1.EqualFold(name, "Trailer")
}

// copyBody streams the body to the client through a pooled buffer. It
// flushes after every piece when the response should not wait (read
// unbuffered: proxy_buffering off or X-Accel-Buffering: no; a body of
// unknown length, an event stream), as nginx and net/http's ReverseProxy
// do; proxy_limit_rate paces only a buffered one. A non-nil error means the response could not be completed:
// the upstream failed (already logged) or the client went away.
func (h *Handler) copyBody(req *request) error {
	resp := &req.resp
	w := req.w
	head := &resp.head
	// A HEAD answer that has a body all the same (the cache's, or the
	// upstream's to a HEAD turned GET) goes to a writer that wants it.
	skip := req.in.Method == http.MethodHead && !(head.Framing != h1.NoBody && wantsHeadBody(w))
	if req.fill != nil {
		req.fillBody = head.Framing != h1.NoBody
		if skip && req.fillBody {
			err := h.fillOnly(req)
			req.fillDone = err == nil
			return err
		}
	}
	if head.Framing == h1.NoBody || skip {
		resp.done = head.Framing == h1.NoBody || resp.body.Done()
		req.fillDone = resp.done
		return nil
	}
	if req.cut != nil && resp.entry != nil {
		return h.copyEntryCut(req)
	}
	cw := req.caps.out
	if req.cut != nil {
		cw = req.cut.Stream(w) // one range: the response is read in order
	}
	if req.fill != nil {
		cw = fillWriter{w: cw, fl: req.fill}
		defer func() { req.fillDone = resp.done && !resp.failed }()
	}
	if req.store != nil {
		cw = storeTee{w: cw, s: req.store}
	}
	flush := !req.buffered || head.Framing != h1.LengthBody || req.eventStream // copyHeader saw the Content-Type
	var flusher http.Flusher
	if flush {
		flusher, _ = w.(http.Flusher)
	}
	if n, ok, err := resp.writeBuffered(cw); ok {
		req.cur.n += n
		if err == nil && flusher != nil {
			flusher.Flush()
		}
		if err == nil {
			h.warnExtra(req)
		}
		return err
	}
	return h.copyStream(req, cw, flusher)
}

// copyStream is copyBody's loop, for a body not read whole with the head:
// it goes to cw through a pooled buffer, paced by proxy_limit_rate, and
// flushed piece by piece when flusher is set; the trailers follow. It is a
// function of its own so that copyBody's defers stay open-coded: with all
// of them in one function, every response paid for a deferreturn walk
// (about 90 instructions), even one read whole with its head.
func (h *Handler) copyStream(req *request, cw io.Writer, flusher http.Flusher) error {
	resp := &req.resp
	w := req.w
	bp := h.buffers.Get()
	defer h.buffers.Put(bp)
	buf := *bp
	var pacer *pace.Pacer // proxy_limit_rate's; nil without one
	if h.set.ProxyLimitRate > 0 && req.buffered {
		pacer = &pace.Pacer{Limit: pace.Limit{Rate: h.set.ProxyLimitRate, Start: req.cur.headAt}, Clock: h.now}
		defer pacer.Stop()
	}
	var read int64
	for {
		p := buf
		if pacer != nil {
			// A client that went away during the pause fails the read
			// below, which tells it as such (499).
			p = h.paceRead(req, pacer, buf, read)
		}
		n, err := resp.Read(p)
		read += int64(n)
		req.cur.n += int64(n)
		if n > 0 {
			if _, werr := cw.Write(buf[:n]); werr != nil {
				if req.ctx.Err() != nil {
					h.logClientGone(req, req.cur.srv.Name(), errlog.ActionBody)
				}
				return h.fillAfterClient(req, werr)
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err == io.EOF {
			h.warnExtra(req)
			break
		}
		if err != nil {
			h.bodyReadFailed(req, err)
			return err
		}
	}
	if tr := resp.body.Trailers(); len(tr) > 0 && h.set.ProxyPassTrailers {
		out := w.Header()
		ta, ordered := req.w.(TrailerAdder)
		for _, f := range tr {
			name := string(h1.AppendCanonical(nil, f.Name))
			if h.hide.has(name) {
				continue // as nginx: proxy_hide_header's list applies to trailers too
			}
			if ordered {
				ta.AddTrailer(name, string(f.Value))
				continue
			}
			out[http.TrailerPrefix+name] = append(out[http.TrailerPrefix+name], string(f.Value))
		}
	}
	return nil
}

// paceRead returns the part of buf the next read of the body may fill under
// proxy_limit_rate (pacer), after read bytes, first waiting as long as
// nothing may be read. Before a wait, what the client's writer holds goes
// out. When the client goes away during a wait, it returns buf at once.
func (h *Handler) paceRead(req *request, pacer *pace.Pacer, buf []byte, read int64) []byte {
	for {
		n, wait := pacer.Allow(read, pacer.Now())
		if n > 0 {
			return buf[:min(n, int64(len(buf)))]
		}
		if f, ok := req.w.(http.Flusher); ok {
			f.Flush()
		}
		if err := pacer.Wait(req.in.Context(), wait); err != nil {
			return buf
		}
	}
}

// accelLimitRate applies an upstream's X-Accel-Limit-Rate
// (vars.State.AccelLimitRate) unless proxy_ignore_headers lists it.
func (h *Handler) accelLimitRate(st *vars.State, value string) {
	if !h.set.IgnoreAccelLimitRate {
		st.AccelLimitRate(value)
	}
}

// bodyReadFailed logs an upstream that failed in the middle of a body. A client
// that went away cancels the read: not the upstream's fault, and not worth an
// error line. It is logged as 499 only while none of the body was passed on:
// nginx keeps the status it sent once it sent something (ngx_http_terminate_request
// sets 499 only on a connection that sent nothing).
func (h *Handler) bodyReadFailed(req *request, err error) {
	req.cur.readErr = true
	if req.ctx.Err() != nil {
		if req.cur.n == 0 {
			req.st.Status = 499
		}
		if req.cur.srv != nil { // not a cache entry's read: no upstream
			h.logClientGone(req, req.cur.srv.Name(), errlog.ActionBody)
		}
		return
	}
	msg := "upstream prematurely closed connection while reading upstream"
	if errlog.IsTimeout(err) {
		msg = errBodyTimeout.Error()
	}
	req.log.LogRequest(errlog.Error, req.logRequest(req.upstreamURL(h.schemeOf(req), req.cur.srv.Name())), msg)
}

// warnExtra logs nginx 1.22.1's warning for an upstream that sent more than
// its Content-Length (recorded, buffered or not: "upstream sent more data
// than specified in "Content-Length" header while reading upstream") when
// bytes past a length-delimited body came with its last ones. They are
// dropped: the body ends at its length, and the connection is not reused.
func (h *Handler) warnExtra(req *request) {
	resp := &req.resp
	if resp.pc == nil || resp.head.Framing != h1.LengthBody || resp.pc.rbuf.Buffered() == 0 || req.cur.srv == nil {
		return
	}
	req.log.LogRequest(errlog.Warn, req.logRequest(req.upstreamURL(h.schemeOf(req), req.cur.srv.Name())),
		`upstream sent more data than specified in "Content-Length" header while `+errlog.ActionBody)
}

// isEventStream reports a text/event-stream content type (copyHeader asks
// isEventStreamText of the value's text).
func isEventStream(ct []byte) bool { return isEventStreamText(string(ct)) }

// isEventStreamText is isEventStream of a value as text (copyHeader's).
// The common short types are told in line, without a call.
func isEventStreamText(ct string) bool {
	return len(ct) >= len("text/event-stream") && isEventStreamLong(ct)
}

// isEventStreamLong is isEventStreamText for a value long enough to be one.
func isEventStreamLong(ct string) bool {
	ct = strings.TrimSpace(ct)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	return equalFoldASCII(ct, "text/event-stream")
}

// errUpgradeMismatch is a backend switching to another protocol than the one
// the client asked for.
var errUpgradeMismatch = errors.New("backend tried to switch to a protocol other than the one requested")

// switchProtocols completes an upgrade: the 101 goes to the client, then bytes
// are copied both ways until either side closes. The client connection is
// taken over from the server (and tracked by the daemon for shutdown).
func (h *Handler) switchProtocols(req *request) {
	resp := &req.resp
	if got := string(resp.head.Headers.Get("Upgrade")); !strings.EqualFold(got, req.upgrade) {
		req.log.LogRequest(errlog.Error, req.logRequest(req.upstreamURL(h.schemeOf(req), req.cur.srv.Name())), errUpgradeMismatch.Error())
		req.cur.readErr = true
		clear(req.w.Header())
		fail(req.w, http.StatusBadGateway, h.server)
		return
	}
	// nginx's header filter writes its own "Connection: upgrade" for a 101,
	// whatever the upstream's Connection field said.
	req.w.Header()["Connection"] = []string{"upgrade"}
	req.w.WriteHeader(http.StatusSwitchingProtocols)
	client, brw, err := http.NewResponseController(req.w).Hijack()
	if err != nil {
		req.log.LogRequest(errlog.Error, req.logRequest(""), "cannot take over the client connection: "+err.Error())
		return
	}
	defer client.Close()
	backend := resp.pc
	resp.watch.End() // the client's context no longer governs the upgraded stream
	_ = client.SetDeadline(time.Time{})
	_ = backend.c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	idle := &tunnelIdle{timeout: resp.readTimeout}
	idle.touch()
	go func() {
		// What the client sent after its request head is in brw's reader.
		_, _ = io.Copy(backend.c, idle.counting(brw.Reader))
		closeWrite(backend.c)
		done <- struct{}{}
	}()
	go func() {
		if idle.copyFromUpstream(client, backend.rbuf.Reader(), backend.c) {
			req.log.LogRequest(errlog.Info, req.logRequest(req.upstreamURL(h.schemeOf(req), req.cur.srv.Name())),
				"upstream timed out (110: Connection timed out) while proxying upgraded connection")
		}
		closeWrite(client)
		done <- struct{}{}
	}()
	<-done
	// One side ended: end the other too.
	client.Close()
	backend.c.Close()
	<-done
	backend.close() // both copies are done: the read buffer may go back
}

// tunnelIdle is proxy_read_timeout over an upgraded connection, as nginx's
// ngx_http_upstream_process_upgraded arms it: the tunnel ends when nothing
// went through it, either way, for the timeout (each event re-arms the
// upstream's read timer). Recorded with nginx 1.22.1 and proxy_read_timeout
// 1s: an idle WebSocket closed after 1 s, one the client pinged every 0.6 s
// 1 s after the last ping, logged at info "upstream timed out (110:
// Connection timed out) while proxying upgraded connection". A timeout <= 0
// never ends it.
type tunnelIdle struct {
	timeout time.Duration
	last    atomic.Int64 // unix nanoseconds of the last bytes either way
}

func (t *tunnelIdle) touch() { t.last.Store(time.Now().UnixNano()) }

// counting returns r, whose reads touch t.
func (t *tunnelIdle) counting(r io.Reader) io.Reader { return idleReader{r: r, t: t} }

type idleReader struct {
	r io.Reader
	t *tunnelIdle
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.touch()
	}
	return n, err
}

// copyFromUpstream copies the upstream's bytes (read through br, from c)
// to dst until either ends, or until the tunnel was idle for the timeout,
// which it reports.
func (t *tunnelIdle) copyFromUpstream(dst io.Writer, br io.Reader, c net.Conn) (timedOut bool) {
	bp := make([]byte, 32<<10)
	for {
		if t.timeout > 0 {
			_ = c.SetReadDeadline(time.Unix(0, t.last.Load()).Add(t.timeout))
		}
		n, err := br.Read(bp)
		if n > 0 {
			t.touch()
			if _, werr := dst.Write(bp[:n]); werr != nil {
				return false
			}
		}
		if err != nil {
			if t.timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				if time.Since(time.Unix(0, t.last.Load())) < t.timeout {
					continue // the client's bytes kept the tunnel alive
				}
				return true
			}
			return false
		}
	}
}

// closeWrite half-closes a connection when it can, so the peer sees the end of
// the stream while the other direction finishes.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// BodyForHead is implemented by a writer that wants a HEAD answer's body
// all the same: nginx's image filter reads the body the cache serves or
// fills for a HEAD (proxy_cache_convert_head) to size the answer, whose
// fields are then those of the filtered image. The writer sends no body
// for a HEAD.
type BodyForHead interface {
	BodyForHead() bool
}

// wantsHeadBody reports whether w wants a HEAD answer's body (BodyForHead).
func wantsHeadBody(w http.ResponseWriter) bool {
	bh, ok := w.(BodyForHead)
	return ok && bh.BodyForHead()
}

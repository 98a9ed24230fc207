package daemon

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/pace"
	"fulcrum/internal/proxy"
	"fulcrum/internal/vars"
)

// respWriter is the engine's http.ResponseWriter: it serialises the response
// head with h1 into the connection's buffered writer and frames the body
// itself (Content-Length when the handler set one or when the whole body is
// known before the head goes out, chunked for HTTP/1.1 otherwise, and the end
// of the connection for HTTP/1.0). One respWriter per connection is reset for
// each request, header map included, so a steady keep-alive connection
// allocates no writer per request.
//
// It also offers what http.ResponseController looks for (Flush, Hijack,
// SetReadDeadline, SetWriteDeadline), which the proxy, send_timeout,
// client_body_timeout and upgrades use.
type respWriter struct {
	cc     *clientConn
	header http.Header
	keys   []string // header names being written, reused
	// order is the handler's field order and spelling (SetFieldOrder: the
	// proxy's, from the upstream), for this response; inOrder counts, while
	// the head is written, how many of each key's values went out in that
	// order. Both are reused.
	order   []proxy.FieldPos
	inOrder []keyCount
	// values is the storage HeaderValues lends for the header's values.
	values []string

	status    int  // the status the head goes out with; 0 before WriteHeader
	committed bool // the head is in the buffered writer
	head      bool // the request is HEAD: no body bytes go out
	noBody    bool // the status carries no body (1xx, 204, 304)
	hijacked  bool
	dropped   bool // the connection closes without an answer (drop)
	// asList says the header is the list SetFields took (order, each
	// field's one value at values[listFrom+i]) with the Server value
	// listServer put at values[serverAt-1] (serverAt 0: none), and, once
	// the head is out, the Connection it said (connSent): header, empty,
	// is built from them when Header() is first asked for (buildHeader).
	asList   bool
	connSent connValue

	// reason is the reason phrase SetReason gave for status reasonFor (an
	// upstream's); a head with another status takes h1.ReasonPhrase. Reused.
	reason    []byte
	reasonFor int
	// headTime is the clock reading the head is dated from (SetHeadTime);
	// zero reads the clock.
	headTime time.Time

	// Framing of the body, decided when the head is committed.
	chunked   bool
	declared  int64 // Content-Length the head announced; -1 when none
	written   int64 // body bytes accepted so far
	closeConn bool  // the connection ends after this response
	// kaMin is keepalive_min_timeout in milliseconds (the location's; 0
	// until the request path gives it): a graceful stop keeps the
	// connection alive after this response, and open for this long while
	// it waits for the next. An int32 in closeConn's padding keeps
	// clientConn within its size class (structsize_internal_test.go).
	kaMin int32
	// kaTimeout and kaHeader are keepalive_timeout's values for this
	// response: the listener's until the request path gives the location's
	// (keepalive). kaTimeout 0 closes the connection after the response, and
	// is also how long the connection then waits for the next request
	// (waitRequest), as nginx's ngx_http_set_keepalive takes the request's
	// location's; kaHeader > 0 sends "Keep-Alive: timeout=N".
	kaTimeout, kaHeader time.Duration

	// pending holds body bytes written before the head was committed, while
	// the whole body may still fit (then it gets a Content-Length).
	pending []byte
	trailer []string // names announced in the Trailer header
	// expect marks a response framed chunked for add_trailer
	// (expectTrailers); tfields are the trailer fields added, name and
	// value in turn (addTrailer). Both are reset per response.
	expect bool
	// listFrom and serverAt place the listed header's values in values
	// (asList); valuesFrom is where HeaderValues' last strings begin.
	listFrom, valuesFrom int32
	tfields              []string
	// streamed frames the body chunked even when all of it fits the
	// buffer, as nginx sends a body whose length it did not know before
	// the head (lengthUnknown).
	streamed bool
	// noChunk is chunked_transfer_encoding off for this response
	// (noChunking): a body of unknown length goes out up to the close.
	noChunk  bool
	serverAt int32
	err      error  // the first write error: the client is gone
	hdrBuf   []byte // the head being serialised, reused

	// sent counts the response's bytes taken by the buffered writer (heads,
	// body and its framing); headLen is the final head's share
	// ($bytes_sent, $body_bytes_sent: sentBytes).
	sent, headLen int64
	// finished records that finish ran, and keep what it reported: the
	// request path finishes the response before its log line, the engine
	// asks again after the handler.
	finished, keep bool
	// gzipVary and gzipped are the gzip filter's marks (gzipFields).
	gzipVary, gzipped bool
	// locationListed puts fulcrum's own Location among the other fields
	// (after Connection), where nginx's header filter leaves one it did
	// not make absolute from a "/" (an empty one, a URL, absolute_redirect
	// off); see frontFields.
	locationListed bool
	// closing is how the connection ends if this response closes it: the
	// location's lingering and reset settings (keepalive, closeAs); nil
	// takes the listener's default server's.
	closing *config.Closing
	// pacer paces this response's body (limit_rate: paceAt, writePaced);
	// its Rate is 0 for a response without a limit, which then costs
	// writeBody one field check. Its timer is kept from one response to
	// the next.
	pacer pace.Pacer
}

// maxPending is how much body fulcrum holds back to send a Content-Length
// instead of chunked framing (net/http holds 2 KiB; errors pages and short
// answers fit in 4).
const maxPending = 4 << 10

// errDropped is a write after the handler chose to close the connection
// without an answer (drop).
var errDropped = errors.New("the connection is closing without an answer")

// serverEnded implements endWatcher: the request's mirror subrequests
// outlive its client, not the server.
func (w *respWriter) serverEnded() context.Context { return w.cc.srv.endedContext() }

// drop has the connection close without an answer, nothing of this response
// sent: nginx's "return 444". Bytes already sent stay sent.
func (w *respWriter) drop() {
	w.dropped, w.closeConn = true, true
}

// errBodyTooLong is a handler writing more than its Content-Length said.
var errBodyTooLong = errors.New("response body longer than its Content-Length")

// reset prepares w for the next request on the connection.
func (w *respWriter) reset(head bool) {
	clear(w.header)
	w.status, w.committed, w.head, w.noBody, w.hijacked, w.dropped = 0, false, head, false, false, false
	w.reason, w.reasonFor = w.reason[:0], 0
	w.headTime = time.Time{}
	w.chunked, w.declared, w.written, w.closeConn = false, -1, 0, false
	if w.cc != nil {
		w.kaTimeout, w.kaHeader = w.cc.srv.lim.keepaliveTimeout, w.cc.srv.lim.keepaliveHeader
		w.kaMin = 0
	}
	w.pending = w.pending[:0]
	w.trailer = w.trailer[:0]
	w.expect = false
	w.streamed, w.noChunk = false, false
	clear(w.tfields)
	w.tfields = w.tfields[:0]
	w.err = nil
	if w.cc != nil {
		w.cc.out.timeout, w.cc.out.fixed = w.cc.srv.lim.sendTimeout, false
	}
	w.sent, w.headLen, w.finished, w.keep = 0, 0, false, false
	w.closing = nil
	w.pacer.Rate = 0
	w.gzipVary, w.gzipped, w.locationListed = false, false, false
	clearFew(w.order) // the strings may go
	w.order = w.order[:0]
	clearFew(w.values)
	w.values = w.values[:0]
	w.asList, w.connSent, w.listFrom, w.valuesFrom, w.serverAt = false, connNone, 0, 0, 0
}

// clearFew sets s's elements to their zero value, as clear does, element
// by element: for the few fields of a response that costs less than
// clear's call into the runtime, which a range loop over s would compile
// to as well.
func clearFew[T any](s []T) {
	var zero T
	for i := 0; i < len(s); i++ {
		s[i] = zero
	}
}

// HeaderValues implements proxy.ValueStore: n empty strings for this
// response's header values, on storage reused by the next response (which
// clears the header first). Within one response each call gets its own
// strings (an error_page may proxy a second time).
func (w *respWriter) HeaderValues(n int) []string {
	w.Header() // a listed header's values stay where they are
	start := len(w.values)
	if start+n > cap(w.values) {
		// New storage; the old stays with the slices handed out from it.
		w.values, start = make([]string, 0, max(2*cap(w.values), n, 16)), 0
	}
	w.values = w.values[:start+n]
	w.valuesFrom = int32(start)
	return w.values[start : start+n : start+n]
}

// SetFields implements proxy.FieldLister: the header, empty, becomes
// order's fields with values (HeaderValues' last strings), kept as a list
// until Header() is asked for. It declines what writeListed would not
// write as appendFields does: a Transfer-Encoding (the framing is the
// engine's), and values that are not its storage.
func (w *respWriter) SetFields(order []proxy.FieldPos, values []string) bool {
	from := int(w.valuesFrom)
	if w.asList || len(w.header) != 0 || len(values) != len(order) ||
		len(values) > 0 && (from+len(values) > len(w.values) || &values[0] != &w.values[from]) {
		return false
	}
	for i := range order {
		if order[i].Index != 0 || order[i].Key == "Transfer-Encoding" {
			return false
		}
	}
	w.order = append(w.order[:0], order...)
	w.asList, w.listFrom = true, w.valuesFrom
	return true
}

// listServer gives a listed header the Server field v, one of fulcrum's
// own (serverHeader's), as the recorder's header filter does, unless the
// list has one (proxy_pass_header Server). false means the header is not
// listed, or v is another value: Header() is the way.
func (w *respWriter) listServer(v string) bool {
	if !w.asList || v != serverTokensOn[0] && v != serverTokensOff[0] || w.listIndex("Server") >= 0 {
		return false
	}
	w.values = append(w.values, v)
	w.serverAt = int32(len(w.values))
	return true
}

// listIndex is key's place in a listed header's order, or -1.
func (w *respWriter) listIndex(key string) int {
	for i := range w.order {
		if w.order[i].Key == key {
			return i
		}
	}
	return -1
}

// listValue is a listed header's values of key (one, or none).
func (w *respWriter) listValue(key string) []string {
	if i := w.listIndex(key); i >= 0 {
		i += int(w.listFrom)
		return w.values[i : i+1 : i+1]
	}
	return nil
}

// buildHeader turns a listed header into the header map, which is the
// header from then on.
//
//go:noinline
func (w *respWriter) buildHeader() {
	w.asList = false
	h, vals := w.header, w.values[w.listFrom:]
	for i, p := range w.order {
		h[p.Key] = vals[i : i+1 : i+1]
	}
	if i := w.serverAt; i > 0 {
		h["Server"] = w.values[i-1 : i : i]
	}
	switch w.connSent {
	case connKeepAlive:
		h["Connection"] = connectionKeepAlive
	case connClose:
		h["Connection"] = connectionClose
	}
	w.serverAt, w.connSent = 0, connNone // the map has them now
}

// sentFields is the response header as $sent_http_NAME reads it: the
// writer's, built from its list when asList.
type sentFields respWriter

// Lookup implements vars.Headers.
func (s *sentFields) Lookup(name string, from int) (string, int, bool) {
	return vars.HeaderMap((*respWriter)(s).Header()).Lookup(name, from)
}

// sentHeader is the header $sent_http_NAME reads.
func (w *respWriter) sentHeader() vars.Headers { return (*sentFields)(w) }

// SetFieldOrder implements proxy.FieldOrderer: the response's fields go out in
// order's order and spelling (after the ones the engine puts first), the rest
// after them. It copies order.
func (w *respWriter) SetFieldOrder(order []proxy.FieldPos) {
	w.Header() // a listed header's map is built from its order first
	w.order = append(w.order[:0], order...)
}

// SetReason implements proxy.ReasonSetter: a head with status goes out with
// reason, copied, instead of fulcrum's phrase. A reason with a CR, LF or NUL
// is not taken (fulcrum's phrase goes out): it would end or corrupt the
// status line.
func (w *respWriter) SetReason(status int, reason []byte) {
	if status == http.StatusOK && string(reason) == "OK" {
		w.reasonFor = 0 // fulcrum's phrase is the same: nothing to copy
		return
	}
	if !safeValue(reason) {
		return
	}
	w.reason = append(w.reason[:0], reason...)
	if w.reason == nil {
		w.reason = []byte{} // nil would mean "fulcrum's phrase" to h1
	}
	w.reasonFor = status
}

// SetHeadTime implements proxy.HeadTimer: the head's Date is t's (when the
// upstream's head arrived), without another clock reading.
func (w *respWriter) SetHeadTime(t time.Time) { w.headTime = t }

// Continue implements proxy.Continuer: it sends the 100 Continue a client that
// sent "Expect: 100-continue" waits for, once, before the final head; nginx
// sends it wherever it reads or discards the request body, a bodiless one
// included (ngx_http_test_expect). Without a pending expectation it does
// nothing.
func (w *respWriter) Continue() error {
	if !w.cc.body.expect || w.status != 0 {
		return nil
	}
	return w.cc.body.sendContinue()
}

// reasonPhrase is the reason phrase of a head with status code.
func (w *respWriter) reasonPhrase(code int) []byte {
	if code == w.reasonFor {
		return w.reason
	}
	return nil // h1.AppendStatusLine takes h1.ReasonPhrase(code)
}

// gzipFields marks this response as the gzip filter's, before WriteHeader:
// vary writes "Vary: Accept-Encoding" right after Connection and Keep-Alive,
// where nginx's header filter puts it (not a header map field, so not in
// $sent_http_vary, as in nginx); compressed puts Content-Encoding after every
// other field, as nginx's gzip filter appends it, and frames the body
// chunked (close-delimited on HTTP/1.0) even when all of it fits the buffer,
// as nginx sends a compressed body.
func (w *respWriter) gzipFields(vary, compressed bool) {
	w.gzipVary, w.gzipped = vary, compressed
}

// stopped returns a channel closed when the server's shutdown begins.
func (w *respWriter) stopped() <-chan struct{} { return w.cc.srv.stopped() }

// watchNow has the server's next client check (checkClients) look at this
// connection, as if its handler had run for a whole interval: a request that
// is about to wait (auth_delay) learns within abortCheckInterval that its
// client left.
func (w *respWriter) watchNow() {
	if cc := w.cc; cc.watched != nil && cc.handlerSince.Load() != 0 {
		cc.handlerSince.Store(max(cc.srv.tick.Load(), 1))
	}
}

// awaitGone waits up to d for the client to go away, on the request's own
// goroutine: a read wait on the socket (Go's poller reports the peer's
// FIN or reset as readable) whose step peeks without consuming, so bytes
// the client sent ahead (a body, a pipelined request) stay for their
// reader and only the next event wakes it. gone reports that the client
// left (end of stream, a reset, or another error on the socket) before d
// passed (nil: it did not), with the socket's error (ECONNRESET for a
// reset, for nginx's "(104: Connection reset by peer)"); ok is false when
// the connection has no socket to wait on (the caller then waits on the
// request's context). The connection's read deadline is put back
// afterwards.
func (w *respWriter) awaitGone(d time.Duration) (gone *errlog.ClientAbort, ok bool) {
	cc := w.cc
	if cc.rawc == nil || cc.hijacked {
		return nil, false
	}
	if err := cc.c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, false
	}
	// The step's closure is allocated on this path only (a delayed
	// request), for the errno the peek takes from the socket.
	var errno syscall.Errno
	err := cc.rawc.Read(func(fd uintptr) bool {
		done, e := peekGone(fd)
		errno = e
		return done
	})
	_ = cc.c.SetReadDeadline(cc.rd.At())
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, true
	}
	return &errlog.ClientAbort{Errno: errno}, true
}

// peekGone is awaitGone's step: true once a peek at the socket finds the
// end of the stream or an error (returned: a reset's ECONNRESET, which the
// peek takes from the socket), false (wait for the next event) while it
// finds nothing new to say, or bytes that are not its own to read.
func peekGone(fd uintptr) (bool, syscall.Errno) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		errno, _ := err.(syscall.Errno)
		return !errors.Is(err, syscall.EAGAIN), errno
	}
	return n == 0, 0
}

// noChunking is chunked_transfer_encoding off for this response: a body
// whose length is not known when the head goes out is sent without chunked
// framing, up to the connection's close (trailers are then not sent), as
// nginx's chunked filter does. A body fulcrum holds whole still gets its
// Content-Length (and keeps the connection), as with chunking on.
func (w *respWriter) noChunking() { w.noChunk = true }

// lengthUnknown frames this response's body as nginx does one without
// headers_out.content_length_n: chunked (up to the close for HTTP/1.0 or
// chunked_transfer_encoding off; nothing for a HEAD), never with a
// Content-Length fulcrum could have counted. The handlers and filters whose
// nginx counterpart sets no length call it before the head: FastCGI, SCGI
// and uwsgi without the application's Content-Length (recorder.LengthUnknown),
// autoindex, and the addition, ssi, sub and gunzip filters. A handler that
// sets a Content-Length, and the proxy (which flushes a body of unknown
// length as it reads it), need not.
func (w *respWriter) lengthUnknown() { w.streamed = true }

// Header implements http.ResponseWriter.
func (w *respWriter) Header() http.Header {
	if w.asList {
		w.buildHeader()
	}
	return w.header
}

// Bindings implements proxy.ConnBinder: the client connection's bound
// upstream connections (ntlm), made on first use.
func (w *respWriter) Bindings() *proxy.Bindings {
	if w.cc.binds == nil {
		w.cc.binds = new(proxy.Bindings)
	}
	return w.cc.binds
}

// WriteHeader implements http.ResponseWriter. 1xx statuses go out at once
// (101 ends the HTTP exchange: the handler hijacks next); a second final status
// is ignored as net/http does.
func (w *respWriter) WriteHeader(code int) {
	if w.status != 0 || w.hijacked || w.dropped || code < 100 || code > 999 {
		return
	}
	if code < 200 {
		w.writeInformational(code)
		return
	}
	w.status = code
	w.noBody = code == http.StatusNoContent || code == http.StatusNotModified
	if w.asList && w.writeListed() {
		return
	}
	if v := w.Header()["Content-Length"]; (len(v) > 0 && v[0] != "" || w.noBody) && !w.committed {
		w.commitLength(-1, v)
	}
}

// writeInformational writes a 1xx head with the handler's fields and flushes.
// A 101 carries a Date, as nginx's header filter writes one for it (not for
// a 100 Continue, which nginx writes by itself).
func (w *respWriter) writeInformational(code int) {
	b := h1.AppendStatusLine(w.hdrBuf[:0], h1.HTTP11, code, w.reasonPhrase(code))
	b = w.appendFields(b, code == http.StatusSwitchingProtocols)
	b = append(b, "\r\n"...)
	w.hdrBuf = b
	w.write(b)
	w.flush()
	if code == http.StatusSwitchingProtocols {
		// The 101 is the response's head: what goes through the tunnel
		// after it is its body, as nginx counts $body_bytes_sent.
		w.status, w.committed, w.noBody = code, true, true
		w.headLen = int64(len(b))
	}
}

// Write implements http.ResponseWriter.
func (w *respWriter) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.dropped {
		return 0, errDropped
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.committed {
		if len(w.pending)+len(p) <= maxPending {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(-1)
		if len(w.pending) > 0 {
			// What was held back goes first (a filter's small pieces
			// before a large one: sub_filter, gzip's header).
			held := w.pending
			w.pending = w.pending[:0]
			if _, err := w.writeBody(held); err != nil {
				return 0, err
			}
		}
	}
	return w.writeBody(p)
}

// writeBody writes p in the framing the head announced, paced when the
// response has a limit (writePaced).
func (w *respWriter) writeBody(p []byte) (int, error) {
	if w.head || w.noBody || len(p) == 0 {
		return len(p), nil
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		w.closeConn = true
		return 0, errBodyTooLong
	}
	if w.pacer.Rate > 0 {
		return w.writePaced(p)
	}
	return w.writeFramed(p)
}

// writeFramed writes the body bytes p in the framing the head announced.
func (w *respWriter) writeFramed(p []byte) (int, error) {
	w.written += int64(len(p))
	if w.chunked {
		var size [20]byte
		w.write(append(strconv.AppendInt(size[:0], int64(len(p)), 16), '\r', '\n'))
		w.write(p)
		w.write(crlf)
	} else {
		w.write(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

var crlf = []byte("\r\n")

// commit decides the framing and writes the head into the buffered writer.
// known is the body length when the handler has finished (-1 before).
func (w *respWriter) commit(known int64) {
	if !w.committed {
		// The header map's keys are canonical: direct look-ups, not Get's.
		w.commitLength(known, w.Header()["Content-Length"])
	}
}

// commitLength is commit with the header's Content-Length values, cl,
// looked up already (WriteHeader's).
func (w *respWriter) commitLength(known int64, cl []string) {
	w.committed = true
	h := w.Header()
	// A handler's Transfer-Encoding never goes out (the framing is the
	// engine's): appendFields drops the key as it reads the map, which no
	// step before it reads.
	w.declared = -1
	if n, ok := lengthOf(h, cl); ok {
		w.declared = n
	}
	switch {
	case w.noBody:
		if w.status == http.StatusNoContent {
			delete(h, "Content-Length")
		}
	case w.declared >= 0:
	case known >= 0 && (!w.head || known > 0) && (w.noChunk || !w.hasTrailers()):
		w.declared = known
		h["Content-Length"] = []string{strconv.FormatInt(known, 10)}
	case w.head:
	case w.cc.version == h1.HTTP11 && !w.noChunk:
		w.chunked = true
	default:
		// HTTP/1.0 (or chunked_transfer_encoding off) without a length: the
		// close ends the body, as nginx's chunked filter turns keepalive off.
		w.closeConn = true
	}
	if w.chunked {
		w.trailer = w.trailer[:0]
		for _, v := range h["Trailer"] {
			for name := range strings.SplitSeq(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					w.trailer = append(w.trailer, http.CanonicalHeaderKey(name))
				}
			}
		}
	}
	w.writeHead() // and decideConnection, as appendFields reads the map
}

// hasTrailers reports whether the handler announced trailers (a Trailer field)
// or set one (http.TrailerPrefix): they need chunked framing.
func (w *respWriter) hasTrailers() bool {
	if w.expect {
		return true
	}
	if _, ok := w.Header()["Trailer"]; ok {
		return true
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// keepalive sets this response's keepalive_timeout and
// keepalive_min_timeout values and closing settings (the location's); it
// must come before the head is committed.
func (w *respWriter) keepalive(set *config.Settings) {
	w.kaTimeout, w.kaHeader, w.closing = set.KeepaliveTimeout, set.KeepaliveHeaderTimeout, &set.Closing
	w.kaMin = int32(min(set.KeepaliveMinTimeout.Milliseconds(), math.MaxInt32/2))
}

// closeAs sets the closing settings of a response that closes the
// connection without a head (drop); reset marks the connection as nginx
// marks one closed by "return 444", timed out, for reset_timedout_connection.
func (w *respWriter) closeAs(closing *config.Closing, reset bool) {
	w.closing = closing
	if reset {
		w.cc.timedOut = true
	}
}

// decideConnection settles whether the connection stays open after this
// response and says so in the Connection header, whose values were v (read
// with the others by appendFields); it returns the new ones.
func (w *respWriter) decideConnection(v []string) []string {
	v = w.connection(v)
	w.header["Connection"] = v
	return v
}

// connection is decideConnection without the header's change.
func (w *respWriter) connection(v []string) []string {
	cc := w.cc
	if len(v) > 0 && strings.EqualFold(v[0], "close") {
		w.closeConn = true
	}
	// During a graceful stop, a response with a keepalive_min_timeout keeps
	// the connection alive (nginx 1.27.4's ngx_http_finalize_connection).
	if cc.closeReq || w.kaTimeout <= 0 || (cc.srv.shuttingDown() && w.kaMin <= 0) {
		w.closeConn = true
	}
	// nginx says which way it goes on every response, HTTP/1.1 included.
	if w.closeConn {
		return connectionClose
	}
	return connectionKeepAlive
}

// The Connection values the engine sends; the header map is cleared after each
// response and nobody appends to them, so they can be shared.
var (
	connectionClose     = []string{"close"}
	connectionKeepAlive = []string{"keep-alive"}
)

// connValue is the Connection a listed header's head said (connSent).
type connValue uint8

const (
	connNone connValue = iota
	connKeepAlive
	connClose
)

// writeHead serialises the status line and fields (see appendFields).
func (w *respWriter) writeHead() {
	b := h1.AppendStatusLine(w.hdrBuf[:0], h1.HTTP11, w.status, w.reasonPhrase(w.status))
	b = w.appendFields(b, true)
	b = append(b, "\r\n"...)
	w.hdrBuf = b
	w.headLen = int64(len(b))
	w.write(b)
}

// frontFields go first, in the order nginx's header filter writes them:
// Server, Date, Content-Type, Content-Length, Last-Modified, Location, then
// Transfer-Encoding (chunked framing, the engine's) and Connection.
// Last-Modified and Location are front fields only for fulcrum's own answers:
// an upstream's keep their place in its order (front), and so do the
// Server and Date proxy_pass_header passes.
var frontFields = [...]string{"Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Location", "Connection"}

// listLocation puts this response's Location among the other fields
// (locationListed).
func (w *respWriter) listLocation() { w.locationListed = true }

// frontSlot is key's index in frontFields, or -1.
func frontSlot(key string) int {
	switch key {
	case "Server":
		return 0
	case "Date":
		return 1
	case "Content-Type":
		return 2
	case "Content-Length":
		return 3
	case "Last-Modified":
		return 4
	case "Location":
		return 5
	case "Connection":
		return 6
	}
	return -1
}

// front reports whether key goes out with frontFields in this response.
func (w *respWriter) front(key string) bool {
	switch frontSlot(key) {
	case -1:
		return false
	case 5:
		return !w.locationListed && w.placedLocations() < len(w.Header()[key])
	case 0, 1, 4: // Server and Date (proxy_pass_header), Last-Modified
		return !slices.ContainsFunc(w.order, func(p proxy.FieldPos) bool { return p.Key == key })
	}
	return true
}

// placedLocations is how many Location values the order places: the first
// ones of the key. Any after them go out with the front fields: the one
// nginx's header filter made absolute (a proxy_redirect's, see
// proxy.Handler.redirectLocation, or fulcrum's own).
func (w *respWriter) placedLocations() int {
	n := 0
	for _, p := range w.order {
		if p.Key == "Location" {
			n++
		}
	}
	return n
}

// keyCount is how many values of a header key went out in the given order.
type keyCount struct {
	key string
	n   int
}

// appendFields appends the handler's header fields: frontFields first (and a
// Date of the engine's own when final and the handler set no Date key, not
// even an empty one), then those
// SetFieldOrder placed, in that order and spelling, then the rest sorted by
// key, so answers are reproducible, and spelt by wireName. It skips trailers announced with
// http.TrailerPrefix and what appendSafeFields refuses.
//
// It reads the header map once: every response pays for this.
func (w *respWriter) appendFields(b []byte, final bool) []byte {
	h := w.Header()
	var fronts [len(frontFields)][]string
	keys := w.keys[:0]
	// dated: the handler set a Date key, even with no values (an empty
	// Date is proxy_pass_header's "write none of your own").
	dated := false
	for k, v := range h {
		i := frontSlot(k)
		dated = dated || i == 1
		if i == 5 && w.front(k) {
			fronts[i] = v[w.placedLocations():] // the others go in order
		} else if i >= 0 && (i == 2 || i == 3 || i == 6 || w.front(k)) {
			fronts[i] = v
		} else if k == "Transfer-Encoding" && w.committed {
			delete(h, k) // commitLength's: the framing is the engine's
		} else if !strings.HasPrefix(k, http.TrailerPrefix) {
			keys = append(keys, k)
		}
	}
	if final && w.committed {
		// commitLength's head: the connection is decided now that the
		// map has been read, without another look-up.
		fronts[6] = w.decideConnection(fronts[6])
	}
	for i, k := range frontFields {
		if i == 6 && final && w.chunked {
			b = append(b, "Transfer-Encoding: chunked\r\n"...)
		}
		if fronts[i] != nil {
			b = appendSafeValues(b, k, fronts[i])
		} else if i == 1 && final && !dated {
			b = append(b, "Date: "...)
			b = append(b, w.cc.srv.date.at(w.headTime)...)
			b = append(b, "\r\n"...)
		}
	}
	if final {
		b = w.appendAfterConnection(b)
	}
	counts := w.inOrder[:0]
	for _, p := range w.order {
		if slot := frontSlot(p.Key); slot >= 0 && slot != 5 && fronts[slot] != nil {
			continue // went out with the front fields
		}
		values := h[p.Key]
		i := slices.IndexFunc(counts, func(c keyCount) bool { return c.key == p.Key })
		if i < 0 {
			i = len(counts)
			counts = append(counts, keyCount{key: p.Key})
		}
		// Only the next value of the key, so that each goes out once.
		if p.Index != counts[i].n || p.Index >= len(values) || !strings.EqualFold(p.Name, p.Key) {
			continue
		}
		b = appendSafeFields(b, p.Name, values[p.Index:p.Index+1])
		counts[i].n++
	}
	// The rest: keys whose values did not all go out in order.
	rest := keys[:0]
	for _, k := range keys {
		if i := slices.IndexFunc(counts, func(c keyCount) bool { return c.key == k }); i < 0 || counts[i].n < len(h[k]) {
			rest = append(rest, k)
		}
	}
	clear(keys[len(rest):])
	keys = rest
	if len(keys) > 1 { // one key is in order already
		sortOwnFields(keys)
		keys = putLast(keys, w.gzipped)
	}
	for _, k := range keys {
		values := h[k]
		if i := slices.IndexFunc(counts, func(c keyCount) bool { return c.key == k }); i >= 0 {
			values = values[min(counts[i].n, len(values)):]
		}
		b = appendSafeFields(b, wireName(k), values)
	}
	clear(keys)
	w.keys = keys[:0]
	clear(counts)
	w.inOrder = counts[:0]
	return b
}

// appendAfterConnection appends what a final head has right after its
// Connection field: nginx's Keep-Alive, then the gzip filter's Vary.
func (w *respWriter) appendAfterConnection(b []byte) []byte {
	if !w.closeConn && w.kaHeader > 0 {
		// nginx's header filter: right after "Connection: keep-alive".
		b = append(b, "Keep-Alive: timeout="...)
		b = strconv.AppendInt(b, int64(w.kaHeader/time.Second), 10)
		b = append(b, "\r\n"...)
	}
	if w.gzipVary {
		b = append(b, "Vary: Accept-Encoding\r\n"...)
	}
	return b
}

// writeListed commits a listed header's head, as commitLength and
// appendFields would from the map built from the list, when the list has a
// Content-Length that needs no change and the status has a body. false
// leaves everything to the map (Header()).
func (w *respWriter) writeListed() bool {
	if w.noBody || w.committed {
		return false
	}
	var at listedFronts
	at.find(w.order)
	if at.length < 0 {
		return false
	}
	vals := w.values[w.listFrom : int(w.listFrom)+len(w.order)]
	cl := vals[at.length]
	n, ok := parseLength(cl)
	if !ok || len(cl) > 1 && cl[0] == '0' {
		return false
	}
	w.committed, w.declared = true, n
	var conn []string
	if at.conn >= 0 {
		conn = vals[at.conn : at.conn+1]
	}
	conn = w.connection(conn)
	w.connSent = connKeepAlive
	if w.closeConn {
		w.connSent = connClose
	}
	b := h1.AppendStatusLine(w.hdrBuf[:0], h1.HTTP11, w.status, w.reasonPhrase(w.status))
	b = w.appendListed(b, &at, vals, conn[0])
	b = append(b, "\r\n"...)
	w.hdrBuf = b
	w.headLen = int64(len(b))
	w.write(b)
	return true
}

// listedFronts places the front fields of a listed header: the indexes in
// its order of Content-Type, Content-Length and Connection (-1: none), and
// whether it has a Date.
type listedFronts struct {
	ctype, length, conn int
	dated               bool
}

// find fills at from order.
func (at *listedFronts) find(order []proxy.FieldPos) {
	at.ctype, at.length, at.conn = -1, -1, -1
	for i := range order {
		switch order[i].Key {
		case "Content-Type":
			at.ctype = i
		case "Content-Length":
			at.length = i
		case "Connection":
			at.conn = i
		case "Date":
			at.dated = true
		}
	}
}

// appendListed is appendFields for a listed header whose values are vals
// and whose Connection is conn (connection's). Every field of a list has
// its place in the order, each key once (SetFields), so the front fields
// are Content-Type, Content-Length and Connection, which appendFields puts
// first wherever they are, the Server listServer added and the engine's
// Date; the others follow in order, as the order places them. The
// Content-Type and Content-Length values are the upstream's, which h1
// held to the field value grammar (no CR, LF or NUL), or digits.
func (w *respWriter) appendListed(b []byte, at *listedFronts, vals []string, conn string) []byte {
	if i := w.serverAt; i > 0 {
		b = h1.AppendHeader(b, "Server", w.values[i-1]) // fulcrum's own (listServer)
	}
	if !at.dated {
		b = append(b, "Date: "...)
		b = append(b, w.cc.srv.date.at(w.headTime)...)
		b = append(b, "\r\n"...)
	}
	if at.ctype >= 0 {
		b = h1.AppendHeader(b, "Content-Type", vals[at.ctype])
	}
	b = h1.AppendHeader(b, "Content-Length", vals[at.length])
	b = h1.AppendHeader(b, "Connection", conn)
	b = w.appendAfterConnection(b)
	for i, p := range w.order {
		if i == at.ctype || i == at.length || i == at.conn || p.Key == "Server" && w.serverAt > 0 {
			continue // went out with the front fields
		}
		b = appendSafeFields(b, p.Name, vals[i:i+1])
	}
	return b
}

// putLast moves the keys of the filters that add their fields after every
// other filter to the end of keys: nginx's range filter's Accept-Ranges or
// Content-Range, then the gzip filter's Content-Encoding when gzipped.
func putLast(keys []string, gzipped bool) []string {
	for _, k := range [...]string{"Accept-Ranges", "Content-Range"} {
		if i := slices.Index(keys, k); i >= 0 {
			keys = append(append(keys[:i], keys[i+1:]...), k)
		}
	}
	if i := slices.Index(keys, "Content-Encoding"); i >= 0 && gzipped {
		keys = append(append(keys[:i], keys[i+1:]...), "Content-Encoding")
	}
	return keys
}

// pinFields fixes the place of the fields the response has so far, before a
// header filter (expires, add_header) adds its own after them, as nginx's
// filters append to its list: the fields SetFieldOrder did not place
// (fulcrum's own, such as a static file's ETag) join the order as
// appendFields would write them. The range filter's fields (Accept-Ranges,
// Content-Range) stay out: nginx adds them after these filters.
func (w *respWriter) pinFields() {
	keys := w.keys[:0]
	for k := range w.Header() {
		if !w.front(k) && !rangeField(k) && !strings.HasPrefix(k, http.TrailerPrefix) &&
			!slices.ContainsFunc(w.order, func(p proxy.FieldPos) bool { return p.Key == k }) {
			keys = append(keys, k)
		}
	}
	sortOwnFields(keys)
	for _, k := range keys {
		for i := range w.header[k] {
			w.order = append(w.order, proxy.FieldPos{Name: wireName(k), Key: k, Index: i})
		}
	}
	clear(keys)
	w.keys = keys[:0]
}

// sortOwnFields sorts the keys of fields without a place in the order
// (fulcrum's own) as they go out: by name, except a precompressed file's
// Content-Encoding, which follows its ETag, as nginx's gzip_static module
// adds it after ngx_http_set_etag (recorded with nginx 1.22.1: ETag, then
// Content-Encoding; before, sorted, the other way round).
func sortOwnFields(keys []string) {
	slices.Sort(keys)
	ce, et := slices.Index(keys, "Content-Encoding"), slices.Index(keys, "Etag")
	if ce >= 0 && et > ce {
		copy(keys[ce:et], keys[ce+1:et+1])
		keys[et] = "Content-Encoding"
	}
}

// placeField places the last value of key, which a header filter just added,
// after every field placed so far, spelt name. The front fields keep their
// place (frontFields), but for an add_header's Last-Modified, which is a
// field of nginx's list instead of the header filter's own.
func (w *respWriter) placeField(name, key string) {
	if n := len(w.Header()[key]); n > 0 && (key == "Last-Modified" || !slices.Contains(frontFields[:], key)) {
		w.order = append(w.order, proxy.FieldPos{Name: name, Key: key, Index: n - 1})
	}
}

// listed reports whether key has a place in the field order: an upstream's
// field, one a header filter added, or one pinFields placed.
func (w *respWriter) listed(key string) bool {
	return slices.ContainsFunc(w.order, func(p proxy.FieldPos) bool { return p.Key == key })
}

// renameField spells key's value at index as name where it stands (an
// add_header of ETag or Last-Modified replacing the response's own).
func (w *respWriter) renameField(key string, index int, name string) {
	w.Header() // a listed header's map is built from its order first
	for i, p := range w.order {
		if p.Key == key && p.Index == index {
			w.order[i].Name = name
		}
	}
}

// dropOrder forgets the places of key's values from index from on: the
// Cache-Control fields of an upstream that expires removes.
func (w *respWriter) dropOrder(key string, from int) {
	w.Header() // a listed header's map is built from its order first
	w.order = slices.DeleteFunc(w.order, func(p proxy.FieldPos) bool {
		return p.Key == key && p.Index >= from
	})
}

// rangeField reports whether key is a field nginx's range filter adds, after
// every other filter but chunked framing: Accept-Ranges or Content-Range.
func rangeField(key string) bool {
	return key == "Accept-Ranges" || key == "Content-Range"
}

// wireName is the name a header key goes out with: nginx's spelling for the
// fields fulcrum writes itself whose canonical key (http.CanonicalHeaderKey)
// differs from it, else the key. Fields passed from an upstream keep the
// upstream's spelling through SetFieldOrder instead.
func wireName(key string) string {
	if key == "Etag" {
		return "ETag" // the static module's (ngx_http_set_etag)
	}
	return key
}

// appendSafeFields appends a field line per value, leaving out what would
// break the head: a name that is not a token, a value with CR or LF (which
// would let a value start a field or a body of its own) or NUL (which
// clients cut the head at, or refuse).
func appendSafeFields(b []byte, name string, values []string) []byte {
	if !validFieldName(name) {
		return b
	}
	return appendSafeValues(b, name, values)
}

// appendSafeValues is appendSafeFields for a name known to be valid (one of
// frontFields): a field line per value without CR, LF or NUL.
func appendSafeValues(b []byte, name string, values []string) []byte {
	for _, v := range values {
		if safeValue(v) {
			b = h1.AppendHeader(b, name, v)
		}
	}
	return b
}

// safeValue reports whether v has no CR, LF or NUL: one pass, for every
// value of every response (strings.ContainsAny builds its set per call).
func safeValue[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= '\r' && (c == '\r' || c == '\n' || c == 0) {
			return false
		}
	}
	return true
}

// oneLength leaves at most one Content-Length in h, the handler's first,
// spelt as digits alone, and returns it: a second value or a sign ("+5")
// would let a client or a cache in between read the body another way than
// fulcrum frames it. A first value that is not a length removes the field
// (false). An empty first value is left alone (false): the handler asked
// for no length.
func oneLength(h http.Header) (int64, bool) {
	return lengthOf(h, h["Content-Length"])
}

// lengthOf is oneLength with h's Content-Length values, v, looked up
// already.
func lengthOf(h http.Header, v []string) (int64, bool) {
	if len(v) == 0 || v[0] == "" {
		return 0, false
	}
	n, ok := parseLength(v[0])
	switch {
	case !ok:
		delete(h, "Content-Length")
	case len(v) > 1 || len(v[0]) > 1 && v[0][0] == '0':
		// Digits alone (parseLength): only leading zeros make the
		// spelling differ from the number's. Every response with a length
		// comes here, so the usual one allocates nothing.
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	}
	return n, ok
}

// parseLength reads a Content-Length value: digits alone, at most the
// largest int64.
func parseLength(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		d := int64(v[i]) - '0'
		if d < 0 || d > 9 || n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// validFieldName reports whether name can go out as a field name.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// flushCut sends what a handler that broke off after the head (panicking
// with http.ErrAbortHandler: an upstream body cut short) wrote and the
// writer still holds, the head and the body bytes so far, without the end
// of the body, as nginx has sent them by then: a body of unknown length
// (an addition filter's, say) was held back for a Content-Length, and
// would otherwise not go out at all (recorded with nginx 1.22.1: a FastCGI
// response cut short under add_after_body reached the client as its head
// and the bytes that came).
func (w *respWriter) flushCut() {
	if w.hijacked || w.dropped || w.err != nil || w.status == 0 {
		return
	}
	if !w.committed {
		w.commit(-1)
		held := w.pending
		w.pending = w.pending[:0]
		if _, err := w.writeBody(held); err != nil {
			return
		}
	}
	w.flush()
}

// finish ends the response once the handler returned: writes what is still
// held back (with a Content-Length), the last chunk and trailers, and
// flushes. It reports whether the connection may carry another request.
// Only the first call does the work; later ones report the same.
func (w *respWriter) finish() bool {
	if !w.finished {
		w.finished = true
		w.keep = w.finishOnce()
	}
	return w.keep
}

// failed reports whether the response did not go out whole: dropped (444),
// a write that failed, or a client gone.
func (w *respWriter) failed() bool {
	return w.dropped || w.err != nil || w.cc.ctx.Err() != nil
}

// sentBytes reports the response's bytes that went out to the client, and
// how many of them were the head: what the buffered writer took, less what
// it still holds after a failed write.
func (w *respWriter) sentBytes() (total, head int64) {
	total = w.sent
	if w.err != nil && w.cc.bw != nil {
		total -= int64(w.cc.bw.Buffered())
	}
	return max(total, 0), w.headLen
}

func (w *respWriter) sentChunked() bool { return w.committed && w.chunked }

func (w *respWriter) flushedBytes() int64 {
	n := w.sent
	if w.cc.bw != nil {
		n -= int64(w.cc.bw.Buffered())
	}
	return max(n, 0)
}

func (w *respWriter) finishOnce() bool {
	if w.hijacked || w.dropped {
		return false
	}
	if w.cc.ctx.Err() != nil {
		return false // the client is gone: nothing to finish
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		known := int64(len(w.pending))
		if w.gzipped || w.streamed {
			known = -1 // nginx sends a compressed or added-to body chunked, however short
		}
		w.commit(known)
		_, _ = w.writeBody(w.pending)
		w.pending = w.pending[:0]
	}
	if w.chunked && !w.head && !w.noBody {
		w.write(w.lastChunk())
	}
	if w.declared >= 0 && w.written < w.declared && !w.head && !w.noBody {
		w.closeConn = true // the body came out short: the client must not wait for more
	}
	if w.mayAwait() {
		w.cc.flushPending = true // waitRequest sends it (flushThenAwait)
		return true
	}
	w.flush()
	if cap(w.pending) > maxPending {
		w.pending = nil
	}
	return w.err == nil && !w.closeConn
}

// mayAwait reports whether finish may leave the response's last bytes for
// flushThenAwait: the connection stays open for another request that has not
// arrived yet (nothing pipelined is buffered), over a plain socket, and the
// client has not shown it pipelines.
func (w *respWriter) mayAwait() bool {
	cc := w.cc
	return w.err == nil && !w.closeConn && cc.rawc != nil && !cc.readFirst &&
		cc.in.Buffered() == 0 && !cc.srv.shuttingDown()
}

// lastChunk is the zero-size chunk with the trailers the handler set.
func (w *respWriter) lastChunk() []byte {
	b := append(w.hdrBuf[:0], "0\r\n"...)
	for k, vs := range w.Header() {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok {
			if !slices.Contains(w.trailer, k) {
				continue
			}
			name = k
		}
		b = appendSafeFields(b, name, vs)
	}
	for i := 0; i+1 < len(w.tfields); i += 2 {
		b = appendSafeFields(b, w.tfields[i], w.tfields[i+1:i+2])
	}
	b = append(b, "\r\n"...)
	w.hdrBuf = b
	return b
}

// write puts p into the buffered writer; the first error marks the client
// gone and cancels the connection's context (an upstream exchange stops).
func (w *respWriter) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.cc.writer().Write(p)
	w.sent += int64(n)
	if err != nil {
		w.fail(err)
	}
}

// paceAt limits the rest of this response to rate bytes a second after
// its first free bytes (head included), counted from start, the request's
// start: limit_rate and limit_rate_after, as nginx's write filter applies
// them (per request, the head counted with the body).
func (w *respWriter) paceAt(rate, free int64, start time.Time) {
	w.pacer.Limit = pace.Limit{Rate: rate, Free: free, Start: start}
}

// writePaced writes the body bytes p, framed, as fast as the pace allows:
// what may go at once goes into the buffered writer; before a pause, what
// the writer holds is sent, so the client gets every byte as soon as the
// limit lets it. The head goes with the first body bytes, as nginx sends
// them together, and is paid with them. A client that goes away during a
// pause (the connection's context) ends the response.
func (w *respWriter) writePaced(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		done := w.sent
		if w.written == 0 {
			done -= w.headLen
		}
		n, wait := w.pacer.Allow(done, w.pacer.Now())
		if n == 0 {
			w.flush()
			if w.err != nil {
				return total, w.err
			}
			if err := w.pacer.Wait(w.cc.ctx, wait); err != nil {
				w.fail(err)
				return total, err
			}
			continue
		}
		n = min(n, int64(len(p)))
		if _, err := w.writeFramed(p[:n]); err != nil {
			return total, err
		}
		total += int(n)
		p = p[n:]
	}
	return total, nil
}

func (w *respWriter) flush() {
	if w.err != nil {
		return
	}
	if err := w.cc.writer().Flush(); err != nil {
		w.fail(err)
	}
}

func (w *respWriter) fail(err error) {
	w.err = err
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.cc.timedOut = true // send_timeout
	}
	w.closeConn = true
	if cause := writeAbort(err); cause != nil {
		w.cc.clientLeft(cause)
		return
	}
	w.cc.clientGone()
}

// writeAbort is the cause of a write that failed because the client went
// away before the abort check saw it, as nginx's epoll check would have
// seen it first (a proxy_buffering off body streaming to a client that
// left): a reset (ECONNRESET: nginx's line ends in "(104: Connection reset
// by peer)"), or a close (EPIPE: the kernel's answer once the client's
// reset follows its FIN, where nginx saw the FIN alone). nil for another
// failure (send_timeout).
func writeAbort(err error) *errlog.ClientAbort {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return &errlog.ClientAbort{Errno: syscall.ECONNRESET}
	case errors.Is(err, syscall.EPIPE):
		return &errlog.ClientAbort{}
	}
	return nil
}

// WatchClient implements proxy.ClientWatcher: a's Abort is called if the
// client goes away (clientGone) before UnwatchClient.
func (w *respWriter) WatchClient(a proxy.Aborter) bool {
	cc := w.cc
	cc.abortMu.Lock()
	cc.aborter, cc.aborted = a, false
	cc.abortMu.Unlock()
	return true
}

// IgnoreClientAbort implements proxy.AbortIgnorer: the server stops peeking at
// the socket for the rest of the request (proxy_ignore_client_abort on), so
// only a failed write ends the connection's context.
func (w *respWriter) IgnoreClientAbort() { w.cc.stopWatch() }

// UnwatchClient implements proxy.ClientWatcher.
func (w *respWriter) UnwatchClient() bool {
	cc := w.cc
	cc.abortMu.Lock()
	aborted := cc.aborted
	cc.aborter, cc.aborted = nil, false
	cc.abortMu.Unlock()
	return !aborted
}

// FlushError sends everything written so far (http.ResponseController's
// Flush). Before the head went out, the framing becomes chunked (or
// close-delimited): the body's length is not known yet.
func (w *respWriter) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(-1)
		p := w.pending
		w.pending = w.pending[:0]
		_, _ = w.writeBody(p)
	}
	w.flush()
	return w.err
}

// closeAfter makes this response the connection's last (a request body that
// could not be drained); the head says so if it has not gone out yet.
func (w *respWriter) closeAfter() { w.closeConn = true }

// flushNow sends what finish left buffered for flushThenAwait, when the
// request has more to do before the connection waits for the next one.
func (w *respWriter) flushNow() {
	if !w.hijacked && !w.dropped {
		w.flush()
	}
}

// Flush implements http.Flusher.
func (w *respWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection to the handler (an upgrade): what was written
// is flushed first; the returned reader holds what the client already sent.
func (w *respWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.flush()
	w.hijacked = true
	w.closeConn = true
	cc := w.cc
	cc.hijack()
	cc.clearReadDeadline()
	cc.out.fixed = true // the new owner sets its own deadlines
	c := cc.c
	if w.status == http.StatusSwitchingProtocols {
		// Bytes the new owner sends (a WebSocket's frames) count in
		// $bytes_sent and $body_bytes_sent, as nginx counts an upgraded
		// connection's (recorded with nginx 1.22.1: 8 for an 8-byte
		// answer through the tunnel, 0 for none). The owner writes from one
		// goroutine and is done before the request is logged.
		c = &countedConn{Conn: c, n: &w.sent}
	}
	return c, bufio.NewReadWriter(cc.in.Reader(), cc.writer()), nil
}

// countedConn adds the bytes written to a hijacked connection to n.
type countedConn struct {
	net.Conn
	n *int64
}

// Write implements net.Conn.
func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	*c.n += int64(n)
	return n, err
}

// CloseWrite half-closes the connection when the one under it can.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// AbandonBody implements fastcgi.BodyAbandoner: the rest of a request
// body that streamed upstream is not read (a pending read fails at once),
// and the connection closes after the answer, lingering, as nginx
// finalizes a request whose unbuffered body is still being read
// (ngx_http_finalize_connection: r->reading_body, no keep-alive, lingering
// close). Safe to call while another goroutine reads the body.
func (w *respWriter) AbandonBody() {
	w.cc.body.abandoned.Store(true)
	_ = w.cc.c.SetReadDeadline(time.Unix(1, 0))
}

// SetReadDeadline sets the client connection's read deadline
// (client_body_timeout).
func (w *respWriter) SetReadDeadline(t time.Time) error {
	w.cc.headDeadline = false // replaced: the head's deadline no longer applies
	w.cc.rd.Set(t)
	return w.cc.c.SetReadDeadline(t)
}

// SetWriteDeadline sets the client connection's write deadline for the rest
// of this response, in place of the send_timeout the engine arms itself.
func (w *respWriter) SetWriteDeadline(t time.Time) error {
	w.cc.out.fixed = true
	w.cc.out.wd.Set(t)
	return w.cc.c.SetWriteDeadline(t)
}

// setSendTimeout sets the response's send_timeout (the location's): the
// longest a write to the client may wait for the socket (connWriter.arm).
func (w *respWriter) setSendTimeout(d time.Duration) { w.cc.out.timeout = d }

// dateCache formats the Date header once per second for every response.
type dateCache struct {
	v atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	s   []byte
}

// at returns the Date value, in IMF-fixdate form, for now, a clock reading
// already made; a zero now reads the clock.
func (d *dateCache) at(now time.Time) []byte {
	if now.IsZero() {
		now = time.Now()
	}
	if v := d.v.Load(); v != nil && v.sec == now.Unix() {
		return v.s
	}
	v := &dateValue{sec: now.Unix(), s: now.UTC().AppendFormat(nil, http.TimeFormat)}
	d.v.Store(v)
	return v.s
}

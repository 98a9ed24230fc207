package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/pace"
	"fulcrum/internal/vars"
)

// HTTP/2 on ssl addresses (nginx's ngx_http_v2_module, "listen ... ssl
// http2" and "http2 on"). The engine makes the handshake of a connection
// on an address that may offer h2 before it reads a request; when ALPN
// chose "h2", net/http's own HTTP/2 server takes the connection (the
// function an http.Server with HTTP/2 enabled keeps in TLSNextProto["h2"])
// on the connection's goroutine, and runs each stream's handler on a
// goroutine of its own. The handler (h2Conn.ServeHTTP) fills a connInfo for
// the stream and calls the same snapshot.serveHTTP as the HTTP/1.1 engine,
// on an h2Writer: every request, whatever its protocol, takes one path
// (server and location choice, access, limits, rewrite, proxy to the
// upstream over HTTP/1.1, error pages, filters, access log).
//
// Go's HTTP/2 server frames, compresses (HPACK), and multiplexes; fulcrum
// sets its limits from the connection's server (the SNI name's, else the
// address's default server's, as nginx's conf_ctx):
//   - http2_max_concurrent_streams: SETTINGS_MAX_CONCURRENT_STREAMS;
//   - http2_body_preread_size: each stream's initial receive window;
//   - keepalive_timeout: how long an idle connection stays (then GOAWAY);
//   - keepalive_requests, keepalive_time: a connection that served that
//     many streams or lived that long says GOAWAY after the response;
//   - send_timeout: a write that makes no progress for that long closes
//     the connection;
//   - large_client_header_buffers: the header list (and each field) as
//     nginx bounds it.

// h2Servers is one listener's HTTP/2 servers, one per distinct set of
// connection settings, all shut down gracefully (GOAWAY, in-flight streams
// finish) by shutdown.
type h2Servers struct {
	log func() *errlog.Logger
	mu  sync.Mutex // guards byKey
	// byKey holds the servers made so far: settings change only with a
	// reload, so the map stays small.
	byKey map[h2Key]*h2Server
	// gen counts the shutdowns (GOAWAY rounds): a connection that Go's
	// server had not registered yet when one came (its handshake just
	// ended) sees the change at its next stream and goes away after it.
	gen atomic.Uint64
}

// h2Key is what makes two connections' HTTP/2 servers differ.
type h2Key struct {
	streams   uint32
	preread   int32
	idle      time.Duration
	writeByte time.Duration
	// headerBytes is Go's bound on the header list (MaxHeaderBytes).
	headerBytes int
}

// h2Server is net/http's HTTP/2 server for one h2Key. The http.Server
// never accepts: it carries the settings and the shutdown hook, and
// serveConn serves each connection handed to it.
type h2Server struct {
	hs        *http.Server
	serveConn func(*http.Server, *tls.Conn, http.Handler)
	// serveH2C serves a plain connection (h2c.go), handed over inside a
	// *tls.Conn as net/http's own server does.
	serveH2C func(*http.Server, *tls.Conn, http.Handler)
}

// newH2Servers returns the HTTP/2 servers of a listener whose lines go to
// the error log log returns (the main one in force, which a reload may
// change).
func newH2Servers(log func() *errlog.Logger) *h2Servers {
	return &h2Servers{log: log, byKey: map[h2Key]*h2Server{}}
}

// h2ErrorLog passes what Go's HTTP/2 server logs (a client's protocol
// errors) to the error log l returns at info, as nginx logs its clients'
// mistakes.
func h2ErrorLog(l func() *errlog.Logger) *log.Logger {
	return log.New(errlogWriter{l}, "", 0)
}

type errlogWriter struct{ l func() *errlog.Logger }

func (w errlogWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	if strings.HasPrefix(line, "http2: server: error reading preface from client ") && strings.HasSuffix(line, "connection reset by peer") {
		// A client gone before its first frame (a handshake-only check,
		// a browser's unused preconnection): nginx 1.22.1 logs nothing
		// (under TLS a reset reads as a close; recorded), Go's server says
		// so only for a reset.
		return len(p), nil
	}
	w.l().Log(errlog.Info, line)
	return len(p), nil
}

// h2KeyFor is the key of the server for a connection whose server's
// settings are set.
func h2KeyFor(set *config.Settings) h2Key {
	return h2Key{
		streams:   uint32(max(set.HTTP2Settings.MaxConcurrentStreams, 0)),
		preread:   int32(min(max(set.HTTP2Settings.BodyPrereadSize, 0), config.MaxHTTP2Window)),
		idle:      set.KeepaliveTimeout,
		writeByte: set.SendTimeout,
		// Go's server answers 431 to a header list over its bound: twice
		// nginx's, so that tooLarge answers as nginx does first.
		headerBytes: 2 * headerLimit(set),
	}
}

// server returns the HTTP/2 server for a connection whose server's
// settings are set, or nil (logged) when net/http offers none.
func (hs *h2Servers) server(set *config.Settings) *h2Server {
	k := h2KeyFor(set)
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.byKey[k]; s != nil {
		return s
	}
	s, err := newH2Server(k, h2ErrorLog(hs.log))
	if err != nil {
		hs.log().Logf(errlog.Alert, "http2: %v", err)
		return nil
	}
	hs.byKey[k] = s
	return s
}

// newH2Server makes net/http's HTTP/2 server for the settings k.
func newH2Server(k h2Key, errLog *log.Logger) (*h2Server, error) {
	conf := &http.HTTP2Config{
		MaxConcurrentStreams: int(k.streams),
		WriteByteTimeout:     k.writeByte,
		// nginx offers h2 whatever the cipher suite; Go's server would
		// refuse the connection for one RFC 9113 frowns upon.
		PermitProhibitedCipherSuites: true,
	}
	if k.preread > 0 {
		conf.MaxReceiveBufferPerStream = int(k.preread)
	}
	if k.streams == 0 {
		// nginx's "http2_max_concurrent_streams 0" refuses every stream;
		// Go's server reads 0 as its default, so one it is.
		conf.MaxConcurrentStreams = 1
	}
	srv := &http.Server{
		ErrorLog:       errLog,
		IdleTimeout:    k.idle,
		MaxHeaderBytes: k.headerBytes,
		HTTP2:          conf,
		Protocols:      new(http.Protocols),
		// The handler is each connection's own (h2Conn), never the server's.
		DisableGeneralOptionsHandler: true,
	}
	srv.Protocols.SetHTTP2(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	// Serve sets up HTTP/2 (TLSNextProto["h2"] and the GOAWAY hook that
	// Shutdown runs) before its first Accept, which fails at once: the
	// server never listens, connections come to it after their handshake.
	if err := srv.Serve(noListener{}); err != nil && !errors.Is(err, net.ErrClosed) {
		return nil, err
	}
	serve := srv.TLSNextProto["h2"]
	if serve == nil {
		return nil, errors.New("net/http has no HTTP/2 server (GODEBUG=http2server=0?)")
	}
	h2c := srv.TLSNextProto[nextProtoUnencryptedHTTP2]
	if h2c == nil {
		return nil, errors.New("net/http has no plain-text HTTP/2 server")
	}
	return &h2Server{hs: srv, serveConn: serve, serveH2C: h2c}, nil
}

// noListener is a listener that accepts nothing (see newH2Server).
type noListener struct{}

func (noListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (noListener) Close() error              { return nil }
func (noListener) Addr() net.Addr            { return &net.TCPAddr{} }

// shutdown sends GOAWAY on every HTTP/2 connection: idle ones close, the
// others once their streams are done. It does not wait.
func (hs *h2Servers) shutdown() {
	hs.gen.Add(1)
	hs.mu.Lock()
	servers := make([]*h2Server, 0, len(hs.byKey))
	for _, s := range hs.byKey {
		servers = append(servers, s)
	}
	hs.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the servers track no connection of their own to wait for
	for _, s := range servers {
		// Shutdown runs the GOAWAY hook every time it is called; the
		// servers go on serving the connections handed to them.
		_ = s.hs.Shutdown(ctx)
	}
}

// h2Conn is one HTTP/2 connection: what its streams share.
type h2Conn struct {
	cc   *clientConn
	tc   *tls.Conn
	key  string // the listener's, as the router names it
	d    *Daemon
	set  *config.Settings // the connection's server's (by SNI, else the default)
	base connInfo         // the connection's part of every stream's connInfo
	// requests counts the streams served ($connection_requests).
	requests atomic.Uint64
	// gen is the servers' shutdown count when the connection started.
	gen uint64
	// active counts the streams being served, for the line of a client
	// that closes the connection while some are (readEnded).
	active atomic.Int32
	ended  atomic.Bool // readEnded ran
	// finishing counts the streams whose handlers returned (the stream
	// ended) while their mirror subrequests still run: the connection
	// stays tracked, so a graceful stop waits for them (finishLater).
	finishing sync.WaitGroup
	// later counts the streams finishing (finishLater), which nginx counts
	// against http2_max_concurrent_streams until their mirrors are done.
	later atomic.Int32
}

// serveH2 serves the connection with HTTP/2 until it ends, then closes it
// and tells the server and the counters, as close does for HTTP/1.1.
func (cc *clientConn) serveH2(sc *sslConn, tc *tls.Conn) {
	defer func() {
		cc.srv.stats.close()
		cc.clientGone()
		cc.srv.untrack(cc)
		cc.c.Close()
	}()
	sc.describe(&cc.ci)
	hc := &h2Conn{cc: cc, tc: tc, key: cc.srv.key, d: cc.srv.daemon, base: cc.ci}
	hc.base.fields = nil
	hc.base.scratch = nil // a stream takes its scratch from the pool
	hc.base.snap, hc.base.lst = nil, nil
	hc.set = sc.addr.sniServer(tc.ConnectionState().ServerName).Config.Settings
	if hc.set == nil {
		hc.set = &config.Settings{}
	}
	hc.noDelay()
	hc.gen = cc.srv.h2.gen.Load()
	if sc.pc != nil {
		sc.pc.ended = hc.readEnded // set before the server's reader starts
	}
	srv := cc.srv.h2.server(hc.set)
	if srv == nil {
		return
	}
	srv.serveConn(srv.hs, tc, hc)
	hc.finishing.Wait()
}

// noDelay applies tcp_nodelay to an HTTP/2 connection's socket once, from
// the connection's server (hc.set), as nginx's
// ngx_http_v2_send_output_queue takes it from the connection's
// configuration: on sets TCP_NODELAY (Go did at the accept), off leaves it
// cleared, whatever the locations of its streams say (nginx 1.22.1, traced:
// a location's off does not stop the setsockopt on an HTTP/2 connection).
// The streams' copies of the connection's info lose the socket, so that
// they do not apply their locations' values the HTTP/1.1 way.
func (hc *h2Conn) noDelay() {
	hc.cc.ci.applyNoDelay(hc.set)
	hc.base.sock = nil
}

// readEnded is told by the socket's reader that the client closed or reset
// the connection (err), before Go's server sees it and cancels the
// streams: the connection's context is cancelled first, with a cause that
// tells the streams' 499 paths to write no line of their own, and while
// streams are served the connection writes nginx 1.22.1's (recorded with a
// request waiting for a slow upstream, the client closing or resetting the
// socket): "client prematurely closed connection while processing HTTP/2
// connection, client: 127.0.0.1, server: 127.0.0.1:8443".
func (hc *h2Conn) readEnded(error) {
	if hc.ended.Swap(true) {
		return
	}
	hc.cc.clientLeft(&errlog.ClientAbort{HTTP2Conn: true})
	if hc.active.Load() == 0 {
		return
	}
	snap := hc.d.current.Load()
	snap.logAt(hc.set).LogRequest(errlog.Info, &errlog.Request{Conn: hc.base.id, Client: remoteIP(hc.tc), Server: hc.tc.LocalAddr().String()},
		"client prematurely closed connection while processing HTTP/2 connection")
}

// BaseContext is the context of the connection's streams: the
// connection's (cc.ctx), as net/http's HTTP/2 server asks its handler for
// it.
func (hc *h2Conn) BaseContext() context.Context { return hc.cc.ctx }

// headerLimit is the header list large_client_header_buffers allows
// (number times size), as nginx bounds an HTTP/2 request's fields.
func headerLimit(set *config.Settings) int {
	b := set.LargeClientHeaderBuffers
	if b.Number <= 0 || b.Size <= 0 {
		return http.DefaultMaxHeaderBytes
	}
	return b.Number * int(b.Size)
}

// ServeHTTP serves one stream through the daemon's request path.
func (hc *h2Conn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stats := hc.cc.srv.stats
	stats.requestStarted()
	stats.headRead()
	defer stats.requestFinished()
	hc.active.Add(1)
	defer hc.active.Add(-1)
	defer hc.recoverStream()
	ci := hc.base
	ci.start = time.Now()
	ci.requests = hc.requests.Add(1) - 1
	// nginx logs an HTTP/2 request line as "GET /path HTTP/2.0".
	ci.requestLine = r.Method + " " + r.RequestURI + " HTTP/2.0"
	var size int
	authorityHost(r)
	ci.fields, size = h2Fields(r)
	ci.plainNames = false // net/http's parser counted nothing for dropInvalidFields
	ci.length = int64(size)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &h2Body{ReadCloser: r.Body, ci: &ci, unsized: r.ContentLength < 0}
	}
	ci.noHost = r.Host == ""
	if msg := hc.tooLarge(r); msg != "" {
		hc.refuseHeader(&ci, msg)
		return
	}
	hw := &h2Writer{w: w, closeConn: hc.spent(&ci) || hc.cc.srv.h2.gen.Load() != hc.gen, ctx: r.Context(), hc: hc}
	snap := hc.d.current.Load()
	snap.serveHTTP(hw, r, &ci, hc.key)
	hw.releaseHeld()
	hw.end()
	if hw.dropped {
		panic(http.ErrAbortHandler) // RST_STREAM: nginx's 444 on HTTP/2
	}
}

// recoverStream logs a handler's panic with its stack, as the HTTP/1.1
// engine does (runHandler), and resets the stream; the connection's other
// streams go on. http.ErrAbortHandler (a response cut short on purpose)
// resets the stream without a log line.
func (hc *h2Conn) recoverStream() {
	p := recover()
	if p == nil {
		return
	}
	if p != http.ErrAbortHandler {
		hc.cc.srv.mainLog().Logf(errlog.Alert, "panic serving %s: %v\n%s", hc.base.remote, p, debug.Stack())
	}
	panic(http.ErrAbortHandler)
}

// spent reports whether the stream being started is the connection's last
// (keepalive_requests, keepalive_time of its server, as nginx 1.19.7+
// applies them to HTTP/2): its response then comes with GOAWAY.
func (hc *h2Conn) spent(ci *connInfo) bool {
	counted := *ci
	counted.requests++ // as fillRequest will count this stream
	return keepaliveSpent(&counted, hc.set)
}

// h2Body counts what a handler reads of an HTTP/2 request's body in
// $request_length (ci.length), as nginx 1.22.1 counts the DATA it reads,
// and, for a body sent without content-length, its size in
// $content_length once read to its end, as nginx sets the length of a
// body it read whole. Recorded with curl --http2: a proxied 1000-byte body
// logged $request_length 1069 (fulcrum's had the head alone), and a
// 927-byte one without content-length $content_length 927 (fulcrum's
// "-"); a body a location never read (return) counted in neither.
type h2Body struct {
	io.ReadCloser
	ci      *connInfo
	unsized bool
	read    int64
}

// ExactBuffer implements bodyspool.ExactBuffer: nginx reads an HTTP/2
// body into client_body_buffer_size, a longer one to a file.
func (b *h2Body) ExactBuffer() bool { return true }

// Read implements io.Reader.
func (b *h2Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	b.ci.length += int64(n)
	if err == io.EOF && b.unsized && b.read > 0 {
		// Not for an end with nothing read: Go's server ends a body left
		// unread once the response is out, which nginx never read.
		b.ci.chunked = chunkedBody{read: true, declared: b.read}
	}
	return n, err
}

// authorityHost gives an HTTP/2 request the Host field nginx 1.22.1 makes
// of its :authority (ngx_http_v2_parse_authority adds a "host" header),
// which Go's server moves to r.Host alone: $http_host is the authority, so
// "proxy_set_header Host $http_host;" sends it upstream and FastCGI gets
// HTTP_HOST. Recorded over HTTP/2 with curl: $http_host was
// "a.test:18496" (the authority curl sent), "zz.test" with -H "Host:
// zz.test", and the upstream got that Host; fulcrum's $http_host was
// empty and the upstream got no Host at all. A request that sent a host
// field keeps it (malformedH2 refuses one that differs).
func authorityHost(r *http.Request) {
	if _, ok := r.Header["Host"]; !ok && r.Host != "" {
		r.Header["Host"] = []string{r.Host}
	}
}

// h2Fields lists the request's header fields for the upstream request and
// $http_* (lowercase, as HTTP/2 sends them, sorted by name: Go's server
// keeps no order, but host first, where nginx puts the one :authority
// makes, pseudo-headers coming first), and returns the size of the header
// list as nginx counts it against large_client_header_buffers (names and
// values, pseudo-headers included; the authority once).
func h2Fields(r *http.Request) (vars.HeaderList, int) {
	size := len(":method") + len(r.Method) + len(":path") + len(r.RequestURI) + len(":authority") + len(r.Host) + len(":scheme") + len("https")
	fields := make(vars.HeaderList, 0, len(r.Header))
	keys := sortedKeys(r.Header)
	if i := slices.Index(keys, "Host"); i > 0 {
		copy(keys[1:i+1], keys[:i])
		keys[0] = "Host"
	}
	for _, name := range keys {
		lower := strings.ToLower(name)
		for _, v := range r.Header[name] {
			fields = append(fields, vars.Field{Name: lower, Value: v})
			if name != "Host" || v != r.Host {
				size += len(lower) + len(v)
			}
		}
	}
	return fields, size
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tooLarge checks the request's fields against large_client_header_buffers
// as nginx 1.19.7+ does for HTTP/2: each field's name and value, as the
// client sent them (nginx sees the HPACK literal: its Huffman code when
// that is shorter, as clients send it), must fit one buffer, and the whole
// list (names and values decoded) number buffers. It returns nginx's
// message, or "" when the request fits.
func (hc *h2Conn) tooLarge(r *http.Request) string {
	b := hc.set.LargeClientHeaderBuffers
	if b.Number <= 0 || b.Size <= 0 {
		return ""
	}
	total, limit := 0, b.Number*int(b.Size)
	fits := func(s string) bool {
		return min(uint64(len(s)), huffmanLength(s)) <= uint64(b.Size)
	}
	for _, kv := range [][2]string{{":method", r.Method}, {":path", r.RequestURI}, {":authority", r.Host}, {":scheme", "https"}} {
		if !fits(kv[1]) {
			return "client sent too large header field"
		}
		total += len(kv[0]) + len(kv[1])
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			if !fits(name) || !fits(v) {
				return "client sent too large header field"
			}
			total += len(name) + len(v)
		}
	}
	if total > limit {
		return "client sent too large header"
	}
	return ""
}

// refuseHeader ends the connection for a header list over the limits, as
// nginx does (a connection error, ENHANCE_YOUR_CALM; Go's server cannot
// send that from a handler, so the connection just closes), logs msg at
// info, and writes the access log line nginx writes: status 000, no
// request line.
func (hc *h2Conn) refuseHeader(ci *connInfo, msg string) {
	snap := hc.d.current.Load()
	snap.logAt(hc.set).LogRequest(errlog.Info, &errlog.Request{Conn: ci.id, Client: remoteIP(hc.tc), Server: hc.tc.LocalAddr().String()}, msg+" while processing HTTP/2 connection")
	st := &vars.State{}
	st.Proto, st.Scheme, st.TLS = "HTTP/2.0", "https", ci.tls
	st.Remote, st.Local = ci.remoteAddr, ci.local
	st.Conn, st.ConnRequests, st.Start, st.Length = ci.id, ci.requests+1, ci.start, ci.length
	st.Connections = hc.cc.srv.stats
	snap.logRefused(st, hc.key, "", true)
	hc.tc.Close()
	panic(http.ErrAbortHandler)
}

// h2Writer is the response writer of one HTTP/2 stream under the
// daemon's recorder: Go's HTTP/2 server's, with what the recorder asks of
// a writer that is not the engine's (recorder.ew nil).
type h2Writer struct {
	w http.ResponseWriter
	// closeConn: the connection has served its last stream; the response
	// goes with GOAWAY.
	closeConn bool
	dropped   bool
	// pacer paces the body (limit_rate: paceAt); ctx ends a pause when
	// the stream goes away.
	pacer  pace.Pacer
	ctx    context.Context
	hc     *h2Conn // the stream's connection
	status int
	head   int64 // the head's size, estimated (see sentBytes)
	body   int64
	// held are the request's limit_conn counts, given back once the
	// response went out (holdUntilSent).
	held []heldConn
	// sendTimeout is the location's send_timeout (0: none): the longest a
	// write may wait for the client's flow control windows (armStall).
	sendTimeout time.Duration
	// stall resets the stream when a write waits sendTimeout; mu guards
	// ended, which tells it the handler returned (Go's writer is then no
	// longer the handler's to use).
	stall *time.Timer
	mu    sync.Mutex
	ended bool
	// timedOut: send_timeout reset the stream while the handler wrote.
	timedOut atomic.Bool
}

// armStall starts send_timeout for a write that may wait: Go's server
// holds a write while the client's flow control windows are closed, and
// nothing else bounds that wait (its WriteByteTimeout is the socket's).
// nginx 1.22.1 arms send_timeout on a stream that waits so (recorded: a
// 65616-byte file to a client that never opened its window past 65535
// bytes, send_timeout 1s: RST_STREAM after a second, the connection goes
// on); fulcrum's stream waited for ever, and a graceful stop with it.
func (w *h2Writer) armStall() {
	if w.sendTimeout <= 0 {
		return
	}
	if w.stall == nil {
		w.stall = time.AfterFunc(w.sendTimeout, w.stalled)
		return
	}
	w.stall.Reset(w.sendTimeout)
}

// disarmStall stops send_timeout once a write returned.
func (w *h2Writer) disarmStall() {
	if w.stall != nil {
		w.stall.Stop()
	}
}

// stalled resets the stream whose write waited send_timeout: a deadline in
// the past makes Go's server reset it (RST_STREAM INTERNAL_ERROR; nginx
// sends PROTOCOL_ERROR) and fail the write.
func (w *h2Writer) stalled() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.timedOut.Store(true)
		_ = http.NewResponseController(w.w).SetWriteDeadline(time.Now().Add(-time.Second))
	}
}

// end is called when the handler is about to return: what Go's server
// still holds of the response is written after that (its last DATA
// frame), so send_timeout is handed to the stream's own write deadline,
// which Go's server keeps until the stream closes.
func (w *h2Writer) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.disarmStall()
	if w.sendTimeout > 0 && w.body > 0 && !w.dropped {
		_ = http.NewResponseController(w.w).SetWriteDeadline(time.Now().Add(w.sendTimeout))
	}
}

// holdUntilSent keeps the request's limit_conn counts until its response
// went out whole (releaseHeld).
func (w *h2Writer) holdUntilSent(held []heldConn) { w.held = append(w.held, held...) }

// releaseHeld gives back the limit_conn counts holdUntilSent kept, once
// what Go's server holds of the response is written: the flush waits
// while the client's flow control windows keep it back, and ends when the
// stream does (a client's RST_STREAM), as nginx keeps a request, and its
// counts, until its last byte is sent. The flush costs an empty DATA frame
// that ends the stream, so only a request with counts makes it.
func (w *h2Writer) releaseHeld() {
	if len(w.held) == 0 {
		return
	}
	w.Flush()
	for _, h := range w.held {
		h.release()
	}
	w.held = nil
}

// finishLater runs finish on a goroutine of the connection's, after the
// stream's handler returns: the stream ends at once while its mirror
// subrequests go on, as nginx's does; the connection waits for it. As many
// streams may finish so at once as http2_max_concurrent_streams allows
// (nginx counts a stream in h2c->processing until its request, mirrors
// and all, is freed); past that, finish runs in the handler, whose stream
// then stays open, so that Go's server, which counts only the streams
// being served, takes no new stream for it. Without the bound one
// connection could leave any number of mirrors running, each with its
// goroutine, upstream connection and request body.
func (hw *h2Writer) finishLater(finish func()) {
	hc := hw.hc
	if hc.later.Add(1) > int32(max(hc.set.HTTP2Settings.MaxConcurrentStreams, 1)) {
		hc.later.Add(-1)
		finish()
		return
	}
	hc.finishing.Add(1)
	go func() {
		defer hc.finishing.Done()
		defer hc.later.Add(-1)
		finish()
	}()
}

// serverEnded implements endWatcher: the stream's mirror subrequests
// outlive the stream and its connection, not the server.
func (hw *h2Writer) serverEnded() context.Context { return hw.hc.cc.srv.endedContext() }

// connectionFields are the fields HTTP/2 forbids in a response (RFC 9113,
// 8.2.2): an upstream's hop-by-hop fields, and those the recorder adds for
// HTTP/1.1 (Connection: close), never go out.
var connectionFields = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

// Header implements http.ResponseWriter.
func (w *h2Writer) Header() http.Header { return w.w.Header() }

// WriteHeader implements http.ResponseWriter.
func (w *h2Writer) WriteHeader(code int) {
	if w.dropped {
		return
	}
	h := w.w.Header()
	if code >= 200 && w.status == 0 {
		w.status = code
		for _, f := range connectionFields {
			delete(h, f)
		}
		oneLength(h)
		if w.closeConn {
			h["Connection"] = []string{"close"} // Go's server: GOAWAY, not a field
		}
		w.head = h2HeadSize(h)
	}
	if code == http.StatusSwitchingProtocols {
		code = http.StatusBadGateway // no upgrade over HTTP/2 (the proxy asks none)
	}
	w.w.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *h2Writer) Write(p []byte) (int, error) {
	if w.dropped {
		return 0, io.ErrClosedPipe
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.pacer.Rate > 0 {
		return w.writePaced(p)
	}
	w.armStall()
	n, err := w.w.Write(p)
	w.disarmStall()
	w.body += int64(n)
	return n, err
}

// paceAt paces the body at rate bytes a second after free bytes, counted
// from start (limit_rate, limit_rate_after, per stream as in nginx).
func (w *h2Writer) paceAt(rate, free int64, start time.Time) {
	w.pacer.Limit = pace.Limit{Rate: rate, Free: free, Start: start}
}

// writePaced writes p as fast as the pace allows; before a pause, what Go's
// server holds for the stream is flushed, so the client gets every byte as
// soon as the limit lets it.
func (w *h2Writer) writePaced(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		n, wait := w.pacer.Allow(w.body, w.pacer.Now())
		if n == 0 {
			w.armStall()
			err := http.NewResponseController(w.w).Flush()
			w.disarmStall()
			if err != nil {
				return total, err
			}
			if err := w.pacer.Wait(w.ctx, wait); err != nil {
				return total, err
			}
			continue
		}
		n = min(n, int64(len(p)))
		w.armStall()
		m, err := w.w.Write(p[:n])
		w.disarmStall()
		w.body += int64(m)
		total += m
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	return total, nil
}

// Flush implements http.Flusher.
func (w *h2Writer) Flush() {
	if !w.dropped {
		w.armStall()
		_ = http.NewResponseController(w.w).Flush()
		w.disarmStall()
	}
}

// SetReadDeadline bounds the next read of the stream's body
// (client_body_timeout).
func (w *h2Writer) SetReadDeadline(t time.Time) error {
	return http.NewResponseController(w.w).SetReadDeadline(t)
}

// SetWriteDeadline bounds the stream's writes.
func (w *h2Writer) SetWriteDeadline(t time.Time) error {
	return http.NewResponseController(w.w).SetWriteDeadline(t)
}

// Unwrap lets http.ResponseController reach Go's writer.
func (w *h2Writer) Unwrap() http.ResponseWriter { return w.w }

// dropStream ends the stream without a response (nginx's 444 and the like
// on HTTP/2: RST_STREAM); the handler resets it when it returns.
func (w *h2Writer) dropStream() { w.dropped = true }

// sentBytes is $bytes_sent and the head's part of it: the head as its
// fields' lengths plus a frame header (nginx counts the HPACK-encoded head,
// which is smaller) and the body with a frame header per DATA frame.
func (w *h2Writer) sentBytes() (total, head int64) {
	frames := (w.body + h2FrameGuess - 1) / h2FrameGuess
	return w.head + w.body + frames*9, w.head
}

// h2FrameGuess is the DATA frame size sentBytes assumes.
const h2FrameGuess = 16 << 10

// h2HeadSize estimates a HEADERS frame for h: a frame header, the status,
// each field's name and value with two bytes of HPACK framing.
func h2HeadSize(h http.Header) int64 {
	n := int64(9 + 1)
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 2)
		}
	}
	return n
}

// streamWriter is what the recorder asks of an HTTP/2 stream's writer
// (h2Writer): the answer to drop and the byte counts for the log.
type streamWriter interface {
	dropStream()
	sentBytes() (total, head int64)
}

var (
	_ streamWriter = (*h2Writer)(nil)
	_ ratePacer    = (*h2Writer)(nil)
)

// malformedError is nginx 1.22.1's info line for an HTTP/2 request it
// refuses with 400 while reading the head, which Go's HTTP/2 server
// passes on (malformedH2).
type malformedError string

func (e malformedError) Error() string { return string(e) }

// malformedH2 checks an HTTP/2 request's head as nginx 1.22.1 does where
// Go's server does not, and returns the refusal (a malformedError), nil
// for a head that passes. Recorded with nginx 1.22.1 and a raw HTTP/2
// client (400, these info lines):
//   - a method of other than A-Z, "_" and "-" ("GE T", "get", "G/T"):
//     client sent invalid method: "GE T". Go's server takes any method
//     without CR, LF or NUL, and the HTTP/1.1 request line to the upstream
//     would carry it as it came: "GE T /m HTTP/1.1" is another request
//     line to the backend than the one the location was chosen for;
//   - a Host field that differs from :authority, or a second Host field:
//     client sent duplicate host header: "host: evil.test", previous
//     value: "host: a.test". Go's server routes by :authority and keeps the
//     Host field, so $http_host (and a backend that reads it) would name
//     another site than the one chosen. nginx refuses a Host field equal
//     to :authority too; Go's server does not say whether :authority came,
//     so that one passes;
//   - a :path with a space or that does not start with "/" (nginxPath):
//     client sent invalid :path header: "/a?x y";
//   - Content-Length more than once: client sent duplicate header line:
//     "content-length: 4", previous value: "content-length: 3". Go's
//     server takes the first. The same for h2UniqueFields.
func malformedH2(r *http.Request) error {
	if !nginxMethod(r.Method) {
		return malformedError(`client sent invalid method: "` + r.Method + `" while reading client request headers`)
	}
	if r.Method != methodConnect && !nginxPath(r.RequestURI) {
		return malformedError(`client sent invalid :path header: "` + r.RequestURI + `" while reading client request headers`)
	}
	if hs := r.Header["Host"]; len(hs) > 1 || len(hs) == 1 && hs[0] != r.Host {
		prev, dup := r.Host, hs[0]
		if len(hs) > 1 {
			prev, dup = hs[0], hs[1]
		}
		return malformedError(`client sent duplicate host header: "host: ` + dup + `", previous value: "host: ` + prev + `" while reading client request headers`)
	}
	if cl := r.Header["Content-Length"]; len(cl) > 1 {
		return malformedError(`client sent duplicate header line: "content-length: ` + cl[1] + `", previous value: "content-length: ` + cl[0] + `" while reading client request headers`)
	}
	for _, name := range h2UniqueFields {
		if vs := r.Header[name]; len(vs) > 1 {
			lower := strings.ToLower(name)
			return malformedError(`client sent duplicate header line: "` + lower + `: ` + vs[1] + `", previous value: "` + lower + `: ` + vs[0] + `" while reading client request headers`)
		}
	}
	return nil
}

// h2UniqueFields are the fields besides Host and Content-Length that nginx
// 1.22.1 takes once (h1.UniqueField), as Go's server keys them: a second
// one is refused over HTTP/2 as over HTTP/1.1 (recorded: curl
// --http2-prior-knowledge with two If-Match fields, 400, client sent
// duplicate header line: "if-match: b", previous value: "if-match: a").
var h2UniqueFields = [...]string{"Authorization", "Content-Range", "Expect", "If-Match",
	"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since"}

// nginxPath reports whether p, an HTTP/2 request's :path, is one nginx
// 1.22.1's ngx_http_parse_uri takes: it starts with "/" and holds no
// space or control byte, in the path or the query (recorded with nginx
// 1.22.1 and curl --http2-prior-knowledge --request-target: "/a b",
// "/a?x y", "/a?x\ty", "*" and "a" are 400, "client sent invalid :path
// header"; bytes from 0x80 pass). Go's server refuses the control bytes
// and a :path without "/" other than "*" itself (a reset stream); a
// space it passes, and in the query it would go into the HTTP/1.1
// request line to the upstream ("GET /a?x y HTTP/1.1").
func nginxPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// nginxMethod reports whether m is a method nginx's HTTP/2 module takes
// (ngx_http_v2_parse_method): one or more of A-Z, "_" and "-".
func nginxMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

package stream

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/config"
	"fulcrum/internal/connset"
	"fulcrum/internal/deadline"
	"fulcrum/internal/errlog"
	"fulcrum/internal/mqtt"
	"fulcrum/internal/proxyproto"
	"fulcrum/internal/syslog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// The $status values of nginx's stream module.
const (
	statusOK = 200
	// statusForbidden ends a session the access rules refuse.
	statusForbidden = 403
	// statusInternalError is what nginx 1.22.1 logs for a failed TLS
	// handshake (NGX_STREAM_INTERNAL_SERVER_ERROR).
	statusInternalError = 500
	statusBadGateway    = 502
	// statusServiceUnavailable ends a session limit_conn refuses.
	statusServiceUnavailable = 503
)

// How a UDP session ended well, for session.udpEnd.
const (
	udpEndDone int32 = iota + 1
	udpEndTimedOut
)

// The sides of a session, for session.endedBy.
const (
	sideClient int32 = iota + 1
	sideUpstream
)

// session is one client connection proxied to one upstream server.
type session struct {
	// held are the limit_conn counts the session holds until it ends.
	held  []heldConn
	p     *Proxy
	srv   *server
	c     net.Conn
	id    uint64
	start time.Time

	// listen is the listen address as nginx's error lines print it.
	listen string
	// The addresses as the variables print them. remote and its strings
	// are the client's after realip; peer and its strings the
	// connection's own ($realip_remote_addr, $realip_remote_port).
	remote                 netip.AddrPort
	remoteAddr, remotePort string
	serverAddr, serverPort string
	peer                   netip.AddrPort
	peerAddr, peerPort     string

	// sock is the accepted connection under any TLS, from which a
	// "listen ... proxy_protocol" session reads its header (readPP).
	sock   net.Conn
	readPP bool
	// pp is what the PROXY protocol header said; nil without one, or for
	// a header without addresses. realIP says set_real_ip_from made its
	// source the client's address.
	pp     *proxyproto.Header
	realIP bool
	// tlvLogged are the $proxy_protocol_tlv_NAME names (after the prefix)
	// whose error line the session logged: one each, as nginx.
	tlvLogged []string

	status int
	// fromClient and toClient count the client's bytes ($bytes_received,
	// $bytes_sent); the copy goroutines add to them.
	fromClient, toClient atomic.Int64
	// tries are the upstream servers tried, in order ($upstream_*).
	tries   []try
	attempt balancer.Attempt
	// last is when a byte last moved either way (unix nanoseconds), for
	// proxy_timeout.
	last atomic.Int64
	// timedOut is set by the copy that found the session idle past
	// proxy_timeout.
	timedOut atomic.Bool
	// endedBy is the side whose end of data or error ended the session
	// (sideClient or sideUpstream; 0 before), for nginx's "client
	// disconnected" or "upstream disconnected" line.
	endedBy atomic.Int32
	// done is closed when the session is being torn down: pacing waits end.
	done     chan struct{}
	doneOnce sync.Once

	// slot says the session holds a worker_connections slot.
	slot bool
	// udp says the client is a UDP client (a *udpConn); requests and
	// responses count its datagrams each way (proxy_requests,
	// proxy_responses). udpEnd says how it ended well, for nginx's line
	// (udpEndDone, udpEndTimedOut; 0: neither).
	udp                 bool
	requests, responses atomic.Int64
	udpEnd              atomic.Int32
	// udpFailed says the UDP server's try failed although the session
	// may end well: a read from it failed (an ICMP port unreachable), or
	// answers were missing at proxy_timeout; nginx's finalize counts its
	// connection's read error against the server (max_fails).
	udpFailed atomic.Bool

	// vars are the values of the configuration's own variables (map,
	// geo, split_clients, set).
	vars varState
	// headerSent says the PROXY protocol header went to the upstream
	// server before the TLS handshake (proxy_ssl).
	headerSent bool
	// passValue is proxy_pass's value, when it has variables: its host
	// is proxy_ssl_name's default.
	passValue string

	mu sync.Mutex // guards up, for abort
	up net.Conn

	// ssl is the TLS connection's state, for the $ssl_* variables; nil
	// on a plain connection.
	ssl *sslState
	// hello is what ssl_preread read of a ClientHello; nil when it read
	// none. pending are the bytes it read, for the upstream server.
	hello   *hello
	pending []byte
	// mqtt is the CONNECT packet mqtt_preread or mqtt read, the first
	// mqttLen bytes of pending; nil when it read none.
	mqtt    *mqtt.Connect
	mqttLen int
	// ended says the session ended without nginx's "disconnected" line
	// at its end (ssl_preread's client closed or timed out, return).
	ended bool
}

// try is one upstream server tried by a session.
type try struct {
	addr string
	// connect, firstByte and session are the times from the start of the
	// connect to its end, to the first byte from the server and to the end
	// of the session; -1 when not reached.
	connect, firstByte, session time.Duration
	// sent and received count the bytes to and from the server.
	sent, received atomic.Int64
	began          time.Time
	// srv is the server tried (nil for the "no live upstreams" entry): the
	// first byte's time is added to its average (least_time first_byte).
	srv *upstream.Server
}

// newSession prepares the session of c, accepted for srv on the listen
// address printed listen (listener.text).
func (p *Proxy) newSession(c net.Conn, srv *server, listen string) *session {
	s := &session{p: p, srv: srv, c: c, listen: listen, id: p.seq.Add(1), start: p.opts.Clock(), done: make(chan struct{})}
	s.remoteAddr, s.remotePort, s.remote = splitAddr(c.RemoteAddr())
	s.peerAddr, s.peerPort, s.peer = s.remoteAddr, s.remotePort, s.remote
	s.sock = c
	s.serverAddr, s.serverPort, _ = splitAddr(c.LocalAddr())
	_, s.udp = c.(*udpConn)
	s.last.Store(s.start.UnixNano())
	p.sessions.Add(s)
	return s
}

// splitAddr splits a connection address into the strings the variables
// print; a unix socket's peer is "unix:" with no port.
func splitAddr(a net.Addr) (host, port string, ap netip.AddrPort) {
	var ok bool
	if ap, ok = addrPort(a); ok {
		return ap.Addr().Unmap().String(), strconv.Itoa(int(ap.Port())), ap
	}
	return "unix:", "", ap
}

// addrPort is a TCP or UDP address as a netip.AddrPort; false for others.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch t := a.(type) {
	case *net.TCPAddr:
		return t.AddrPort(), true
	case *net.UDPAddr:
		return t.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

func (s *session) now() time.Time { return s.p.opts.Clock() }

// errorLog returns the server's error log: its own, or the main error log
// of the configuration the session started under (server.errLog), or else
// the one in force.
func (s *session) errorLog() *errlog.Logger {
	if s.srv.errLog != nil {
		return s.srv.errLog
	}
	return s.p.opts.ErrorLog()
}

// logPlain writes "*ID msg" without the session's context, as nginx writes
// its info lines about connections.
func (s *session) logPlain(level errlog.Level, msg string) {
	if l := s.errorLog(); l.Enabled(level) {
		l.Log(level, "*"+strconv.FormatUint(s.id, 10)+" "+msg)
	}
}

// peers is the client and server part of nginx's stream context:
// ", client: ADDR, server: ADDR:PORT", "udp client" for a UDP session.
func (s *session) peers() string {
	client := ", client: "
	if s.udp {
		client = ", udp client: "
	}
	return client + s.remoteAddr + ", server: " + s.listen
}

// udpPrefix is "udp " for a UDP session, as nginx's lines about its
// connections say.
func (s *session) udpPrefix() string {
	if s.udp {
		return "udp "
	}
	return ""
}

// log writes msg to the server's error log with nginx's stream context.
func (s *session) log(level errlog.Level, msg string) {
	l := s.errorLog()
	if !l.Enabled(level) {
		return
	}
	line := "*" + strconv.FormatUint(s.id, 10) + " " + msg + s.peers()
	if n := len(s.tries); n > 0 {
		line += `, upstream: "` + s.tries[n-1].addr + `"`
	}
	if s.srv.ret != nil {
		// A return server's lines end with the peers: nginx's proxy
		// module adds the byte counts, and it never runs there (recorded
		// with nginx 1.22.1: `open() "..." failed (...) while returning
		// text, client: ..., server: ...`).
		l.Log(level, line)
		return
	}
	var up, down int64
	if n := len(s.tries); n > 0 {
		up, down = s.tries[n-1].sent.Load(), s.tries[n-1].received.Load()
	}
	line += ", bytes from/to client:" + strconv.FormatInt(s.fromClient.Load(), 10) + "/" + strconv.FormatInt(s.toClient.Load(), 10) +
		", bytes from/to upstream:" + strconv.FormatInt(down, 10) + "/" + strconv.FormatInt(up, 10)
	l.Log(level, line)
}

// run serves the session to its end.
func (s *session) run() {
	// Last, after the session's log lines: the table counted the
	// session in (enterCurrent) and may release its files now.
	defer s.srv.tab.life.Leave()
	if z := s.srv.zone; z != nil {
		z.Begin()
	}
	defer s.finish()
	if l := s.errorLog(); l.Enabled(errlog.Info) {
		s.logPlain(errlog.Info, s.udpPrefix()+"client "+s.c.RemoteAddr().String()+" connected to "+s.listen)
	}
	if s.readPP && !s.readProxyProtocol() {
		s.ended = true
		return
	}
	// nginx's preaccess phase (set, then limit_conn), then its access
	// phase, come before the TLS handshake.
	s.runSets()
	if !s.limitConns() {
		return
	}
	if !s.srv.allowed(s.clientAddr()) {
		s.logPlain(errlog.Error, "access forbidden by rule while initializing session"+s.peers())
		s.status = statusForbidden
		return
	}
	if !s.handshake() {
		s.status = statusInternalError
		return
	}
	if !s.preread() {
		return
	}
	if s.srv.ret != nil {
		s.answer()
		return
	}
	up := s.connect()
	if up == nil {
		if s.status == 0 { // else proxy_pass's value failed (passGroup)
			s.status = statusBadGateway
		}
		// What the client sent stays unread, so the close resets the
		// connection, as nginx 1.22.1's does: it reads from the client
		// only once an upstream server is connected.
		return
	}
	s.status = statusOK
	if s.srv.cfg.NoDelayOff {
		clearNoDelay(s.c)
		clearNoDelay(up)
	}
	s.proxy(up)
}

// clearNoDelay clears TCP_NODELAY (tcp_nodelay off) on c's TCP socket,
// under TLS too: Go sets it on every TCP connection, while nginx's stream
// proxy sets it on both sides only with tcp_nodelay on. Other connections
// (unix sockets, UDP) have none to clear.
func clearNoDelay(c net.Conn) {
	for {
		switch w := c.(type) {
		case *net.TCPConn:
			_ = w.SetNoDelay(false) // a socket that fails this is closing
			return
		case interface{ NetConn() net.Conn }: // *tls.Conn (ssl listen, proxy_ssl)
			c = w.NetConn()
		default:
			return
		}
	}
}

// answer sends the return directive's value and ends the session, as
// ngx_stream_return_module: nothing is read from a TCP client (a UDP
// client's datagram was, and counts in $bytes_received), $status is still
// "000" in the value, and no "disconnected" line follows (nginx 1.22.1).
func (s *session) answer() {
	if s.udp {
		s.fromClient.Add(int64(s.c.(*udpConn).first()))
	}
	v := s.srv.ret.appendValue(nil, s)
	s.status = statusOK
	s.ended = true
	_ = s.c.SetWriteDeadline(s.now().Add(s.srv.cfg.Timeout))
	n, _ := s.c.Write(v)
	s.toClient.Add(int64(n))
}

// handshake runs the TLS handshake of an ssl listen within
// ssl_handshake_timeout; false means it failed (logged at debug: nginx
// 1.22.1 logs nothing above debug for it).
func (s *session) handshake() bool {
	tc, ok := s.c.(*tls.Conn)
	if !ok {
		return true
	}
	_ = tc.SetDeadline(s.now().Add(s.srv.cfg.HandshakeTimeout))
	err := tc.Handshake()
	_ = tc.SetDeadline(time.Time{})
	if err == nil {
		return s.afterHandshake(tc)
	}
	s.failedHandshake(tc)
	if isTimeout(err) {
		s.logPlain(errlog.Debug, "client timed out (110: Connection timed out) while SSL handshaking"+s.peers())
		return false
	}
	level := errlog.Debug
	if errors.Is(err, errCertCallback) {
		level = errlog.Info // after the certificate's error line, as nginx 1.22.1 logs it
	}
	s.logPlain(level, "SSL_do_handshake() failed ("+err.Error()+") while SSL handshaking"+s.peers())
	return false
}

// connect picks servers and connects until one answers or the tries,
// proxy_next_upstream or proxy_next_upstream_timeout end; nil means 502.
func (s *session) connect() net.Conn {
	cfg := s.srv.cfg
	g := group{cfg: s.srv.cfg.Upstream, pool: s.srv.pool, policy: s.srv.policy, hashKey: s.srv.hashKey}
	if s.srv.pass != nil {
		pg := s.passGroup()
		if pg == nil {
			return nil
		}
		g = *pg
	}
	in := balancer.Input{MaxTries: cfg.NextUpstreamTries}
	if g.hashKey != nil {
		in.Key = string(g.hashKey.appendValue(nil, s))
	}
	if s.remote.IsValid() {
		in.ClientAddr = s.remote.Addr().Unmap()
	}
	s.attempt.Reset(g.pool, g.policy, in)
	s.bindLocal()
	begin := s.now()
	for {
		u, err := s.attempt.Next(s.now())
		if err != nil {
			// nginx records the upstream's name as the server tried:
			// $upstream_addr ends with it, and the error line names it.
			s.tries = append(s.tries, try{addr: g.name(), connect: -1, firstByte: -1, session: 0, began: s.now()})
			if s.udp {
				// nginx counts a UDP session's datagram as received when the
				// session starts (ngx_stream_init_connection): its error
				// line and $bytes_received show it, though no pipe read it.
				s.fromClient.Add(int64(s.c.(*udpConn).first()))
			}
			s.log(errlog.Error, "no live upstreams while connecting to upstream")
			return nil
		}
		c, while := s.dial(u)
		if c != nil {
			if !s.udp {
				// nginx marks a TCP server live once connected (its
				// stream round robin's notify), not at the session's end.
				s.attempt.Connected(s.now())
			}
			return c
		}
		if while == "" {
			// A client certificate that did not load: nginx 1.22.1 ends
			// the session (500), with no retry and no failure counted.
			s.attempt.Release(s.now(), upstream.Neutral)
			return nil
		}
		// A failed try's $upstream_session_time is how long it took, as
		// nginx 1.22.1 logs it.
		t := &s.tries[len(s.tries)-1]
		t.session = s.now().Sub(t.began)
		if s.isDone() { // aborted by a stop during the handshake
			s.attempt.Release(s.now(), upstream.Neutral)
			return nil
		}
		if s.attempt.Release(s.now(), upstream.Failure) {
			s.log(errlog.Warn, "upstream server temporarily disabled while "+while)
		}
		if !cfg.NextUpstream || s.attempt.Tries() == 0 ||
			cfg.NextUpstreamTimeout > 0 && s.now().Sub(begin) >= cfg.NextUpstreamTimeout {
			return nil
		}
	}
}

// dial connects to u within proxy_connect_timeout and, with proxy_ssl
// (TCP only, as in nginx), runs the TLS handshake; nil means it failed
// (logged), and while then says at which step, for the log: a failed
// handshake is a failed attempt of the server, as a failed connect is.
func (s *session) dial(u *upstream.Server) (c net.Conn, while string) {
	addr := u.Addr()
	if u.Network() == "unix" {
		addr = "unix:" + addr
	}
	s.tries = append(s.tries, try{addr: addr, connect: -1, firstByte: -1, session: -1, began: s.now(), srv: u})
	t := &s.tries[len(s.tries)-1]
	// SO_KEEPALIVE only with proxy_socket_keepalive on, with the
	// system's intervals, as nginx sets it.
	d := net.Dialer{Timeout: s.srv.cfg.ConnectTimeout, KeepAlive: -1}
	if s.srv.cfg.SocketKeepalive {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	bind := s.local()
	if bind != nil {
		d.LocalAddr = bind
		if s.srv.cfg.BindTransparent {
			d.Control = bindaddr.Transparent
		}
	}
	network := u.Network()
	if s.udp && network == "unix" {
		network = "unixgram"
	} else if s.udp {
		network = "udp"
	}
	if bind != nil && s.udp {
		d.LocalAddr = &net.UDPAddr{IP: bind.IP, Port: bind.Port}
	}
	c, err := d.Dial(network, u.Addr())
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.log(errlog.Error, "upstream timed out (110: Connection timed out) while connecting to upstream")
		} else {
			msg, crit := errlog.ConnectFailed(err, "connecting to upstream")
			level := errlog.ConnectLevel(crit)
			s.log(level, msg)
		}
		return nil, "connecting to upstream"
	}
	if s.srv.upstream != nil && !s.udp {
		local := c.LocalAddr().String()
		var certFailed bool
		if c, certFailed = s.startTLS(c, t, u.Addr()); certFailed {
			return nil, "" // not the server's failure
		} else if c == nil {
			return nil, "SSL handshaking to upstream"
		}
		// nginx's line and $upstream_connect_time come after the handshake.
		t.connect = s.now().Sub(t.began)
		s.attempt.Sample(upstream.MetricConnect, t.connect)
		s.logPlain(errlog.Info, "proxy "+local+" connected to "+addr)
		return c, ""
	}
	t.connect = s.now().Sub(t.began)
	s.attempt.Sample(upstream.MetricConnect, t.connect)
	s.logPlain(errlog.Info, s.udpPrefix()+"proxy "+c.LocalAddr().String()+" connected to "+addr)
	return c, ""
}

// startTLS sends the PROXY protocol header, if any, in the clear (nginx
// sends it before the handshake), then runs proxy_ssl's handshake on c,
// the connection of try t to the server at addr; nil means either failed
// (logged), and certFailed that a client certificate named with variables
// did not load (handshakeUpstream).
func (s *session) startTLS(c net.Conn, t *try, addr string) (_ net.Conn, certFailed bool) {
	if s.srv.cfg.ProxyProtocol {
		header := proxyproto.V1Header(s.clientAddr(), s.c.LocalAddr())
		_ = c.SetWriteDeadline(s.now().Add(s.srv.cfg.ConnectTimeout))
		n, err := c.Write(header)
		t.sent.Add(int64(n))
		if err != nil {
			c.Close()
			s.log(errlog.Error, "send() failed ("+errlog.Errno(err)+") while SSL handshaking to upstream")
			return nil, false
		}
		_ = c.SetWriteDeadline(time.Time{})
		s.headerSent = true
	}
	return s.handshakeUpstream(c, addr)
}

// proxy copies both ways until the session ends.
func (s *session) proxy(up net.Conn) {
	s.mu.Lock()
	s.up = up
	aborted := s.isDone()
	s.mu.Unlock()
	if aborted {
		return
	}
	t := &s.tries[len(s.tries)-1]
	var header []byte
	if s.srv.cfg.ProxyProtocol && !s.headerSent {
		header = proxyproto.V1Header(s.clientAddr(), s.c.LocalAddr())
	}
	if header != nil && !s.udp {
		if _, err := up.Write(header); err != nil {
			return
		}
		t.sent.Add(int64(len(header)))
		header = nil // a UDP session's goes before its first datagram
	}
	if s.srv.cfg.MQTT {
		var ok bool
		if s.pending, ok = s.rewriteConnect(); !ok {
			s.status = statusInternalError
			return
		}
	}
	if len(s.pending) > 0 { // what ssl_preread and mqtt_preread read
		n, err := up.Write(s.pending)
		t.sent.Add(int64(n))
		if err != nil {
			return
		}
	}
	upRate := s.rate(s.srv.cfg.UploadRate, s.srv.uploadRate)
	downRate := s.rate(s.srv.cfg.DownloadRate, s.srv.downloadRate)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.pipe(up, s.c, upRate, &s.fromClient, &t.sent, nil, header)
	}()
	s.pipe(s.c, up, downRate, &t.received, &s.toClient, t, nil)
	wg.Wait()
	t.session = s.now().Sub(t.began)
}

// rate is proxy_upload_rate's or proxy_download_rate's value v for the
// session: its size, or, with variables (t), the evaluated value parsed
// as a size; a value that is no size is no limit, logged as nginx 1.22.1
// logs it (recorded: `invalid size "abc" while connecting to upstream`,
// at error, upload's before download's).
func (s *session) rate(v config.SizeValue, t *template) int64 {
	if t == nil {
		return v.N
	}
	b := t.appendValue(nil, s)
	n, ok := vars.ParseSize(b)
	if !ok {
		s.log(errlog.Error, `invalid size "`+string(b)+`" while connecting to upstream`)
		return 0
	}
	return n
}

// pipe copies from src to dst, counting read and written bytes, pacing to
// rate bytes a second (0: no limit), until src ends or fails, the session
// times out, or the session ends. first, when set, records the time of the
// first byte read. Without proxy_half_close the first side to end ends the
// session.
func (s *session) pipe(dst, src net.Conn, rate int64, read, written *atomic.Int64, first *try, header []byte) {
	size := 16 * 1024
	if s.udp {
		size = 64 * 1024 // a whole datagram
	}
	buf := make([]byte, len(header)+size)
	copy(buf, header)
	timeout := s.srv.cfg.Timeout
	began := s.now()
	var total int64
	for {
		size, ok := s.allowance(began, total, rate, size)
		if !ok {
			return
		}
		h := len(header)
		n, err := s.read(src, buf[h:h+size], timeout)
		if n > 0 && s.udp && first != nil && s.udpDone() {
			return // nginx ended the session before this answer came
		}
		if n > 0 {
			s.last.Store(s.now().UnixNano())
			if first != nil && first.firstByte < 0 {
				first.firstByte = s.now().Sub(first.began)
				if first.srv != nil {
					first.srv.Sample(upstream.MetricHeader, first.firstByte)
				}
			}
			read.Add(int64(n))
			total += int64(n)
			counted := 0
			if s.udp && first == nil {
				// Counted before it goes: its answer (or the server's
				// ICMP error) may come back before this goroutine runs
				// again.
				s.requests.Add(1)
				counted = h + n
				written.Add(int64(counted))
			}
			w, werr := s.write(dst, buf[:h+n], timeout)
			written.Add(int64(w - counted))
			if werr != nil {
				if s.udp && first == nil {
					s.requests.Add(-1)
				}
				s.end()
				return
			}
			if h > 0 {
				header = nil
				copy(buf, buf[h:h+n])
			}
			if s.udp && s.countDatagram(first == nil) {
				return
			}
		}
		if err == nil {
			continue
		}
		if first != nil && first.firstByte < 0 && !isTimeout(err) && !errors.Is(err, net.ErrClosed) {
			// nginx's ngx_stream_proxy_process takes a read that ends the
			// stream (the server closed, or refused a datagram) as its first
			// "byte" too: $upstream_first_byte_time is set, 0 bytes received
			// (recorded with nginx 1.22.1). Not a sample for least_time.
			first.firstByte = s.now().Sub(first.began)
		}
		if s.udp && first != nil && !isTimeout(err) && !errors.Is(err, net.ErrClosed) {
			s.udpReadFailed(dst, err)
			return
		}
		if isTimeout(err) && s.now().Sub(time.Unix(0, s.last.Load())) < timeout {
			continue // the other direction moved: the session is not idle
		}
		if isTimeout(err) && s.timedOut.CompareAndSwap(false, true) {
			s.idle()
		}
		side := sideClient
		if first != nil {
			side = sideUpstream
		}
		if !errors.Is(err, net.ErrClosed) { // else the other copy ended the session
			s.readFailed(side, err)
		}
		if errors.Is(err, io.EOF) && s.srv.cfg.HalfClose {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
				s.endedBy.Store(side) // the last side to end names the line
				return
			}
		}
		s.endedBy.CompareAndSwap(0, side)
		s.end()
		return
	}
}

// read reads from src with proxy_timeout from now. At the stall edge (the
// bytes came as the deadline passed, while this goroutine was away) it
// reads once more with the deadline set afresh, as nginx, which handles
// the read event before it expires the timer, reads them and moves the
// timer (deadline.Stalled); a src with nothing to read times out.
func (s *session) read(src net.Conn, p []byte, timeout time.Duration) (int, error) {
	_ = src.SetReadDeadline(s.now().Add(timeout))
	n, err := src.Read(p)
	if deadline.Stalled(src, err) {
		_ = src.SetReadDeadline(s.now().Add(timeout))
		n, err = src.Read(p)
	}
	return n, err
}

// write writes p to dst with proxy_timeout from now, and the rest once more
// with the deadline set afresh when the deadline passed although dst had
// room (deadline.WriteStalled; not under TLS, which cannot write again).
func (s *session) write(dst net.Conn, p []byte, timeout time.Duration) (int, error) {
	_ = dst.SetWriteDeadline(s.now().Add(timeout))
	n, err := dst.Write(p)
	if deadline.WriteStalled(dst, err) {
		_ = dst.SetWriteDeadline(s.now().Add(timeout))
		var more int
		more, err = dst.Write(p[n:])
		n += more
	}
	return n, err
}

// readFailed logs a read from side that failed with err other than at its
// end of data, as nginx's recv() line: at error for the upstream server, at
// info for the client (nginx 1.22.1).
func (s *session) readFailed(side int32, err error) {
	if errors.Is(err, io.EOF) || isTimeout(err) {
		return
	}
	if side == sideUpstream {
		s.log(errlog.Error, "recv() failed ("+errlog.Errno(err)+") while proxying and reading from upstream")
		return
	}
	s.log(errlog.Info, "recv() failed ("+errlog.Errno(err)+") while proxying and reading from client")
}

// udpReadFailed is a failed read from a UDP server (its port is closed:
// ECONNREFUSED from an ICMP port unreachable), as nginx 1.22.1 handles it
// (recorded): the recv() line, an empty datagram to the client that counts
// as an answer, no more reads from the server; the session goes on until
// it is done or idle, and the server's try counts as failed.
func (s *session) udpReadFailed(client net.Conn, err error) {
	s.readFailed(sideUpstream, err)
	s.udpFailed.Store(true)
	if s.udpDone() {
		return
	}
	_ = client.SetWriteDeadline(s.now().Add(s.srv.cfg.Timeout))
	_, _ = client.Write(nil)
	s.countDatagram(false)
}

// countDatagram counts a UDP datagram passed on from the server (client
// datagrams are counted before they go, by pipe), and reports whether
// this direction is done: after proxy_requests client datagrams the
// client's next datagram starts another session; the session ends once
// done says so.
func (s *session) countDatagram(up bool) bool {
	if up {
		if r := s.srv.cfg.Requests; r > 0 && s.requests.Load() >= int64(r) {
			s.c.(*udpConn).forget()
			if !s.udpDone() {
				return true
			}
		} else if !s.udpDone() {
			return false
		}
	} else if s.responses.Add(1); !s.udpDone() {
		return false
	}
	s.udpEnd.Store(udpEndDone)
	s.end()
	return true
}

// udpDone is nginx's test that a UDP session is done: it took its
// proxy_requests datagrams (when set), and proxy_responses answers came
// for each (never without proxy_responses; at once with 0).
func (s *session) udpDone() bool {
	cfg := s.srv.cfg
	if cfg.Requests > 0 && s.requests.Load() < int64(cfg.Requests) {
		return false
	}
	return cfg.Responses >= 0 && s.responsesCame()
}

// responsesCame says proxy_responses answers came for each client
// datagram (the datagrams are counted on arrival, so that a quick second
// request counts before the first answer comes back); true without
// proxy_responses.
func (s *session) responsesCame() bool {
	r := s.srv.cfg.Responses
	return r < 0 || s.responses.Load() >= s.c.(*udpConn).got.Load()*int64(r)
}

// idle logs the session's proxy_timeout, as nginx: a UDP session whose
// answers all came (or that expects no count) ends well ("udp timed
// out"); one still waiting for answers is the upstream's timeout, $status
// 502.
func (s *session) idle() {
	switch {
	case !s.udp:
		s.log(errlog.Info, "connection timed out (110: Connection timed out) while proxying connection")
	case s.responsesCame():
		s.udpEnd.Store(udpEndTimedOut)
	default:
		s.log(errlog.Error, "upstream timed out (110: Connection timed out) while proxying connection")
		s.status = statusBadGateway
		s.udpFailed.Store(true)
	}
}

// allowance is how many bytes the next read may take: with
// a rate, nginx's rule in ngx_stream_proxy_process, rate × (whole seconds
// since began + 1) − total, waiting for the next whole second while that
// is not positive; most caps it. false means the session ended while it waited.
func (s *session) allowance(began time.Time, total, rate int64, most int) (int, bool) {
	if rate <= 0 {
		return most, true
	}
	for {
		elapsed := s.now().Sub(began)
		if limit := rate*(int64(elapsed/time.Second)+1) - total; limit > 0 {
			return int(min(int64(most), limit)), true
		}
		// The limit turns positive at the whole second total/rate.
		wait := time.Duration(total/rate)*time.Second - elapsed
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return 0, false
		}
	}
}

// logPackets writes nginx's line at the end of a UDP session: "*ID msg,
// packets from/to client:N/M", then logBytes's counts.
func (s *session) logPackets(msg string) {
	s.logBytes(errlog.Info, msg+", packets from/to client:"+strconv.FormatInt(s.requests.Load(), 10)+"/"+strconv.FormatInt(s.responses.Load(), 10))
}

// logBytes writes "*ID msg, bytes from/to client:..., bytes from/to
// upstream:...", nginx's line at the end of a session.
func (s *session) logBytes(level errlog.Level, msg string) {
	var up, down int64
	if n := len(s.tries); n > 0 {
		up, down = s.tries[n-1].sent.Load(), s.tries[n-1].received.Load()
	}
	s.logPlain(level, msg+", bytes from/to client:"+strconv.FormatInt(s.fromClient.Load(), 10)+"/"+strconv.FormatInt(s.toClient.Load(), 10)+
		", bytes from/to upstream:"+strconv.FormatInt(down, 10)+"/"+strconv.FormatInt(up, 10))
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// isDone reports whether end or abort ran.
func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// end closes both connections, which ends both copies.
func (s *session) end() {
	s.doneOnce.Do(func() { close(s.done) })
	s.c.Close()
	s.mu.Lock()
	if s.up != nil {
		s.up.Close()
	}
	s.mu.Unlock()
}

// abort ends the session from outside (shutdown).
func (s *session) abort() { s.end() }

// finish releases the server, writes the access log and forgets the
// session.
func (s *session) finish() {
	s.end()
	s.releaseConns()
	if srv, n := s.attempt.Server(), len(s.tries); srv != nil && n > 0 {
		// The runtime API's and the metrics' sent and received bytes.
		srv.Account(0, s.tries[n-1].sent.Load(), s.tries[n-1].received.Load())
	}
	failed := s.udp && s.udpFailed.Load()
	if n := len(s.tries); !failed && n > 0 && s.status == statusOK {
		s.attempt.Sample(upstream.MetricLastByte, s.now().Sub(s.tries[n-1].began))
	}
	if !failed {
		s.attempt.Release(s.now(), upstream.Success)
	}
	switch end := s.udpEnd.Load(); {
	case end == udpEndDone:
		s.logPackets("udp done")
	case end == udpEndTimedOut:
		s.logPackets("udp timed out")
	case s.udp:
		// nginx 1.22.1 has no other line at a UDP session's end.
	case s.status == statusOK && !s.timedOut.Load() && !s.ended:
		if s.endedBy.Load() == sideUpstream {
			s.logBytes(errlog.Info, "upstream disconnected")
		} else {
			s.logBytes(errlog.Info, "client disconnected")
		}
	}
	if failed && s.attempt.Release(s.now(), upstream.Failure) {
		// After the session's own line, as nginx frees the peer.
		s.log(errlog.Warn, "upstream server temporarily disabled while proxying connection")
	}
	for _, l := range s.srv.logs {
		l.write(s)
	}
	if z := s.srv.zone; z != nil {
		z.End(s.status, s.fromClient.Load(), s.toClient.Load())
	}
	s.p.sessions.Remove(s)
	if s.slot {
		connset.GiveSlot(s.p.opts.Slots)
	}
}

// write appends the session's line to l's file.
func (l *accessLog) write(s *session) {
	if l.file == nil && l.path == nil && l.peer == nil {
		return
	}
	if l.cond != nil {
		v := l.cond.appendValue(nil, s)
		if len(v) == 0 || string(v) == "0" {
			return
		}
	}
	if l.peer != nil {
		l.send(s)
		return
	}
	line := append(l.format.appendLog(make([]byte, 0, 256), s, l.escape), '\n')
	if l.path == nil {
		l.file.write(line)
		return
	}
	path := string(l.path.appendValue(nil, s))
	f, err := openAppend(path, 0o644)
	if err != nil { // nginx 1.22.1: `open() "PATH" failed (13: Permission denied) while returning text` at crit
		s.log(errlog.Crit, err.Error()+s.action())
		return
	}
	if _, err := f.Write(line); err != nil {
		s.log(errlog.Crit, `write() to "`+path+`" failed (`+errlog.Errno(err)+")"+s.action())
	}
	if f != os.Stderr {
		f.Close()
	}
}

// send sends the session's line to l's syslog: target as one datagram. A
// failed socket, connect or send is logged without the session at alert
// (a refused send at error), then `send() to syslog failed` at warn with
// it, as nginx's ngx_stream_log_handler.
func (l *accessLog) send(s *session) {
	d := l.peer.AppendHeader(make([]byte, 0, 256), l.peer.Severity(), time.Now())
	err := l.peer.Send(l.format.appendLog(d, s, l.escape))
	if err == nil {
		return
	}
	var oe *syslog.OpError
	if errors.As(err, &oe) {
		level := errlog.Alert
		if !oe.Alert() {
			level = errlog.Error
		}
		s.p.opts.ErrorLog().LogQuiet(level, oe.Error())
	}
	s.log(errlog.Warn, "send() to syslog failed"+s.action())
}

// action is the " while ..." of the session's error lines: what nginx's
// stream handler was doing (returning text for return, proxying otherwise).
func (s *session) action() string {
	if s.srv.ret != nil {
		return " while returning text"
	}
	return " while proxying connection"
}

// readProxyProtocol reads the PROXY protocol header of a "listen ...
// proxy_protocol" session within proxy_protocol_timeout, as nginx 1.22's
// ngx_stream_proxy_protocol_handler: it peeks at up to 107 bytes of what
// came first and takes only the header's, so the payload after it is
// proxied. With set_real_ip_from trusting the connection, the header's
// source becomes the client's address (ngx_stream_realip_module). False
// ends the session, as nginx 1.22.1 ends it (recorded): a broken header
// (or a close before any byte, nginx's broken header "") with its error
// line and $status 400; a timeout with an info line and $status 200.
func (s *session) readProxyProtocol() bool {
	sc, ok := s.sock.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		s.status = statusBadRequest
		return false
	}
	_ = s.sock.SetReadDeadline(s.now().Add(s.srv.cfg.ProxyProtocolTimeout))
	h, err := proxyproto.Read(raw, proxyproto.MaxHeader, false)
	_ = s.sock.SetReadDeadline(time.Time{})
	if err != nil {
		s.failedProxyProtocol(err)
		return false
	}
	s.pp = h
	s.applyRealIP()
	return true
}

// failedProxyProtocol logs why the header could not be read and sets the
// session's status, as nginx 1.22.1 does.
func (s *session) failedProxyProtocol(err error) {
	const while = " while reading PROXY protocol"
	if errors.Is(err, io.EOF) {
		err = &proxyproto.Error{Msg: `broken header: ""`}
	}
	if e, ok := proxyproto.IsInvalid(err); ok {
		s.status = statusBadRequest
		if e.Msg != "" {
			s.logPlain(errlog.Error, e.Msg+while+s.peers())
		}
		return
	}
	s.status = statusOK
	if isTimeout(err) {
		s.logPlain(errlog.Info, "client timed out (110: Connection timed out)"+while+s.peers())
		return
	}
	s.logPlain(errlog.Info, "recv() failed ("+errlog.Errno(err)+")"+while+s.peers())
}

// applyRealIP makes the PROXY protocol header's source the client's
// address when set_real_ip_from trusts the connection, as nginx's stream
// realip module: a header without addresses, or whose source is not an IP
// address, leaves the connection's.
func (s *session) applyRealIP() {
	if s.pp == nil || !s.srv.trustsRealIP(s.peer.Addr()) {
		return
	}
	a, err := netip.ParseAddr(s.pp.SrcAddr)
	if err != nil || a.Zone() != "" {
		return
	}
	s.realIP = true
	s.remote = netip.AddrPortFrom(a, s.pp.SrcPort)
	s.remoteAddr = proxyproto.FormatAddr(a)
	s.remotePort = ""
	if s.pp.SrcPort != 0 {
		s.remotePort = strconv.Itoa(int(s.pp.SrcPort))
	}
}

// clientAddr is the client's address after realip, as a net.Addr: the
// connection's own unless set_real_ip_from applied.
func (s *session) clientAddr() net.Addr {
	if !s.realIP {
		return s.c.RemoteAddr()
	}
	return net.TCPAddrFromAddrPort(s.remote)
}

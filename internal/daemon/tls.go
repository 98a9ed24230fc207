package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"fulcrum/internal/certcache"
	"fulcrum/internal/clientauth"
	"fulcrum/internal/clientocsp"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/sessioncache"
	"fulcrum/internal/sessionticket"
	"fulcrum/internal/stapling"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// TLS termination (nginx's ngx_http_ssl_module). A listen address with the
// ssl parameter gets one tls.Config per snapshot, made from its default
// server's settings (versions, suites, curves, tickets: as in nginx, where
// the SNI callback switches only the certificate); GetCertificate picks the
// certificates of the server whose server_name matches the SNI name. Each
// accepted connection is wrapped in an sslConn, which is not a syscall.Conn,
// so the engine takes its net.Conn path for it (no raw socket fast paths; the
// abort check still polls the socket under it) and plain connections are
// untouched.

// buildTLS makes the tls.Config of every ssl address of the snapshot;
// old are the running snapshot's shared session caches (nil: none). Its
// only error is an ssl_key_log file that cannot be opened.
func (s *snapshot) buildTLS(old sessioncache.Zones) error {
	st := &staplers{log: s.log, sessions: sessioncache.Zones{}, oldSessions: old}
	s.sessions = st.sessions
	defer func() { s.dynCerts = st.dyn }()
	oc := &ocspCheckers{log: s.log}
	for _, l := range s.router.Listeners() {
		for _, h := range l.Addresses() {
			if !h.SSL && h.HTTP2 {
				if s.h2c == nil {
					s.h2c = map[*router.Hosts]bool{}
				}
				s.h2c[h] = true
				continue
			}
			if !h.SSL || h.DefaultServer.Config.TLS == nil {
				continue // config.Load refused an ssl address without certificates
			}
			if s.tls == nil {
				s.tls = map[*router.Hosts]*tlsAddr{}
			}
			a, err := newTLSAddr(h, st, oc, s.keyLogs)
			if err != nil {
				return err
			}
			s.tls[h] = a
		}
	}
	return nil
}

// tlsAddr is one ssl address's TLS: the handshake's configuration and the
// client-certificate verifiers of its servers.
type tlsAddr struct {
	cfg   *tls.Config
	hosts *router.Hosts
	// verifiers are the verifiers of the servers with ssl_verify_client
	// other than off; nil when there is none.
	verifiers map[*router.Server]*clientauth.Verifier
	// ocsp are the OCSP checkers of the servers with ssl_verify_client
	// and ssl_ocsp on; nil when there is none.
	ocsp map[*router.Server]*clientocsp.Checker
	// h2 reports that a handshake on the address may choose HTTP/2: the
	// engine then makes the handshake before it reads a request, to know
	// which protocol serves the connection.
	h2 bool
}

// newTLSAddr makes the TLS settings of one ssl address. When a server on it
// verifies client certificates, the handshake takes that server's
// configuration (by the SNI name, as nginx's ngx_http_ssl_servername
// switches the verify mode and depth) with crypto/tls's RequestClientCert:
// the certificate is asked for, with the CA names of ssl_client_certificate,
// but never checked by the handshake, so that a missing or bad one becomes
// the request's 496 or 495 (or its error_page), as in nginx, not a failed
// handshake. The protocols ALPN offers are the SNI server's too (alpn).
// oc makes the ssl_ocsp checkers. The key log (ssl_key_log) is the SNI
// server's too; kl opens its files.
func newTLSAddr(h *router.Hosts, st *staplers, oc *ocspCheckers, kl keyLogs) (*tlsAddr, error) {
	a := &tlsAddr{cfg: tlsConfig(h, st), hosts: h}
	a.cfg.NextProtos = alpn(h, h.DefaultServer)
	var err error
	if a.cfg.KeyLogWriter, err = kl.writer(h.DefaultServer.Config.TLS); err != nil {
		return nil, err
	}
	a.h2 = h.HTTP2
	var perServer map[*router.Server]*tls.Config
	for _, srv := range h.Servers {
		t := srv.Config.TLS
		verify := t != nil && t.ClientAuth.Verify != config.VerifyOff
		protos := alpn(h, srv)
		a.h2 = a.h2 || len(protos) > 1
		keyLog, err := kl.writer(t)
		if err != nil {
			return nil, err
		}
		if !verify && len(protos) == len(a.cfg.NextProtos) && keyLog == a.cfg.KeyLogWriter {
			continue
		}
		c := a.cfg.Clone()
		c.NextProtos = protos
		c.KeyLogWriter = keyLog
		if perServer == nil {
			perServer = map[*router.Server]*tls.Config{}
		}
		perServer[srv] = c
		if verify {
			v := clientauth.New(t.ClientAuth)
			c.ClientAuth, c.ClientCAs = tls.RequestClientCert, v.Names
			if a.verifiers == nil {
				a.verifiers = map[*router.Server]*clientauth.Verifier{}
			}
			a.verifiers[srv] = v
			if t.ClientAuth.OCSP != config.OCSPOff {
				if a.ocsp == nil {
					a.ocsp = map[*router.Server]*clientocsp.Checker{}
				}
				a.ocsp[srv] = oc.get(srv)
			}
		}
	}
	a.cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if pc, ok := hello.Conn.(*prefixConn); ok {
			// For $ssl_ciphers and $ssl_curves: the slices are the
			// handshake's own, kept without a copy.
			pc.ciphers = hello.CipherSuites
			pc.curves = curveIDs(hello.SupportedCurves)
		}
		srv, err := a.sniLookup(hello.ServerName)
		if err != nil || perServer == nil {
			return nil, err // nil: the address's own
		}
		return perServer[srv], nil // nil: the address's own
	}
	return a, nil
}

// curveIDs returns the TLS identifiers of curves.
func curveIDs(curves []tls.CurveID) []uint16 {
	ids := make([]uint16, len(curves))
	for i, c := range curves {
		ids[i] = uint16(c)
	}
	return ids
}

// alpn is the protocols a handshake whose SNI name chose srv offers, in
// order of preference: "h2" first when the address has the listen
// parameter http2 or srv has "http2 on" (nginx 1.25's rule in
// ngx_http_ssl_alpn_select: h2scf->enable || addr_conf->http2), then
// "http/1.1".
func alpn(h *router.Hosts, srv *router.Server) []string {
	if h.HTTP2 || srv.Config.Settings != nil && srv.Config.Settings.HTTP2 {
		return protosH2
	}
	return protosH1
}

var (
	protosH1 = []string{"http/1.1"}
	protosH2 = []string{"h2", "http/1.1"}
)

// sniServer is the server whose TLS settings a handshake with SNI name uses:
// the one the name selects if it has TLS settings, else the address's
// default server.
func (a *tlsAddr) sniServer(name string) *router.Server {
	srv, _ := a.sniLookup(name)
	return srv
}

// sniLookup is sniServer with the error of a regex server_name whose match
// on name hit its bound (a sniMatchError; the server is then the default).
func (a *tlsAddr) sniLookup(name string) (*router.Server, error) {
	if n, err := router.NormalizeHost(name); err == nil && n != "" {
		m := a.hosts.Server(n)
		if m.Err != nil {
			return a.hosts.DefaultServer, sniMatchError{m.Err}
		}
		if srv := m.Server; srv != nil && srv.Config.TLS != nil {
			return srv, nil
		}
	}
	return a.hosts.DefaultServer, nil
}

// sniMatchError fails a handshake whose SNI name a regex server_name could
// not settle within its bound: crypto/tls sends the internal_error alert,
// as nginx's ngx_http_ssl_servername does when
// ngx_http_find_virtual_server fails, and logHandshake logs it at alert.
type sniMatchError struct{ err error }

func (e sniMatchError) Error() string { return e.err.Error() }
func (e sniMatchError) Unwrap() error { return e.err }

// clientCert verifies the certificate a client sent, with the settings of
// the server its handshake used; nil when it sent none. With ssl_ocsp, a
// chain that verified is then checked with the OCSP responders, as
// nginx's ngx_ssl_ocsp_validate does after the handshake: this runs on the
// connection's goroutine when its first request is read, so a slow
// responder holds back only this connection (each request bounded by the
// server's client_header_timeout).
func (a *tlsAddr) clientCert(st *tls.ConnectionState) (*vars.ClientCert, clientauth.Result) {
	if len(st.PeerCertificates) == 0 || a.verifiers == nil {
		return nil, clientauth.Result{}
	}
	srv := a.sniServer(st.ServerName)
	v := a.verifiers[srv]
	if v == nil {
		return nil, clientauth.Result{}
	}
	res, chain := v.VerifyChain(st.PeerCertificates, time.Now())
	if ch := a.ocsp[srv]; ch != nil && res.OK() {
		res.OCSP = ch.Check(context.Background(), chain, time.Now())
	}
	return &vars.ClientCert{Cert: st.PeerCertificates[0], Verify: res.Variable()}, res
}

// ocspCheckers makes the ssl_ocsp checkers of one snapshot, one per
// server, and the ssl_ocsp_cache zones they share by name.
type ocspCheckers struct {
	log    *errlog.Logger
	by     map[*router.Server]*clientocsp.Checker
	caches map[string]*clientocsp.Cache
}

func (oc *ocspCheckers) get(srv *router.Server) *clientocsp.Checker {
	if ch := oc.by[srv]; ch != nil {
		return ch
	}
	a := srv.Config.TLS.ClientAuth
	opts := clientocsp.Options{Leaf: a.OCSP == config.OCSPLeaf, Responder: a.OCSPResponder, Timeout: ocspTimeout}
	// nginx gives the responder's connection no timer of its own: the
	// client waits in its handshake until client_header_timeout closes
	// it (checked with nginx 1.22.1). fulcrum bounds each request by
	// client_header_timeout and then refuses the certificate (495).
	if set := srv.Config.Settings; set != nil && set.ClientHeaderTimeout > 0 {
		opts.Timeout = set.ClientHeaderTimeout
	}
	if z := a.OCSPCache; z != nil {
		opts.Cache = oc.caches[z.Name]
		if opts.Cache == nil {
			opts.Cache = clientocsp.NewCache(z.Size)
			if oc.caches == nil {
				oc.caches = map[string]*clientocsp.Cache{}
			}
			oc.caches[z.Name] = opts.Cache
		}
	}
	log := oc.log
	opts.Log = func(msg string) { log.Log(errlog.Error, msg) }
	ch := clientocsp.New(opts)
	if oc.by == nil {
		oc.by = map[*router.Server]*clientocsp.Checker{}
	}
	oc.by[srv] = ch
	return ch
}

// tlsConfig is the handshake configuration of one ssl address; st makes
// the OCSP staplers of its certificates (ssl_stapling).
func tlsConfig(h *router.Hosts, st *staplers) *tls.Config {
	t := h.DefaultServer.Config.TLS
	certs := map[*router.Server]*serverCerts{}
	for _, srv := range h.Servers {
		if srv.Config.TLS != nil && len(srv.Config.TLS.Certificates) > 0 {
			certs[srv] = st.serverCerts(srv.Config.TLS)
		}
	}
	dflt := certs[h.DefaultServer]
	cfg := &tls.Config{
		MinVersion:             t.MinVersion,
		MaxVersion:             t.MaxVersion,
		CipherSuites:           t.CipherSuites,
		CurvePreferences:       t.Curves,
		SessionTicketsDisabled: !t.SessionTickets,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			srv := h.DefaultServer
			if name, err := router.NormalizeHost(hello.ServerName); err == nil && name != "" {
				m := h.Server(name)
				if m.Err != nil {
					return nil, sniMatchError{m.Err}
				}
				srv = m.Server
			}
			if srv.Config.TLS != nil && srv.Config.TLS.RejectHandshake {
				// No certificate and no error: crypto/tls then fails the
				// handshake with the unrecognized_name alert, as nginx's
				// ngx_http_ssl_servername does.
				if pc, ok := hello.Conn.(*prefixConn); ok {
					pc.rejected = true
				}
				return nil, nil
			}
			list := dflt
			if c := certs[srv]; c != nil {
				list = c
			}
			if list == nil { // config.Load refuses this; never a panic in a handshake
				return nil, errNoCertificate
			}
			if list.dyn != nil {
				pairs, err := list.dyn.load(hello, srv, t)
				if err != nil {
					return nil, err
				}
				list = &serverCerts{pairs: pairs}
			}
			cert := list.pick(hello)
			if pc, ok := hello.Conn.(*prefixConn); ok {
				cert = vars.RecordSignature(cert, &pc.sigalg)
			}
			return cert, nil
		},
	}
	if len(t.TicketKeys) > 0 {
		// The default server's keys, as nginx's ticket callback takes the
		// connection's first SSL context (c->ssl->session_ctx); the
		// clones that GetConfigForClient returns copy them.
		keys := make([][32]byte, len(t.TicketKeys))
		for i, k := range t.TicketKeys {
			keys[i] = k.Key
		}
		cfg.SetSessionTicketKeys(keys)
	}
	// The default server's ssl_session_timeout and ssl_session_cache too:
	// OpenSSL takes a new session's timeout, and the cache it goes to, from
	// the connection's first context (s->session_ctx), which the SNI switch
	// does not change.
	if !sessioncache.Serve(cfg, t, st.sessions, st.oldSessions) {
		sessionticket.Bound(cfg, t.SessionTimeout)
	}
	return cfg
}

// sessionZones are the running snapshot's shared session caches (nil
// before the first).
func (d *Daemon) sessionZones() sessioncache.Zones {
	if cur := d.current.Load(); cur != nil {
		return cur.sessions
	}
	return nil
}

// serverCerts are one server's certificates and, with ssl_stapling, their
// staplers (nil where a certificate staples nothing); or, for certificates
// named with variables, what loads them for each handshake (dyn).
type serverCerts struct {
	pairs    []tls.Certificate
	staplers []*stapling.Stapler // nil without ssl_stapling
	dyn      *dynCerts
}

// ocspTimeout bounds one OCSP fetch, as nginx's resolver_timeout default
// does (fulcrum ignores resolver_timeout).
const ocspTimeout = 30 * time.Second

// serverCerts makes the certificates of a server with TLS settings t that
// has some, once per snapshot: a server on several addresses shares them.
func (st *staplers) serverCerts(t *config.TLS) *serverCerts {
	if sc := st.certs[t]; sc != nil {
		return sc
	}
	if st.certs == nil {
		st.certs = map[*config.TLS]*serverCerts{}
	}
	if t.Dynamic() {
		if st.cache == nil {
			st.cache = certcache.New(0, loadCertificate)
		}
		d := newDynCerts(t, st.cache)
		st.dyn = append(st.dyn, d)
		st.certs[t] = &serverCerts{dyn: d}
		return st.certs[t]
	}
	sc := newServerCerts(t, st)
	st.certs[t] = sc
	return sc
}

// loadCertificate loads a certificate and key from their full names or
// "data:" values.
func loadCertificate(cert, key string, passwords [][]byte) (*tls.Certificate, error) {
	return upstreamtls.LoadCertificate(cert, key, "/", passwords)
}

func newServerCerts(t *config.TLS, st *staplers) *serverCerts {
	sc := &serverCerts{pairs: make([]tls.Certificate, len(t.Certificates))}
	for i, c := range t.Certificates {
		sc.pairs[i] = c.Pair
		if c.Staple == nil {
			continue
		}
		if sc.staplers == nil {
			sc.staplers = make([]*stapling.Stapler, len(t.Certificates))
		}
		sc.staplers[i] = st.get(c)
	}
	return sc
}

// staplers makes the OCSP staplers of one snapshot, one per server
// certificate (as nginx keeps one per server's SSL context), shared by the
// addresses the server listens on. It carries the snapshot's shared session
// caches too (sessions, taken from oldSessions where unchanged), which the
// handshake configurations are made with alongside.
type staplers struct {
	log                   *errlog.Logger
	by                    map[*config.Staple]*stapling.Stapler
	sessions, oldSessions sessioncache.Zones
	// certs are the servers' certificates made so far; dyn those named
	// with variables, which compileCertificates compiles once every
	// variable is declared, and cache the snapshot's cache of the
	// certificates they load.
	certs map[*config.TLS]*serverCerts
	dyn   []*dynCerts
	cache *certcache.Cache
}

func (st *staplers) get(c config.Certificate) *stapling.Stapler {
	if s := st.by[c.Staple]; s != nil {
		return s
	}
	var s *stapling.Stapler
	if p := c.Staple; p.Response != nil {
		s = stapling.NewFile(c.Pair, p.Response)
	} else {
		log := st.log
		s = stapling.New(c.Pair, stapling.Options{
			Leaf: p.Leaf, Issuer: p.Issuer, Responder: p.Responder, Verify: p.Verify,
			Timeout: ocspTimeout, Name: c.CertFile,
			Log: func(msg string) { log.Log(errlog.Error, msg) },
		})
	}
	if st.by == nil {
		st.by = map[*config.Staple]*stapling.Stapler{}
	}
	st.by[c.Staple] = s
	return s
}

// pick returns the first certificate the client supports (an ECDSA one for
// a client that takes ECDSA, else the RSA one), else the first, as
// crypto/tls does with Config.Certificates; with its OCSP staple when the
// server staples.
func (sc *serverCerts) pick(hello *tls.ClientHelloInfo) *tls.Certificate {
	i := 0
	if len(sc.pairs) > 1 {
		for j := range sc.pairs {
			if hello.SupportsCertificate(&sc.pairs[j]) == nil {
				i = j
				break
			}
		}
	}
	if sc.staplers != nil && sc.staplers[i] != nil {
		return sc.staplers[i].Certificate(hello, time.Now())
	}
	return &sc.pairs[i]
}

// tlsListener wraps the connections accepted on an address that the current
// snapshot says is ssl in an sslConn; the others pass unchanged. It asks the
// snapshot per connection, so a reload that adds or removes "ssl" (or changes
// a certificate) applies to the next connection.
type tlsListener struct {
	net.Listener
	d   *Daemon
	key string
	srv *httpServer // for client_header_timeout, which bounds the handshake
}

// Accept implements net.Listener.
func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	snap := l.d.current.Load()
	if snap == nil || len(snap.tls) == 0 && len(snap.h2c) == 0 {
		return c, nil
	}
	rl := snap.byKey[l.key]
	if rl == nil {
		return c, nil
	}
	var local netip.AddrPort
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		local = ta.AddrPort()
	}
	hosts := rl.Hosts(local)
	if snap.h2c[hosts] {
		return &h2cConn{Conn: c, set: hosts.DefaultServer.Config.Settings}, nil
	}
	addr := snap.tls[hosts]
	if addr == nil {
		return c, nil
	}
	sc := &sslConn{Conn: c, addr: addr, log: snap.logAt(hosts.DefaultServer.Config.Settings), server: c.LocalAddr().String(), stats: &l.d.conns}
	if t := l.srv.lim.headerTimeout; t > 0 {
		sc.handshakeBy = time.Now().Add(t)
	}
	return sc, nil
}

// sslConn is a client connection on an ssl address. Its first read looks at
// the first byte, as nginx's ngx_http_ssl_handshake does: a TLS record (or an
// SSLv2 hello) starts the handshake, bounded by client_header_timeout from
// the accept; anything else is a plain HTTP request, which the engine reads
// as usual and serveHTTP answers with nginx's 497 (400 "The plain HTTP
// request was sent to HTTPS port"). Until the handshake is done the engine's
// read deadlines are kept aside and the handshake's applies.
//
// Only the connection's goroutine reads, sets read deadlines and starts the
// handshake; Close may come from another (Shutdown), hence tc is atomic.
type sslConn struct {
	net.Conn    // the accepted connection
	addr        *tlsAddr
	log         *errlog.Logger
	server      string    // the listen address, for log lines
	handshakeBy time.Time // zero: no bound
	// stats counts the handshake in progress, which stub_status shows in
	// Active only, as nginx does (neither Reading nor Waiting).
	stats *connStats

	started bool
	plain   bool
	err     error     // the detection's or the handshake's failure, returned by every later read
	first   [1]byte   // the first byte of a plain request
	pending []byte    // what of first is still to be read
	rd      time.Time // the engine's read deadline, applied after the handshake
	tc      atomic.Pointer[tls.Conn]
	pc      *prefixConn // what tc reads from, once the handshake is done
	// ciphers and curves are what the client's hello offered, in its
	// order ($ssl_ciphers, $ssl_curves), once the handshake is done.
	ciphers, curves []uint16
	// id is the connection's number ($connection), set before the first
	// read (newClientConn), for a certificate loaded at the handshake.
	id uint64
}

// Read implements net.Conn.
func (c *sslConn) Read(p []byte) (int, error) {
	if tc := c.tc.Load(); tc != nil {
		return tc.Read(p)
	}
	if !c.started {
		c.start()
		if tc := c.tc.Load(); tc != nil {
			return tc.Read(p)
		}
	}
	if c.err != nil {
		return 0, c.err
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// negotiate makes the handshake now (see start) and returns the TLS
// connection, nil for a plain request or a failed handshake.
func (c *sslConn) negotiate() *tls.Conn {
	if !c.started {
		c.start()
	}
	return c.tc.Load()
}

// start reads the first byte and, for TLS, makes the handshake.
func (c *sslConn) start() {
	c.started = true
	_ = c.Conn.SetReadDeadline(c.handshakeBy)
	defer func() { _ = c.Conn.SetReadDeadline(c.rd) }()
	if _, err := io.ReadFull(c.Conn, c.first[:]); err != nil {
		c.err = err
		return
	}
	if c.first[0] != 0x16 && c.first[0]&0x80 == 0 { // not a handshake record nor SSLv2
		c.plain, c.pending = true, c.first[:]
		return
	}
	pc := &prefixConn{Conn: c.Conn, first: c.first[:], id: c.id}
	tc := tls.Server(pc, c.addr.cfg)
	c.stats.handshake(1)
	err := tc.Handshake()
	c.stats.handshake(-1)
	if err != nil {
		c.err = err
		c.logHandshake(err, pc.rejected)
		return
	}
	c.ciphers, c.curves = pc.ciphers, pc.curves
	c.pc = pc
	c.tc.Store(tc)
}

// logHandshake logs a failed handshake at info, as nginx does, in nginx's
// words where they translate ("SSL_do_handshake() failed" carries Go's
// reason, not OpenSSL's); rejected says ssl_reject_handshake refused it.
func (c *sslConn) logHandshake(err error, rejected bool) {
	var sni sniMatchError
	isSNI := errors.As(err, &sni)
	ce, isCert := certError(err)
	if !isSNI && !isCert && !c.log.Enabled(errlog.Info) {
		return
	}
	req := &errlog.Request{Client: remoteIP(c.Conn), Server: c.server}
	switch {
	case isSNI: // nginx's alert, then OpenSSL's words for the failed callback
		c.log.LogRequest(errlog.Alert, req, sni.Error()+" while SSL handshaking")
		err = errSNICallback
	case isCert: // the same, at error, for the certificate callback
		c.log.LogRequest(errlog.Error, req, ce.Error()+" while SSL handshaking")
		err = errCertCallback
	}
	var msg string
	switch {
	case rejected:
		msg = "handshake rejected while SSL handshaking"
	case errors.Is(err, os.ErrDeadlineExceeded):
		msg = "client timed out while SSL handshaking"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		msg = "peer closed connection in SSL handshake while SSL handshaking"
	default:
		msg = "SSL_do_handshake() failed (" + err.Error() + ") while SSL handshaking"
	}
	c.log.LogRequest(errlog.Info, req, msg)
}

func remoteIP(c net.Conn) string {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return c.RemoteAddr().String()
}

// Write implements net.Conn.
func (c *sslConn) Write(p []byte) (int, error) {
	if tc := c.tc.Load(); tc != nil {
		return tc.Write(p)
	}
	return c.Conn.Write(p)
}

// Close implements net.Conn: after a handshake, with TLS's close_notify.
func (c *sslConn) Close() error {
	if tc := c.tc.Load(); tc != nil {
		return tc.Close()
	}
	return c.Conn.Close()
}

// SetReadDeadline implements net.Conn; before the handshake it only records t.
func (c *sslConn) SetReadDeadline(t time.Time) error {
	if !c.started {
		c.rd = t
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline implements net.Conn.
func (c *sslConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// describe tells ci what the connection is, once: its TLS session for the
// variables and $scheme, or that a plain request came to the ssl address.
func (c *sslConn) describe(ci *connInfo) {
	switch {
	case c.plain:
		ci.plainOnSSL = true
	case ci.tls == nil:
		if tc := c.tc.Load(); tc != nil {
			st := tc.ConnectionState()
			ci.tls = &vars.TLS{Protocol: config.ProtocolName(st.Version), Cipher: config.CipherName(st.CipherSuite), ServerName: st.ServerName,
				ALPN: st.NegotiatedProtocol, Reused: st.DidResume, Curve: uint16(st.CurveID), ClientCiphers: c.ciphers, ClientCurves: c.curves}
			if st.Version >= tls.VersionTLS12 && c.pc != nil {
				ci.tls.Sigalg = c.pc.sigalg
			}
			if st.DidResume && st.Version < tls.VersionTLS13 {
				ci.tls.ClientCurves = nil // OpenSSL keeps no groups for a resumed TLS 1.2 session
			}
			ci.tls.Client, ci.certResult = c.addr.clientCert(&st)
		}
	}
}

// prefixConn reads first, then the connection.
type prefixConn struct {
	net.Conn
	first []byte
	// rejected is set when ssl_reject_handshake refused the handshake.
	rejected bool
	// sigalg is the scheme the handshake signed with ($ssl_sigalg).
	sigalg string
	// id is the connection's number ($connection).
	id uint64
	// ciphers and curves are what the client's hello offered.
	ciphers, curves []uint16
	// ended, when set, is told of a read that failed other than by a
	// deadline or our own close: the client closed or reset the
	// connection (set by an HTTP/2 connection before it is served).
	ended func(err error)
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		return n, nil
	}
	n, err := p.Conn.Read(b)
	if err != nil && p.ended != nil && !errlog.IsTimeout(err) && !errors.Is(err, net.ErrClosed) {
		p.ended(err)
	}
	return n, err
}

// errSNICallback is OpenSSL's reason for a handshake whose servername
// callback failed, which nginx logs at info after the callback's own line.
var errSNICallback = errors.New("SSL: error:0A0000EA:SSL routines::callback failed")

// errNoCertificate fails a handshake on an address without a certificate.
var errNoCertificate = errors.New("no ssl_certificate for this address")

// statusToHTTPS is nginx's NGX_HTTP_TO_HTTPS: a plain HTTP request on an ssl
// address. It goes out as 400 with its own page, or as error_page 497 says.
const statusToHTTPS = 497

// The statuses of nginx's ssl_verify_client, sent as 400 with their own
// pages unless error_page catches them.
const (
	statusCertError = 495 // NGX_HTTPS_CERT_ERROR: the certificate did not verify
	statusNoCert    = 496 // NGX_HTTPS_NO_CERT: ssl_verify_client on, and none was sent
)

// clientCertRefusal is nginx's check in ngx_http_process_request: the status
// and log line for a request whose server (the Host's) verifies client
// certificates and whose connection's failed the check, else 0. The
// verification itself was the handshake's server's (by SNI), as in nginx.
func clientCertRefusal(t *config.TLS, ci *connInfo) (int, string) {
	if t == nil || t.ClientAuth.Verify == config.VerifyOff {
		return 0, ""
	}
	mode, res := t.ClientAuth.Verify, ci.certResult
	if res.Code != 0 && !(mode == config.VerifyOptionalNoCA && res.IssuerOnly()) {
		return statusCertError, fmt.Sprintf("client SSL certificate verify error: (%d:%s) while reading client request headers", res.Code, res.Reason)
	}
	if mode == config.VerifyOn && ci.tls.Client == nil {
		return statusNoCert, "client sent no required SSL certificate while reading client request headers"
	}
	if res.OCSP != "" { // ngx_ssl_ocsp_get_status's refusal
		return statusCertError, "client SSL certificate verify error: " + res.OCSP + " while reading client request headers"
	}
	return 0, ""
}

package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/bodyspool"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// gRPC proxying (nginx's ngx_http_grpc_module, grpc_pass): each request
// goes to a server of the location's upstream over HTTP/2, whatever the
// client spoke, through net/http's HTTP/2 client (h2c with prior knowledge
// for grpc://, TLS with ALPN h2 for grpcs://), one connection pool per
// upstream and settings (GRPCClients), kept across reloads. Bodies stream
// both ways as they come (a bidirectional RPC works): nothing is buffered,
// each upstream DATA frame is flushed to the client at once, and the
// upstream's trailers (grpc-status, grpc-message) follow the body. Errors
// before the response head are nginx's: 502 or 504 with the error page (a
// gRPC client reads them as UNAVAILABLE), grpc_next_upstream retries while
// the request body was not touched, as nginx's unbuffered body allows.

// GRPCOptions are what NewGRPC needs to build a location's gRPC handler.
type GRPCOptions struct {
	// Location holds grpc_pass and the grpc_* settings.
	Location *config.Location
	// Target is the upstream: pool, balancing policy and hash key (its
	// Transport and Sticky are not used).
	Target Target
	// Compiler compiles grpc_set_header's values.
	Compiler *vars.Compiler
	// Log is the error log.
	Log *errlog.Logger
	// Server is the Server header of fulcrum's error pages.
	Server string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Clients keeps the HTTP/2 connection pools; nil means the handler's own.
	Clients *GRPCClients
	// Dynamic resolves the target per request for a grpc_pass with
	// variables; when set, Target is not used.
	Dynamic DynamicGRPCTarget
}

// GRPCTarget is where a gRPC request goes: the upstream (Target's Pool,
// Policy and HashKey), the HTTP/2 client that reaches its servers, the
// address as written (the default :authority and $proxy_host) and whether
// it is grpcs://.
type GRPCTarget struct {
	Target Target
	Client *http.Transport
	Host   string
	TLS    bool
}

// DynamicGRPCTarget resolves a grpc_pass with variables for one request
// (nginx's ngx_http_grpc_eval). An error is logged and answered with 500
// when it is an *InvalidTargetError, else with 502.
type DynamicGRPCTarget func(st *vars.State) (GRPCTarget, error)

// schemes are the client URL's scheme and the error log's for t.
func (t *GRPCTarget) schemes() (scheme, logScheme string) {
	if t.TLS {
		return "https", "grpcs://"
	}
	return "http", "grpc://"
}

// GRPCHandler forwards requests to gRPC servers (grpc_pass).
type GRPCHandler struct {
	set  *config.GRPCSettings
	pass *config.GRPCPass
	// route is the target of a grpc_pass without variables; dynamic
	// resolves it per request otherwise.
	route   GRPCTarget
	dynamic DynamicGRPCTarget
	// headers are grpc_set_header's rules, Host excepted; authority is
	// Host's value (nil: the grpc_pass address, as nginx sends).
	headers   []headerRule
	authority *vars.Template
	hide      map[string]bool
	log       *errlog.Logger
	server    string
	now       func() time.Time
	// sslName is grpc_ssl_name when it has variables, evaluated per
	// request for a grpcs:// target (nil: the clients' own name);
	// clients makes the transport of each name.
	sslName *vars.Template
	clients *GRPCClients
	// sslCert and sslKey are grpc_ssl_certificate and
	// grpc_ssl_certificate_key when either has variables, evaluated per
	// request for a grpcs:// target (nil otherwise); clients makes the
	// transport of each certificate.
	sslCert, sslKey *vars.Template
	// earlyHints is early_hints: when an upstream's 103 goes on to the
	// client (earlyhints.go); nil drops them all.
	earlyHints earlyHints
	// lanes keeps requests in flight on separate upstream connections
	// (grpclane.go); its clients' own. keptLanes is how many lanes of a
	// server keep their connection once idle: the upstream's keepalive,
	// at least one (the one connection fulcrum always kept); a request on
	// a lane past them closes its connection when it ends, as nginx's
	// grpc_pass closes a connection its keepalive cache has no room for.
	lanes     *grpcLanes
	keptLanes int
}

// NewGRPC compiles a location's gRPC settings into a handler.
func NewGRPC(o GRPCOptions) (*GRPCHandler, error) {
	set := o.Location.Settings
	h := &GRPCHandler{set: &set.GRPC, pass: set.GRPCPass, dynamic: o.Dynamic,
		log: o.Log, server: o.Server, now: o.Now}
	if h.now == nil {
		h.now = time.Now
	}
	for _, ht := range set.GRPC.SetHeaders {
		t, err := o.Compiler.Compile(ht.Value)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, ht.Pos)
		}
		if strings.EqualFold(ht.Name, "Host") {
			h.authority = t
			continue
		}
		h.headers = append(h.headers, headerRule{name: textproto.CanonicalMIMEHeaderKey(ht.Name), value: t})
	}
	h.hide = map[string]bool{}
	for _, name := range hiddenByDefault {
		h.hide[name] = true
	}
	for _, name := range set.GRPC.HideHeaders {
		h.hide[textproto.CanonicalMIMEHeaderKey(name)] = true
	}
	for _, name := range set.GRPC.PassHeaders {
		delete(h.hide, textproto.CanonicalMIMEHeaderKey(name))
	}
	var err error
	if h.earlyHints, err = compileEarlyHints(o.Compiler, set.EarlyHints); err != nil {
		return nil, fmt.Errorf("%w in %s", err, set.EarlyHintsPos)
	}
	clients := o.Clients
	if clients == nil {
		clients = NewGRPCClients()
	}
	h.lanes = clients.lanes
	h.keptLanes = 1
	if h.pass != nil && h.pass.Upstream != nil {
		h.keptLanes = max(h.keptLanes, h.pass.Upstream.Keepalive)
	}
	if h.dynamic == nil {
		h.route = GRPCTarget{Target: o.Target, Client: clients.For(h.pass, h.set), Host: h.pass.Host, TLS: h.pass.TLS}
	}
	if t := set.GRPC.SSL.NameTemplate; t != "" {
		if h.sslName, err = o.Compiler.Compile(t); err != nil {
			return nil, fmt.Errorf("%w in %s", err, set.GRPC.SSL.NamePos)
		}
		h.clients = clients
	}
	if c := set.GRPC.SSL.Certificate; c != nil && c.CertTemplate != "" {
		if h.sslCert, err = o.Compiler.Compile(c.CertTemplate); err != nil {
			return nil, fmt.Errorf("%w in %s", err, c.Pos)
		}
		if h.sslKey, err = o.Compiler.Compile(c.KeyTemplate); err != nil {
			return nil, fmt.Errorf("%w in %s", err, c.KeyPos())
		}
		h.clients = clients
	}
	return h, nil
}

// GRPCClients keeps one HTTP/2 client transport per upstream and
// connection settings, across reloads, so that a reload keeps warm
// connections. It is safe for concurrent use.
type GRPCClients struct {
	mu sync.Mutex // guards m and named
	m  map[string]*http.Transport
	// named are the transports of a grpc_ssl_name with variables, by the
	// transport of their upstream (one of m's) and the name; each is
	// retired with its upstream's.
	named map[namedClient]*http.Transport
	// lanes are the lanes of every client of the set.
	lanes *grpcLanes
}

// namedClient names a transport of named: name is the TLS name when
// named is set, and cert the client certificate of a grpc_ssl_certificate
// with variables (its value and the key's, joined by a NUL byte; empty
// for none).
type namedClient struct {
	base  *http.Transport
	name  string
	named bool
	cert  string
}

// maxNamedClients bounds the names and certificates that a grpc_ssl_name
// or grpc_ssl_certificate with variables may make transports for, so that
// request data cannot grow memory without bound.
const maxNamedClients = 1024

// NewGRPCClients returns an empty set.
func NewGRPCClients() *GRPCClients {
	return &GRPCClients{m: map[string]*http.Transport{}, named: map[namedClient]*http.Transport{}, lanes: newGRPCLanes()}
}

// ForName returns the transport that reaches base's upstream (host, the
// address as written, with settings set) with name as its TLS name: SNI
// (grpc_ssl_server_name) and the name grpc_ssl_verify checks, even when
// empty. It is made on first use; its connections and TLS sessions are
// its own, so a connection or session made for one name never serves
// another.
func (c *GRPCClients) ForName(base *http.Transport, host, name string, set *config.GRPCSettings) (*http.Transport, error) {
	return c.forClient(base, host, namedClient{base: base, name: name, named: true}, set)
}

// ForCertificate is ForName (with named set; else the client's own name)
// for a grpc_ssl_certificate with variables: cert is its value and key
// the key's. The transport loads the pair for each new connection, once
// it is made (an empty cert sends none); its connections and TLS sessions
// are its own, so that one made with a certificate never serves a request
// that names another.
func (c *GRPCClients) ForCertificate(base *http.Transport, host, name string, named bool, cert, key string, set *config.GRPCSettings) (*http.Transport, error) {
	k := namedClient{base: base, name: name, named: named}
	if cert != "" {
		k.cert = cert + "\x00" + key
	}
	return c.forClient(base, host, k, set)
}

// forClient returns the transport of k, made on first use.
func (c *GRPCClients) forClient(base *http.Transport, host string, k namedClient, set *config.GRPCSettings) (*http.Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.named[k]; t != nil {
		return t, nil
	}
	if len(c.named) >= maxNamedClients {
		return nil, fmt.Errorf("too many distinct grpc_ssl_name or grpc_ssl_certificate values (%d)", maxNamedClients)
	}
	tc := newUpstreamTLS(set.SSL, hostWithoutPort(host))
	if k.named {
		tc = tc.WithName(k.name)
	}
	t := newGRPCTransportCert(set, tc, k.cert)
	c.named[k] = t
	return t, nil
}

// For returns the transport for pass with settings set, made on first use.
func (c *GRPCClients) For(pass *config.GRPCPass, set *config.GRPCSettings) *http.Transport {
	return c.ForAddress(pass.Upstream.Name, pass.Host, pass.TLS, set)
}

// ForAddress returns the transport for the upstream named name, reached as
// host (the address as written: its host is the TLS name) over TLS when
// tls is set, with settings set, made on first use. A grpc_pass with
// variables asks for the targets it evaluates to.
func (c *GRPCClients) ForAddress(name, host string, tls bool, set *config.GRPCSettings) *http.Transport {
	var tc *upstreamTLS
	key := fmt.Sprintf("%s|%s|%v|%v|%v|%v|%s|%d", name, host, set.ConnectTimeout, set.ReadTimeout, set.SendTimeout, set.SocketKeepalive, set.Bind.Addr, set.BufferSize)
	if tls {
		tc = newUpstreamTLS(set.SSL, hostWithoutPort(host))
		key += "|" + tc.Key()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.m[key]; t != nil {
		return t
	}
	t := newGRPCTransport(set, tc)
	c.m[key] = t
	return t
}

// retain forgets the clients that are not in keep, closing their idle
// connections. Streams still running on them finish; the connections they
// leave idle are closed by the sweeps that follow (retiredSweeps), or by the
// transport's idle timeout for a stream that outlasts them all. One sweep
// alone missed a connection whose last stream was still being released when
// the reload came (TestUpstreamKeepaliveReload, "grpc, settings changed").
func (c *GRPCClients) retain(keep map[*http.Transport]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, t := range c.m {
		if !keep[t] {
			t.CloseIdleConnections()
			delete(c.m, key)
			sweepRetired(t, retiredSweeps)
		}
	}
	for key, t := range c.named {
		if !keep[key.base] {
			t.CloseIdleConnections()
			delete(c.named, key)
			sweepRetired(t, retiredSweeps)
		}
	}
}

// retiredSweeps are the delays after which a retired client's idle
// connections are closed again, each after the one before.
var retiredSweeps = []time.Duration{100 * time.Millisecond, time.Second, 10 * time.Second}

// sweepRetired closes t's idle connections after each of delays in turn.
func sweepRetired(t *http.Transport, delays []time.Duration) {
	if len(delays) == 0 {
		return
	}
	time.AfterFunc(delays[0], func() {
		t.CloseIdleConnections()
		sweepRetired(t, delays[1:])
	})
}

// grpcDialKey carries the server to dial in a request's context: the
// transport pools connections by the URL's host, which names the server.
type grpcDialKey struct{}

type grpcDialTarget struct{ network, addr string }

// newGRPCTransport makes an HTTP/2-only client: h2c with prior knowledge,
// or TLS (tc) with ALPN h2.
func newGRPCTransport(set *config.GRPCSettings, tc *upstreamTLS) *http.Transport {
	return newGRPCTransportCert(set, tc, "")
}

// newGRPCTransportCert is newGRPCTransport whose TLS handshakes present
// the client certificate of a grpc_ssl_certificate with variables: cert
// is its value and the key's, joined by a NUL byte, loaded for each new
// connection once it is made, as nginx loads it per handshake; empty
// sends none (or the static grpc_ssl_certificate).
func newGRPCTransportCert(set *config.GRPCSettings, tc *upstreamTLS, cert string) *http.Transport {
	dialer := &net.Dialer{Timeout: set.ConnectTimeout, KeepAlive: -1}
	if set.SocketKeepalive {
		dialer.KeepAlive = 0 // SO_KEEPALIVE with the system's (Go's) intervals
	}
	bound := *dialer // grpc_bind's address, for TCP servers
	if ap, ok := config.ParseBindAddr(set.Bind.Addr); ok {
		bound.LocalAddr = net.TCPAddrFromAddrPort(ap)
		if set.Bind.Transparent {
			bound.Control = bindaddr.Transparent
		}
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		dst, _ := ctx.Value(grpcDialKey{}).(grpcDialTarget)
		if dst.network == "unix" {
			return dialer.DialContext(ctx, dst.network, dst.addr)
		}
		return bound.DialContext(ctx, dst.network, dst.addr)
	}
	t := &http.Transport{
		DialContext:            dial,
		ResponseHeaderTimeout:  set.ReadTimeout,
		MaxResponseHeaderBytes: grpcDecodedHeadLimit(set.BufferSize, tc == nil),
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		Protocols:              new(http.Protocols),
		// grpc_send_timeout: a connection whose writes make no progress
		// for that long is closed, as nginx's send timer ends a request.
		HTTP2: &http.HTTP2Config{WriteByteTimeout: set.SendTimeout, MaxDecoderHeaderTableSize: grpcHeaderTableSize},
	}
	if tc == nil {
		t.Protocols.SetUnencryptedHTTP2(true)
		limit := int(min(set.BufferSize, math.MaxInt32))
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newGRPCHeadConn(c, limit), nil
		}
		return t
	}
	t.Protocols.SetHTTP2(true)
	h2tls := tc.WithALPN("h2")
	sessions := tls.NewLRUClientSessionCache(64)
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		client := h2tls
		if cert != "" {
			certValue, keyValue, _ := strings.Cut(cert, "\x00")
			if client, err = h2tls.ForCertificate(certValue, keyValue); err != nil {
				c.Close()
				return nil, err
			}
		}
		return client.Handshake(ctx, c, "", set.ConnectTimeout, sessions)
	}
	return t
}

// grpcBody is the client's request body as the upstream request reads it
// (on the HTTP/2 client's goroutine). It notes whether bytes were read from
// it (then a retry could not send them again) and leaves closing to the handler,
// since a failed round trip closes its request's body and a retry needs it.
// finish fences it off when the handler ends: the client's body belongs to
// the server again, and a late read by the HTTP/2 client gets EOF.
type grpcBody struct {
	r       io.ReadCloser
	touched atomic.Bool
	mu      sync.Mutex // held during a read of r; guards done
	done    bool
}

func (b *grpcBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if n > 0 { // an empty body can be sent again
		b.touched.Store(true)
	}
	return n, err
}

// Close does nothing (see grpcBody).
func (b *grpcBody) Close() error { return nil }

// finish ends the body's use: closing the client's body unblocks a read
// waiting for an HTTP/2 client (the HTTP/1.1 engine's reads end with
// client_body_timeout), then no read reaches it any more.
func (b *grpcBody) finish() {
	_ = b.r.Close()
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

// ServeHTTP forwards r. st must hold the request view; ServeHTTP records
// the attempts ($upstream_*) and the status.
func (h *GRPCHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, st *vars.State) {
	start := h.now()
	if c, ok := w.(Continuer); ok {
		_ = c.Continue()
	}
	rt := &h.route
	if h.dynamic != nil {
		t, err := h.dynamic(st)
		if err != nil {
			h.log.LogRequest(errlog.Error, h.logRequest(r, st, ""), err.Error())
			fail(w, targetErrorStatus(err), h.server)
			return
		}
		rt = &t
	}
	st.ProxyHost, st.ProxyPort = rt.Host, ""
	if (h.sslName != nil || h.sslCert != nil) && rt.TLS {
		named := *rt
		var name string
		if h.sslName != nil {
			name = upstreamtls.NameWithoutPort(h.sslName.String(st))
		}
		var err error
		if h.sslCert != nil {
			cert, key := h.sslCert.String(st), ""
			if cert != "" { // nginx does not look at the key then
				key = h.sslKey.String(st)
			}
			named.Client, err = h.clients.ForCertificate(rt.Client, rt.Host, name, h.sslName != nil, cert, key, h.set)
		} else {
			named.Client, err = h.clients.ForName(rt.Client, rt.Host, name, h.set)
		}
		if err != nil {
			h.log.LogRequest(errlog.Error, h.logRequest(r, st, ""), err.Error())
			fail(w, http.StatusBadGateway, h.server)
			return
		}
		rt = &named
	}
	var body *grpcBody
	// A body known to be empty (an HTTP/2 request whose HEADERS frame
	// ended the stream has a Body that reads EOF and a ContentLength of 0)
	// is none: the upstream's HEADERS frame ends the stream, as nginx
	// sends it, not an empty DATA frame after it.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		body = &grpcBody{r: r.Body}
		defer body.finish()
		if sr, ok := r.Body.(*bodyspool.Reader); ok && st.Body == nil {
			// A body read whole before (for the mirrors) is
			// $request_body when it stayed in memory, as nginx has
			// it (recorded, nginx-tests grpc_request_buffering.t:
			// add_header X-Body $request_body; with "mirror /mirror;"
			// gave "Hello").
			st.Body = sr.Body().Memory()
		}
	}
	out := h.request(r, st, body, rt)
	hints := h.grpcHintsFor(w, r, st)
	resp, srv, a, err := h.roundTrip(r.Context(), out, body, st, start, rt, hints)
	if err != nil {
		h.answerError(w, r, st, err)
		return
	}
	h.respond(w, r, st, resp, srv, a, start, rt)
}

// request builds the upstream request (its URL's host and context are set
// per attempt): the client's method, target and fields but the hop-by-hop
// ones, TE: trailers when the client sent it ($grpc_internal_trailers), then
// grpc_set_header's fields; :authority is grpc_set_header Host's value, else
// the grpc_pass address.
func (h *GRPCHandler) request(r *http.Request, st *vars.State, body *grpcBody, rt *GRPCTarget) *http.Request {
	target := st.RequestURI
	if st.Rewritten {
		target = string(uriRewrite{}.appendRewritten(nil, st.Path, st.Args, true))
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	u.Scheme, _ = rt.schemes()
	out := &http.Request{Method: r.Method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: make(http.Header, len(r.Header)+len(h.headers)+1), Host: rt.Host,
		ContentLength: r.ContentLength}
	if body != nil {
		out.Body = body
		if out.ContentLength == 0 {
			out.ContentLength = -1
		}
	} else {
		out.ContentLength = 0
	}
	trailers := false
	for name, vs := range r.Header {
		switch name {
		case "Te":
			for _, v := range vs {
				trailers = trailers || grpcHasToken(v, "trailers")
			}
			continue
		case "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Http2-Settings":
			continue
		}
		out.Header[name] = vs
	}
	if trailers {
		out.Header["Te"] = []string{"trailers"}
	}
	for _, rule := range h.headers {
		v := rule.value.String(st)
		if v == "" {
			delete(out.Header, rule.name)
			continue
		}
		out.Header[rule.name] = []string{v}
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // none, not Go's own
	}
	if h.authority != nil {
		if v := h.authority.String(st); v != "" {
			out.Host = v
		}
	}
	return out
}

// grpcHasToken reports whether the comma-separated list v holds token.
func grpcHasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if name, _, _ := strings.Cut(part, ";"); strings.EqualFold(strings.TrimSpace(name), token) {
			return true
		}
	}
	return false
}

// roundTrip sends out to the upstream's servers in the balancer's order
// until one answers with a head that grpc_next_upstream accepts, and
// returns that response with its server still acquired. hints, when not
// nil, passes the 103s that come before a head on to the client.
func (h *GRPCHandler) roundTrip(ctx context.Context, out *http.Request, body *grpcBody, st *vars.State, start time.Time, rt *GRPCTarget, hints *grpcHints) (*http.Response, *upstream.Server, *vars.Attempt, error) {
	_, logScheme := rt.schemes()
	st.StartUpstreamGroup()
	in := balancer.Input{ClientAddr: st.Remote.Addr(), MaxTries: h.set.NextUpstreamTries}
	if rt.Target.HashKey != nil {
		in.Key = rt.Target.HashKey.String(st)
	}
	var at balancer.Attempt
	at.Reset(rt.Target.Pool, rt.Target.Policy, in)
	now := start
	for first := true; ; first = false {
		var srv *upstream.Server
		var err error
		// NGINX Plus's queue: an attempt waits in the upstream's
		// queue when no server may take it now (a retry no longer
		// than the next_upstream_timeout allows).
		var left time.Time
		if first {
			srv, left, err = at.First(ctx, now, h.now)
		} else {
			srv, left, err = at.Retry(ctx, now, h.now, balancer.RetryDeadline(start, h.set.NextUpstreamTimeout))
		}
		st.SetQueueTime(left.Sub(now))
		now = left
		if err != nil {
			return nil, nil, nil, h.noServer(ctx, out, st, rt, err)
		}
		a := st.StartAttempt(srv.AddrPort(), srv.AddrText())
		hints.setActive(true)
		resp, err := h.send(h.trace(ctx, a, now, hints), out, srv, rt.Client)
		hints.setActive(false)
		end := h.now()
		if err != nil {
			f := classify(ctx, err)
			if rf := grpcRejected(err); f != nil && rf != nil {
				f = rf
			}
			if tf := grpcTooBig(err, !rt.TLS && h.set.BufferSize > 0); f != nil && tf != nil {
				f = tf
			}
			a.ResponseTime = end.Sub(now)
			if f == nil { // the client went away
				h.logClientGone(ctx, out, st, vars.UpstreamURL(logScheme, srv.AddrText(), ""), abortAction(err, 0))
				at.Release(end, upstream.Neutral)
				return nil, nil, nil, errClientGone
			}
			if cf := certFailure(err); cf != nil {
				a.Status = cf.status
				h.log.LogRequest(errlog.Error, h.logRequest(out, st, vars.UpstreamURL(logScheme, srv.AddrText(), "")), cf.msg)
				at.Release(end, upstream.Neutral)
				return nil, nil, nil, cf
			}
			if bf := h.bindFailure(err); bf != nil {
				a.Status = bf.status
				h.log.LogRequest(bf.bindLevel, h.logRequest(out, st, vars.UpstreamURL(logScheme, srv.AddrText(), "")), bf.msg)
				at.Release(end, upstream.Neutral)
				return nil, nil, nil, bf
			}
			a.Status = f.status
			errlog.FailureInOrder(f.cond == config.NextTimeout,
				func() { h.release(&at, out, st, srv, f.status, upstream.Failure, end, f.action, logScheme) },
				func() {
					h.log.LogRequest(f.level(), h.logRequest(out, st, vars.UpstreamURL(logScheme, srv.AddrText(), "")), f.msg)
				})
			if !h.mayRetry(&at, f.cond, f.sent, out.Method, body, end, start) {
				return nil, nil, nil, f
			}
			now = end
			continue
		}
		a.Status, a.HeaderTime = resp.StatusCode, end.Sub(now)
		at.Sample(upstream.MetricHeader, a.HeaderTime)
		if cond := config.StatusNextUpstream(resp.StatusCode); cond != 0 && h.set.NextUpstream&cond != 0 {
			outcome := upstream.Failure
			if cond == config.NextHTTP403 || cond == config.NextHTTP404 {
				outcome = upstream.Neutral
			}
			if at.Tries() > 1 && h.mayRetry(&at, cond, true, out.Method, body, end, start) {
				resp.Body.Close()
				a.ResponseTime = end.Sub(now)
				h.release(&at, out, st, srv, resp.StatusCode, outcome, end, errlog.ActionHeader, logScheme)
				now = end
				continue
			}
		}
		at.Detach() // respond releases srv itself
		return resp, srv, a, nil
	}
}

// send makes one attempt on srv with client, on a lane of its own
// (grpclane.go) that closing the response's body frees.
func (h *GRPCHandler) send(ctx context.Context, out *http.Request, srv *upstream.Server, client *http.Transport) (*http.Response, error) {
	dst := grpcDialTarget{network: srv.Network(), addr: srv.Addr()}
	host := dst.addr
	if dst.network == "unix" {
		f := fnv.New64a()
		f.Write([]byte(dst.addr))
		host = fmt.Sprintf("unix-%x", f.Sum64())
	}
	lane := h.lanes.take(client, host)
	out.URL.Host = grpcLaneHost(host, lane)
	// Past the kept lanes the connection serves this request alone and
	// closes when it is done (HTTP/2 sends no Connection field for it): a
	// burst of requests leaves no more idle connections than keepalive.
	out.Close = lane >= h.keptLanes
	resp, err := client.RoundTrip(out.WithContext(context.WithValue(ctx, grpcDialKey{}, dst)))
	if err != nil {
		h.lanes.free(client, host, lane)
		return nil, err
	}
	resp.Body = &grpcLaneBody{ReadCloser: resp.Body, free: func() { h.lanes.free(client, host, lane) }}
	return resp, nil
}

// trace returns ctx with the attempt's client trace: it sets a's connect
// time, the time to dial a new connection, or 0 for a kept-alive one
// (nginx logs "0.000" for a reused connection, not "-"; a dial that fails
// leaves it unset, "-", as in nginx), and hands interim heads to hints
// when it is not nil.
func (h *GRPCHandler) trace(ctx context.Context, a *vars.Attempt, start time.Time, hints *grpcHints) context.Context {
	ct := &httptrace.ClientTrace{
		// GotConn runs in RoundTrip's goroutine, before it returns.
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				a.ConnectTime = 0
				return
			}
			a.ConnectTime = h.now().Sub(start)
		},
	}
	if hints != nil {
		ct.Got1xxResponse = hints.got1xx
	}
	return httptrace.WithClientTrace(ctx, ct)
}

// mayRetry applies grpc_next_upstream, _tries and _timeout to a failed
// attempt that ended at now: a request body already read from cannot be
// sent again (nginx does not buffer a gRPC body either). A request that
// reached the server is retried by its method, as nginx's
// ngx_http_upstream_next judges it: gRPC's calls are POSTs, retried only
// with non_idempotent, but a GET that grpc_pass sends as it came is
// retried (recorded with nginx 1.22.1, nginx-tests grpc_next_upstream.t:
// "GET /" answered 404 by the first server under "grpc_next_upstream
// http_404" went on to the second).
func (h *GRPCHandler) mayRetry(at *balancer.Attempt, cond config.NextUpstream, sent bool, method string, body *grpcBody, now, start time.Time) bool {
	switch {
	case !h.set.NextUpstream.Allows(cond, sent, method):
		return false
	case body != nil && body.touched.Load():
		return false
	case at.Tries() <= 0:
		return false
	case h.set.NextUpstreamTimeout > 0 && now.Sub(start) >= h.set.NextUpstreamTimeout:
		return false
	}
	return true
}

// release ends an attempt on srv with outcome o; logScheme is the
// target's ("grpc://" or "grpcs://").
func (h *GRPCHandler) release(at *balancer.Attempt, out *http.Request, st *vars.State, srv *upstream.Server, status int, o upstream.Outcome, now time.Time, action, logScheme string) {
	srv.Account(status, 0, 0)
	if at.Release(now, o) {
		h.log.LogRequest(errlog.Warn, h.logRequest(out, st, vars.UpstreamURL(logScheme, srv.Name(), "")), errlog.Disabled(action))
	}
}

// noServer ends a request for which no server could be picked with 502
// (nginx's ngx_http_upstream_connect, NGX_BUSY: on the first attempt or on
// a retry the rules allowed, whatever the last attempt got), listed under
// the upstream's name with a response time: "no live upstreams", or the
// queue's error (NGINX Plus: "If the queue is filled up, or the server to
// pass the request to cannot be selected within the time period specified
// in the timeout parameter, the 502 (Bad Gateway) error will be returned
// to the client"); a client that went away while it waited in the queue
// gets errClientGone (499). It is kept out of roundTrip so that the rare
// path's locals do not grow the frame every request's stack carries.
//
//go:noinline
func (h *GRPCHandler) noServer(ctx context.Context, out *http.Request, st *vars.State, rt *GRPCTarget, err error) error {
	if errors.Is(err, balancer.ErrClientGone) {
		// No upstream connection yet: nginx's shorter line, naming no
		// upstream (Handler.logQueueGone).
		if h.log.Enabled(errlog.Info) {
			if msg := errlog.ClientGoneKept(context.Cause(ctx), h2Stream(st), errlog.ActionConnect); msg != "" {
				h.log.LogRequest(errlog.Info, h.logRequest(out, st, ""), msg)
			}
		}
		return errClientGone
	}
	_, logScheme := rt.schemes()
	name := rt.Target.Pool.Name()
	h.log.LogRequest(errlog.Error, h.logRequest(out, st, logScheme+name), err.Error()+" while "+errlog.ActionConnect)
	a := st.StartAttempt(netip.AddrPort{}, name)
	a.Status = http.StatusBadGateway
	a.ResponseTime = 0
	return &failure{cond: config.NextError, status: http.StatusBadGateway, msg: err.Error()}
}

// logClientGone writes nginx's info line for a client that went away
// (ctx's cause) while the server at url was doing action for it
// (errlog.ClientGone): the abort path only.
//
//go:noinline
func (h *GRPCHandler) logClientGone(ctx context.Context, out *http.Request, st *vars.State, url, action string) {
	if !h.log.Enabled(errlog.Info) {
		return
	}
	if msg := errlog.ClientGone(context.Cause(ctx), h2Stream(st), action); msg != "" {
		h.log.LogRequest(errlog.Info, h.logRequest(out, st, url), msg)
	}
}

// answerError answers a request whose every attempt failed: 502 or 504,
// nginx's error page, or nothing for a client that went away (499).
func (h *GRPCHandler) answerError(w http.ResponseWriter, r *http.Request, st *vars.State, err error) {
	var f *failure
	if errors.As(err, &f) {
		fail(w, f.status, h.server)
		return
	}
	if r.Context().Err() != nil || errors.Is(err, errClientGone) {
		st.Status = 499
		return
	}
	fail(w, http.StatusBadGateway, h.server)
}

// respond passes the upstream's response on: its status and fields (the
// hidden and connection-specific ones withheld), each body read flushed at
// once, then its trailers. grpc_read_timeout bounds each wait for body
// bytes. A body that breaks off resets the client's stream (or closes its
// connection), as nginx does.
func (h *GRPCHandler) respond(w http.ResponseWriter, r *http.Request, st *vars.State, resp *http.Response, srv *upstream.Server, a *vars.Attempt, start time.Time, rt *GRPCTarget) {
	outcome := upstream.Success
	defer func() {
		end := h.now()
		a.ResponseTime = end.Sub(start)
		if outcome == upstream.Success {
			srv.Sample(upstream.MetricLastByte, a.ResponseTime)
		}
		srv.Account(resp.StatusCode, 0, 0)
		srv.Release(end, outcome)
	}()
	defer resp.Body.Close()
	fields := st.UpstreamFields()
	for name, vs := range resp.Header {
		for _, v := range vs {
			fields = append(fields, vars.Field{Name: name, Value: v})
		}
	}
	st.SetUpstreamFields(fields)
	if h.set.InterceptErrors && resp.StatusCode >= 300 {
		if ic, ok := w.(ErrorInterceptor); ok && ic.InterceptsError(resp.StatusCode) {
			fail(w, resp.StatusCode, h.server)
			return
		}
	}
	out := w.Header()
	for name, vs := range resp.Header {
		if h.hide[name] || grpcHop(name) {
			continue
		}
		out[name] = vs
	}
	if resp.ContentLength == 0 || r.Method == http.MethodHead {
		// The stream ended with the head (a HEAD's always does): nginx's
		// grpc module makes the length 0, whatever content-length said.
		out["Content-Length"] = []string{"0"}
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	// The head goes out at once unless the body is known to be empty (the
	// stream ended with the head, or content-length 0): then it goes with
	// the stream's end, which an HTTP/2 client gets as nginx sends it, one
	// HEADERS frame with END_STREAM and no DATA frame (recorded with nginx
	// 1.22.1, a trailers-only gRPC answer), unless trailers follow.
	if flusher != nil && resp.ContentLength != 0 {
		flusher.Flush()
	}
	if err := h.copyBody(w, flusher, resp.Body); err != nil {
		if r.Context().Err() == nil {
			_, logScheme := rt.schemes()
			h.log.LogRequest(errlog.Error, h.logRequest(r, st, vars.UpstreamURL(logScheme, srv.AddrText(), "")), err.Error())
		} else {
			outcome = upstream.Neutral
		}
		panic(http.ErrAbortHandler)
	}
	for name, vs := range resp.Trailer {
		out[http.TrailerPrefix+name] = vs
	}
}

// grpcHop reports the response fields HTTP/2 forbids, and Trailer: the
// trailers themselves follow the body (a Trailer field would make the
// client's server send the fields it names twice).
func grpcHop(name string) bool {
	switch name {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer":
		return true
	}
	return false
}

// copyBody streams the upstream's body to the client, flushing each read,
// with grpc_read_timeout between reads.
func (h *GRPCHandler) copyBody(w io.Writer, flusher http.Flusher, body io.ReadCloser) error {
	var timedOut atomic.Bool
	var timer *time.Timer
	if d := h.set.ReadTimeout; d > 0 {
		timer = time.AfterFunc(d, func() {
			timedOut.Store(true)
			body.Close()
		})
		defer timer.Stop()
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := body.Read(buf)
		if timer != nil && !timer.Reset(h.set.ReadTimeout) {
			return errBodyTimeout
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the client is gone: nothing to log
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if timedOut.Load() {
				return errBodyTimeout
			}
			return fmt.Errorf("upstream prematurely closed connection while reading upstream (%v)", err)
		}
	}
}

// logRequest describes the request for an error log line.
func (h *GRPCHandler) logRequest(r *http.Request, st *vars.State, upstream string) *errlog.Request {
	line := st.RequestLine
	if line == "" {
		line = st.Method + " " + st.RequestURI + " " + st.Proto
	}
	lr := &errlog.Request{Conn: st.Conn, Client: st.RemoteAddr(), Server: st.ServerName,
		Request: line, Upstream: upstream, Host: st.Host}
	lr.Referrer, lr.ReferrerSent = st.Referer()
	return lr
}

// bindFailure is the failure of a connection that could not bind
// grpc_bind's address (see bindFailure), or nil.
func (h *GRPCHandler) bindFailure(err error) *failure {
	ap, ok := config.ParseBindAddr(h.set.Bind.Addr)
	if !ok {
		return nil
	}
	return bindFailure(err, ap)
}

// grpcHeadLimit is the least bound of a gRPC response head as Go's HTTP/2
// client counts it (MaxResponseHeaderBytes: each field's name and value and
// 32 bytes, once decoded): Go's default is 10 MiB per head. 64 KiB is the
// bound of an HTTP/1.x upstream's head (docs/security.md). nginx bounds
// the head as it came, HPACK-coded, by grpc_buffer_size, which fulcrum
// does too for an h2c upstream (grpcHeadConn); the decoded bound
// (grpcDecodedHeadLimit) keeps the memory a head takes in check, and
// bounds a grpcs:// upstream's head, whose frames are inside TLS.
const grpcHeadLimit = 64 << 10

// grpcHeaderTableSize is the HPACK dynamic table fulcrum's HTTP/2 client
// lets a gRPC upstream use for its responses (SETTINGS_HEADER_TABLE_SIZE):
// none, as nginx's grpc_pass (which sends 0), so that an upstream codes a
// head for fulcrum as it codes it for nginx, every field a literal, and
// grpc_buffer_size holds the same heads. Go's client takes no 0 (it means
// its default, 4,096 bytes); 1 holds no entry either (an entry takes at
// least 32 bytes).
const grpcHeaderTableSize = 1

// grpcDecodedHeadLimit is the decoded bound for grpc_buffer_size bufSize.
// Over h2c (grpcHeadConn bounds the head as it came) it is 32 times
// bufSize, at least grpcHeadLimit: more than any head within bufSize can
// decode to without the dynamic table (grpcHeaderTableSize), a field of
// 2 bytes on the wire (a static table name, an empty value) taking at most
// 32 bytes more than its name decoded, so the HPACK-coded bound decides
// (recorded: 2,332 fields "x-m: v" passed nginx 1.22.1 with 16k, 84 KB
// decoded). Over TLS, whose frames fulcrum does not see, it is twice
// bufSize, at least grpcHeadLimit: every head of Huffman-coded text that
// bufSize holds on the wire (Huffman codes take at least 5 bits a byte).
func grpcDecodedHeadLimit(bufSize int64, h2c bool) int64 {
	if h2c {
		return max(grpcHeadLimit, 32*bufSize)
	}
	return max(grpcHeadLimit, 2*bufSize)
}

// grpcHeadTooBig is the error text of net/http's HTTP/2 client for a
// response head over MaxResponseHeaderBytes (an unexported error, matched
// by its text).
const grpcHeadTooBig = "http2: response header list larger than advertised limit"

// grpcHeadConnErrors are the client's own connection errors (not its
// peer's GOAWAY) for a head over MaxResponseHeaderBytes: a field too long
// for its HPACK decoder (COMPRESSION_ERROR), a header block that goes on
// in CONTINUATION frames past the bound (PROTOCOL_ERROR). Go's error says
// no more than the code.
var grpcHeadConnErrors = regexp.MustCompile(`(^|: )connection error: (COMPRESSION_ERROR|PROTOCOL_ERROR)$`)

// grpcTooBig is the failure of an attempt whose response head was over the
// bound, in nginx's words: "upstream sent too big header" (error level,
// an invalid header: 502, a failure of the server, as nginx 1.22.1 for a
// head over grpc_buffer_size); nil for any other error. That is
// grpcHeadConn's error, the client's for a head over its decoded bound,
// and its connection errors while it read the head (err came before any
// response), which a head over the bound causes (recorded against Go's
// HTTP/2 server: one 100 KiB field, 600 fields of 100 bytes); a server
// that breaks HTTP/2 there is told the same.
//
// wireBound says grpcHeadConn counted the head as it came (h2c with a
// grpc_buffer_size): then a COMPRESSION_ERROR it did not cause is a head
// HPACK cannot decode, not a big one, and the failure is nginx's invalid
// header, "upstream sent invalid header" (recorded with nginx 1.22.1: a
// Huffman string padded with zero bits is a 502 logged "upstream sent
// invalid encoded header" then "upstream sent invalid header"; Go's client
// tells no more than the code).
func grpcTooBig(err error, wireBound bool) *failure {
	msg := err.Error()
	if !errors.Is(err, errGRPCHeadTooBig) && !strings.Contains(msg, grpcHeadTooBig) && !grpcHeadConnErrors.MatchString(msg) {
		return nil
	}
	f := &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true,
		action: errlog.ActionHeader, msg: "upstream sent too big header while " + errlog.ActionHeader}
	if wireBound && !errors.Is(err, errGRPCHeadTooBig) && strings.HasSuffix(msg, "COMPRESSION_ERROR") {
		f.msg = "upstream sent invalid header while " + errlog.ActionHeader
	}
	return f
}

// grpcStreamReset matches the HTTP/2 client's error for a stream the
// upstream reset (RST_STREAM) before the response head: net/http's
// bundled HTTP/2 client reports it as an unexported type, only as text.
var grpcStreamReset = regexp.MustCompile(`stream error: stream ID \d+; (\w+|unknown error code 0x[0-9a-fA-F]+); received from peer`)

// grpcErrCodes are HTTP/2's error code names (RFC 9113, section 7) by number.
var grpcErrCodes = []string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
	"COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// grpcRejected is the failure of an attempt whose stream the upstream
// reset before the response head, or nil for any other error. nginx
// (ngx_http_grpc_process_header) logs "upstream rejected request with
// error CODE" with the reset's code as a number and treats it as an
// invalid header: 502, a failure of the server, retried only under
// grpc_next_upstream invalid_header.
func grpcRejected(err error) *failure {
	m := grpcStreamReset.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	code := -1
	for i, name := range grpcErrCodes {
		if name == m[1] {
			code = i
		}
	}
	if code < 0 {
		n, perr := strconv.ParseUint(strings.TrimPrefix(m[1], "unknown error code 0x"), 16, 32)
		if perr != nil {
			return nil
		}
		code = int(n)
	}
	return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader,
		msg: fmt.Sprintf("upstream rejected request with error %d while %s", code, errlog.ActionHeader)}
}

// Package health runs active health checks, NGINX Plus's health_check: every
// interval, a GET request to each server of an upstream group, whose response
// must pass a match block (or have a 2xx or 3xx status), or a gRPC
// grpc.health.v1.Health/Check call ([GRPCProbe]), or, for a stream
// upstream ([StreamProbe]), a TCP connection or UDP datagram with the stream
// match block's send and expect. The verdicts are
// kept by package upstream (Server.ReportCheck), which takes an unhealthy
// server out of every pick.
//
// A [Check] is one health_check directive compiled for one snapshot;
// [Check.CheckOnce] checks every server once, synchronously, and
// [Check.Run] is the loop around it. A [Group] owns the loops of one
// snapshot: it starts them when the snapshot goes live and stops them
// (waiting for every goroutine) when it is replaced or the daemon stops.
// A request never waits for a check.
package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
)

// Scheduled is a check of pool on schedule s (a health_check's interval=,
// jitter=, fails=, passes=, port=, mandatory and persistent), for the
// caller to give its probe.
func Scheduled(pool *upstream.Pool, s config.HealthSchedule) *Check {
	return &Check{
		Pool:     pool,
		Policy:   upstream.CheckPolicy{Fails: s.Fails, Passes: s.Passes, Mandatory: s.Mandatory, Persistent: s.Persistent},
		Interval: s.Interval,
		Jitter:   s.Jitter,
		Port:     s.Port,
	}
}

// Check is one health_check directive of one snapshot: what to send, how
// to judge the answer, how often.
type Check struct {
	// Key names the check across reloads (upstream.Pool.AttachChecks).
	Key string
	// Pool is the upstream group checked.
	Pool *upstream.Pool
	// Policy is fails=, passes=, mandatory and persistent.
	Policy upstream.CheckPolicy
	// Interval is the time between the end of one check of a server and
	// the start of the next; Jitter adds a random delay up to it.
	Interval, Jitter time.Duration
	// URI is the request target; Port, when not 0, replaces the servers'
	// port.
	URI  string
	Port int
	// Host is the Host header (proxy_pass's host, or the location's
	// proxy_set_header Host); Header are the other proxy_set_header
	// fields, in order.
	Host   string
	Header [][2]string
	// HTTP10 sends HTTP/1.0 (proxy_http_version 1.0) instead of 1.1.
	HTTP10 bool
	// Match is the match block; nil means a 2xx or 3xx status.
	Match *config.Match
	// ConnectTimeout, SendTimeout and ReadTimeout are the location's
	// proxy_connect_timeout, proxy_send_timeout and proxy_read_timeout.
	ConnectTimeout, SendTimeout, ReadTimeout time.Duration
	// TLS, when set, speaks TLS to the servers (proxy_pass https://).
	TLS *tls.Config
	// Stream, when set, makes the check a stream one (StreamProbe): URI,
	// Host, Header, HTTP10, Match, the three timeouts and TLS are then
	// unused.
	Stream *StreamProbe
	// GRPC, when set, makes the check a gRPC one (GRPCProbe): Host is the
	// :authority, TLS (with ALPN h2) and the three timeouts apply, URI,
	// Header, HTTP10 and Match are unused.
	GRPC *GRPCProbe
	// OnChange, when set, is told of every verdict change (for the error
	// log): the server, the change and, for a failure, why.
	OnChange func(s *upstream.Server, c upstream.HealthChange, why error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ErrMatch is the failure of a response that does not pass the match
// block (or, without one, has a status outside 2xx and 3xx).
var ErrMatch = errors.New("response does not match")

func (c *Check) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// CheckOnce checks every server of the pool that is not down once, one
// after the other, and records the results.
func (c *Check) CheckOnce(ctx context.Context) {
	for _, s := range c.servers() {
		c.checkServer(ctx, s)
	}
}

// Run checks every server (each on its own goroutine) every Interval until
// ctx ends, and returns once every goroutine has. A server added to the
// pool at run time (upstream.Pool.Add) is checked at once; a removed one
// stops being checked.
func (c *Check) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[*upstream.Server]bool{}
	for {
		changed := c.Pool.Changed()
		for _, s := range c.servers() {
			if !running[s] {
				running[s] = true
				wg.Go(func() { c.loop(ctx, s) })
			}
		}
		for s := range running {
			if s.Removed() {
				delete(running, s)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// loop checks one server until ctx ends: at once, then Interval (plus
// jitter) after each check ends.
func (c *Check) loop(ctx context.Context, s *upstream.Server) {
	t := time.NewTimer(c.jitter())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.Removed() {
			return
		}
		c.checkServer(ctx, s)
		t.Reset(c.Interval + c.jitter())
	}
}

// jitter returns a random delay up to Jitter.
func (c *Check) jitter() time.Duration {
	if c.Jitter <= 0 {
		return 0
	}
	return rand.N(c.Jitter)
}

// servers lists the pool's servers that are not down: primaries, then
// backups.
func (c *Check) servers() []*upstream.Server {
	return c.Pool.Up()
}

// checkServer probes s and records the result, unless ctx ended during
// the probe (a check cut short by a reload says nothing of the server).
func (c *Check) checkServer(ctx context.Context, s *upstream.Server) {
	err := c.Probe(ctx, s)
	if ctx.Err() != nil {
		return
	}
	if ch := s.ReportCheck(c.Key, c.now(), err == nil); ch != upstream.HealthSame && c.OnChange != nil {
		c.OnChange(s, ch, err)
	}
}

// Probe sends one check request to s and judges the response: nil when it
// passes, else why it failed (a connect, send or read error or timeout,
// or ErrMatch).
func (c *Check) Probe(ctx context.Context, s *upstream.Server) error {
	if c.Stream != nil {
		return c.probeStream(ctx, s)
	}
	conn, err := c.dial(ctx, s)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.GRPC != nil {
		return c.probeGRPC(ctx, conn)
	}
	if err := c.send(conn); err != nil {
		return err
	}
	return c.judge(conn)
}

// dial connects to s (Port replacing its port) within ConnectTimeout.
func (c *Check) dial(ctx context.Context, s *upstream.Server) (net.Conn, error) {
	addr := s.Addr()
	if c.Port != 0 && s.Network() == upstream.NetworkTCP {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = net.JoinHostPort(host, strconv.Itoa(c.Port))
		}
	}
	d := net.Dialer{Timeout: c.ConnectTimeout}
	conn, err := d.DialContext(ctx, s.Network(), addr)
	if err != nil {
		return nil, connectFailed(err)
	}
	if c.TLS == nil {
		return conn, nil
	}
	tc := tls.Client(conn, c.TLS)
	hctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, handshakeFailed(err)
	}
	return tc, nil
}

// send writes the check request within SendTimeout.
func (c *Check) send(conn net.Conn) error {
	var b strings.Builder
	proto := "HTTP/1.1"
	if c.HTTP10 {
		proto = "HTTP/1.0"
	}
	fmt.Fprintf(&b, "GET %s %s\r\nHost: %s\r\n", c.URI, proto, c.Host)
	for _, h := range c.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("Connection: close\r\n\r\n")
	deadline(conn.SetWriteDeadline, c.SendTimeout)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return sendFailed(err)
	}
	return nil
}

// judge reads the response within ReadTimeout and matches it.
func (c *Check) judge(conn net.Conn) error {
	deadline(conn.SetReadDeadline, c.ReadTimeout)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return readHeadFailed(err)
	}
	defer resp.Body.Close()
	var body []byte
	if needsBody(c.Match) {
		if body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody)); err != nil {
			return &failure{msg: errlog.ReadFailed(err, errlog.ActionBody), err: err}
		}
	}
	if !Matches(c.Match, resp.StatusCode, resp.Header, body) {
		return fmt.Errorf("%w: status %d", ErrMatch, resp.StatusCode)
	}
	return nil
}

// deadline sets a deadline d from now, or none for d <= 0.
func deadline(set func(time.Time) error, d time.Duration) {
	if d > 0 {
		_ = set(time.Now().Add(d))
	}
}

// Group owns the checks of one snapshot and their goroutines.
type Group struct {
	checks []*Check
	pools  []*upstream.Pool

	// mu guards cancel and started.
	mu      sync.Mutex
	cancel  context.CancelFunc
	started bool
	wg      sync.WaitGroup
}

// NewGroup returns the checks of a snapshot whose pools are pools. Start
// attaches them to every pool (pools without a check lose any verdict an
// older snapshot left) and starts them.
func NewGroup(pools []*upstream.Pool, checks []*Check) *Group {
	return &Group{checks: checks, pools: pools}
}

// Len returns the number of checks.
func (g *Group) Len() int {
	if g == nil {
		return 0
	}
	return len(g.checks)
}

// Start attaches the checks to the pools and starts one Run per check. The
// previous snapshot's group must be stopped first. Start runs once; later
// calls, and calls on a nil Group, do nothing.
func (g *Group) Start() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return
	}
	g.started = true
	byPool := map[*upstream.Pool]map[string]upstream.CheckPolicy{}
	for _, c := range g.checks {
		if byPool[c.Pool] == nil {
			byPool[c.Pool] = map[string]upstream.CheckPolicy{}
		}
		byPool[c.Pool][c.Key] = c.Policy
	}
	for _, p := range g.pools {
		p.AttachChecks(byPool[p])
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	for _, c := range g.checks {
		g.wg.Go(func() { c.Run(ctx) })
	}
}

// Stop stops every check and waits for their goroutines. A check in
// progress is cut short (its connection closed) and not recorded. It is
// safe to call more than once, before Start and on a nil Group.
func (g *Group) Stop() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.started = true // a stopped group never starts
	cancel := g.cancel
	g.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	g.wg.Wait()
}

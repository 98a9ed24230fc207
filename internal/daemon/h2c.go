package daemon

import (
	"crypto/tls"
	"net"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// Plain-text HTTP/2 (h2c) on addresses with "listen ... http2" and no ssl,
// as nginx 1.22 speaks it: HTTP/2 with prior knowledge only (a client
// starts with the connection preface; an HTTP/1.1 request gets no answer
// but the connection's end). gRPC clients talk to grpc_pass locations this
// way. The accept wrapper (tlsListener) marks such connections (h2cConn);
// the engine hands them at once to net/http's HTTP/2 server, which serves
// each stream through h2Conn.ServeHTTP as it does on ssl addresses.

// nextProtoUnencryptedHTTP2 is the TLSNextProto key under which net/http
// keeps its plain-text HTTP/2 server (net/http's own name for it).
const nextProtoUnencryptedHTTP2 = "unencrypted_http2"

// h2cConn is a client connection on a plain address that speaks HTTP/2.
type h2cConn struct {
	net.Conn
	// set is the address's default server's settings (a plain connection
	// names no server before its first request).
	set *config.Settings
}

// UnencryptedNetConn returns the connection itself: net/http's HTTP/2
// server takes a plain connection inside a *tls.Conn that never
// handshakes, and asks it for the real one through this method.
func (c h2cHandoff) UnencryptedNetConn() net.Conn { return c.Conn }

// h2cHandoff is what the *tls.Conn handed to net/http wraps.
type h2cHandoff struct{ net.Conn }

// serveH2C serves an h2c connection until it ends, then closes it and
// tells the server and the counters, as serveH2 does.
func (cc *clientConn) serveH2C(c *h2cConn) {
	if c.set == nil {
		c.set = &config.Settings{}
	}
	defer func() {
		cc.srv.stats.close()
		cc.clientGone()
		cc.srv.untrack(cc)
		cc.c.Close()
	}()
	if !readPreface(c) {
		// nginx 1.22.1's words and fields (recorded: an HTTP/1.1 request
		// to "listen ... http2" without ssl).
		cc.log().LogRequest(errlog.Info, &errlog.Request{Conn: cc.ci.id, Client: cc.clientAddr(), Server: c.LocalAddr().String()},
			"invalid connection preface while processing HTTP/2 connection")
		return
	}
	tc := tlsClientOver(h2cHandoff{c.Conn})
	hc := &h2Conn{cc: cc, tc: tc, key: cc.srv.key, d: cc.srv.daemon, base: cc.ci, set: c.set}
	hc.base.fields = nil
	hc.base.scratch = nil // a stream takes its scratch from the pool
	hc.base.snap, hc.base.lst = nil, nil
	hc.noDelay()
	hc.gen = cc.srv.h2.gen.Load()
	srv := cc.srv.h2.server(hc.set)
	if srv == nil {
		return
	}
	srv.serveH2C(srv.hs, tc, hc)
	hc.finishing.Wait()
}

// h2Preface is what an HTTP/2 client sends first (RFC 9113, 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// goawayProtocolError is a GOAWAY frame: last stream 0, PROTOCOL_ERROR.
var goawayProtocolError = []byte{0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}

// readPreface reads the client's connection preface within
// client_header_timeout (net/http's server is told it was read). Anything
// else, an HTTP/1.1 request say, gets GOAWAY with PROTOCOL_ERROR, as nginx
// 1.22 answers it, and false. As nginx, it refuses at the first byte that
// differs, and takes in what else of the request has arrived (nginx reads
// it into its buffer), so the close that follows is not a reset that
// could destroy the GOAWAY before the client reads it.
func readPreface(c *h2cConn) bool {
	if t := c.set.ClientHeaderTimeout; t > 0 {
		_ = c.SetReadDeadline(time.Now().Add(t))
	}
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	var buf [len(h2Preface)]byte
	got := 0
	for got < len(buf) {
		n, err := c.Conn.Read(buf[got:])
		if string(buf[got:got+n]) != h2Preface[got:got+n] {
			goAwayProtocol(c)
			return false
		}
		got += n
		if err != nil {
			if got > 0 {
				_, _ = c.Write(goawayProtocolError)
			}
			return false
		}
	}
	return true
}

// goAwayProtocol writes GOAWAY with PROTOCOL_ERROR to a plain HTTP/2
// connection that is refused before its preface was read, and takes in
// what else of the client's bytes has arrived (nginx reads them into its
// buffer), so that the close that follows is not a reset that could
// destroy the GOAWAY before the client reads it.
func goAwayProtocol(c *h2cConn) {
	_, _ = c.Write(goawayProtocolError)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _ = c.Conn.Read(make([]byte, 4096))
}

// tlsClientOver wraps c in a *tls.Conn that is never used for TLS: it only
// carries c to net/http's plain-text HTTP/2 server.
func tlsClientOver(c h2cHandoff) *tls.Conn { return tls.Client(c, nil) }

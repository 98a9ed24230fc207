package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/upstream"
)

// StreamProbe makes a Check a stream one, NGINX Plus's
// ngx_stream_upstream_hc_module: a TCP connection (or a UDP socket) to
// the server, the match block's send string written, and its expect
// string or regex looked for in what the server answers.
//
// Over TCP, without a match block (or with one that has neither send nor
// expect), a connect that succeeds passes. Over UDP, the check writes the
// match block's send string ("nginx health check" without one); with an
// expect, a datagram that matches must come back within Timeout; without
// one, the check passes unless the server's host answers with an ICMP
// "port unreachable" (seen as a refused read) within Timeout.
type StreamProbe struct {
	// UDP checks over UDP (health_check's udp parameter).
	UDP bool
	// Match is the stream match block; nil means none.
	Match *config.StreamMatch
	// Timeout bounds the whole check, connect, send and expect included
	// (health_check_timeout); ConnectTimeout bounds the connect
	// (proxy_connect_timeout; 0: Timeout alone).
	Timeout, ConnectTimeout time.Duration
	// BufferSize is how much of a TCP answer expect examines (0: 16 KiB,
	// the stream proxy_buffer_size's default).
	BufferSize int
}

// udpDefaultSend is what a UDP check without a send string writes, as
// NGINX Plus documents it.
const udpDefaultSend = "nginx health check"

// defaultStreamBuffer is the stream proxy_buffer_size's default.
const defaultStreamBuffer = 16 << 10

// ErrTimeout is the failure of a check that did not end within the
// stream health_check_timeout.
var ErrTimeout = errors.New("timed out")

// probeStream runs one stream check of s: nil when it passes.
func (c *Check) probeStream(ctx context.Context, s *upstream.Server) error {
	p := c.Stream
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	network, addr := p.target(s, c.Port)
	d := net.Dialer{Timeout: p.ConnectTimeout}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.Join(ErrTimeout, err)
		}
		return connectFailed(err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var send []byte
	if p.Match != nil {
		send = p.Match.Send
	}
	if p.UDP && len(send) == 0 {
		send = []byte(udpDefaultSend)
	}
	if len(send) > 0 {
		if _, err := conn.Write(send); err != nil {
			return fmt.Errorf("send to %s: %w", addr, timeoutErr(err))
		}
	}
	if p.UDP {
		return p.judgeDatagrams(conn)
	}
	if !p.Match.HasExpect() {
		return nil
	}
	return p.judgeStream(conn)
}

// target is the network and address a check of s connects to: port
// replaces the server's port (0: keep it).
func (p *StreamProbe) target(s *upstream.Server, port int) (network, addr string) {
	network, addr = s.Network(), s.Addr()
	if port != 0 && network == upstream.NetworkTCP {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = net.JoinHostPort(host, strconv.Itoa(port))
		}
	}
	switch {
	case p.UDP && network == upstream.NetworkUnix:
		network = "unixgram"
	case p.UDP:
		network = "udp"
	}
	return network, addr
}

// judgeStream reads a TCP answer until the expect test passes, the server
// closes, the buffer is full or the time is up.
func (p *StreamProbe) judgeStream(conn net.Conn) error {
	size := p.BufferSize
	if size <= 0 {
		size = defaultStreamBuffer
	}
	buf := make([]byte, 0, size)
	for len(buf) < size {
		n, err := conn.Read(buf[len(buf):size])
		buf = buf[:len(buf)+n]
		if n > 0 && expects(p.Match, buf) {
			return nil
		}
		if err != nil {
			if isTimeout(err) {
				return fmt.Errorf("%w: %w after %d bytes", ErrMatch, ErrTimeout, len(buf))
			}
			return fmt.Errorf("%w: %q (%v)", ErrMatch, clip(buf), err)
		}
	}
	return fmt.Errorf("%w: %q", ErrMatch, clip(buf))
}

// judgeDatagrams reads UDP answers: with an expect, until one passes it;
// without, a refused read (ICMP port unreachable) fails and silence until
// the deadline passes.
func (p *StreamProbe) judgeDatagrams(conn net.Conn) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		switch {
		case err == nil && !p.Match.HasExpect():
			return nil // an answer: the port is open
		case err == nil && expects(p.Match, buf[:n]):
			return nil
		case err == nil:
			continue
		case errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("port unreachable: %w", err)
		case isTimeout(err) && !p.Match.HasExpect():
			return nil
		case isTimeout(err):
			return fmt.Errorf("%w: %w", ErrMatch, ErrTimeout)
		}
		return fmt.Errorf("read: %w", err)
	}
}

// expects reports whether data passes m's expect test.
func expects(m *config.StreamMatch, data []byte) bool {
	if m.ExpectRegex != nil {
		return m.ExpectRegex.MatchString(string(data))
	}
	return bytes.Contains(data, m.Expect)
}

// isTimeout reports whether err is a deadline's (the check's timeout).
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)
}

// timeoutErr names a deadline's error ErrTimeout.
func timeoutErr(err error) error {
	if isTimeout(err) {
		return ErrTimeout
	}
	return err
}

// clip is the start of an answer, for the error log.
func clip(b []byte) []byte {
	const n = 64
	if len(b) > n {
		return b[:n]
	}
	return b
}

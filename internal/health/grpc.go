package health

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
)

// GRPCProbe makes a check a gRPC one (NGINX Plus's health_check type=grpc):
// the probe is the gRPC Health Checking Protocol's unary call
// grpc.health.v1.Health/Check over HTTP/2 (h2c, or TLS with ALPN h2 when
// Check.TLS is set), to Check.Host as :authority, bounded by the check's
// ConnectTimeout, SendTimeout and ReadTimeout (the location's grpc_*
// timeouts). It passes when the call ends with grpc-status 0 and the answer's
// status is SERVING, or when its grpc-status is Status.
type GRPCProbe struct {
	// Service is the HealthCheckRequest's service (grpc_service=); empty
	// asks about the server as a whole.
	Service string
	// Status, when not 0, is a grpc-status that passes whatever the
	// answer (grpc_status=), for servers that do not implement the
	// protocol (12, UNIMPLEMENTED).
	Status int
}

// grpcHealthPath is the Check method's :path.
const grpcHealthPath = "/grpc.health.v1.Health/Check"

// maxGRPCAnswer bounds the response body a gRPC check reads: the answer
// is a few bytes.
const maxGRPCAnswer = 64 << 10

// The HealthCheckResponse.ServingStatus values.
const (
	grpcUnknown        = 0
	grpcServing        = 1
	grpcNotServing     = 2
	grpcServiceUnknown = 3
)

// ErrGRPCAnswer is the failure of a gRPC check whose answer cannot be read:
// no grpc-status, a malformed message.
var ErrGRPCAnswer = errors.New("invalid gRPC health check answer")

// probeGRPC runs the Check call on conn, Probe's connection to the
// server, and judges the answer.
func (c *Check) probeGRPC(ctx context.Context, conn net.Conn) error {
	// The deadlines bound the whole call: writes (request and HTTP/2
	// control frames) by SendTimeout, reads of the answer by ReadTimeout.
	deadline(conn.SetWriteDeadline, c.SendTimeout)
	deadline(conn.SetReadDeadline, c.ReadTimeout)
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		return fmt.Errorf("start HTTP/2 check connection: %w", err)
	}
	defer cc.Close()
	resp, err := cc.RoundTrip(c.grpcRequest(ctx))
	if err != nil {
		return fmt.Errorf("send gRPC check request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGRPCAnswer))
	if err != nil {
		return fmt.Errorf("read gRPC check answer: %w", err)
	}
	return c.GRPC.judge(resp, body)
}

// grpcRequest is the Check call to Host.
func (c *Check) grpcRequest(ctx context.Context) *http.Request {
	scheme := "http"
	if c.TLS != nil {
		scheme = "https"
	}
	// The URL's host is a placeholder: Host (the grpc_pass address as
	// written) goes as :authority.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, scheme+"://localhost"+grpcHealthPath,
		bytes.NewReader(grpcFrame(encodeHealthRequest(c.GRPC.Service))))
	req.Host = c.Host
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	return req
}

// judge decides a Check call's answer: resp with its body read.
func (p *GRPCProbe) judge(resp *http.Response, body []byte) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: HTTP status %d", ErrMatch, resp.StatusCode)
	}
	// grpc-status ends the call in the trailers, or in the headers of a
	// "Trailers-Only" answer.
	raw := resp.Trailer.Get("Grpc-Status")
	if raw == "" {
		raw = resp.Header.Get("Grpc-Status")
	}
	code, err := strconv.Atoi(raw)
	if err != nil || code < 0 {
		return fmt.Errorf("%w: no grpc-status", ErrGRPCAnswer)
	}
	if p.Status != 0 && code == p.Status {
		return nil
	}
	if code != 0 {
		return fmt.Errorf("%w: grpc-status %d", ErrMatch, code)
	}
	msg, err := parseGRPCFrame(body)
	if err != nil {
		return err
	}
	st, err := decodeHealthStatus(msg)
	if err != nil {
		return err
	}
	if st != grpcServing {
		return fmt.Errorf("%w: status %s", ErrMatch, servingStatusName(st))
	}
	return nil
}

// servingStatusName names a ServingStatus value as health.proto does.
func servingStatusName(st uint64) string {
	switch st {
	case grpcUnknown:
		return "UNKNOWN"
	case grpcServing:
		return "SERVING"
	case grpcNotServing:
		return "NOT_SERVING"
	case grpcServiceUnknown:
		return "SERVICE_UNKNOWN"
	}
	return strconv.FormatUint(st, 10)
}

// encodeHealthRequest encodes a HealthCheckRequest: field 1, the string
// service, left out when empty as proto3 does.
func encodeHealthRequest(service string) []byte {
	if service == "" {
		return nil
	}
	b := []byte{1<<3 | 2} // field 1, length-delimited
	b = binary.AppendUvarint(b, uint64(len(service)))
	return append(b, service...)
}

// grpcFrame prefixes msg with gRPC's length-prefixed message header: an
// uncompressed flag and the length, big-endian.
func grpcFrame(msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

// parseGRPCFrame returns the first message of a gRPC response body: it
// must be whole and uncompressed (the check offers no compression).
func parseGRPCFrame(body []byte) ([]byte, error) {
	if len(body) < 5 {
		return nil, fmt.Errorf("%w: no response message", ErrGRPCAnswer)
	}
	if body[0] != 0 {
		return nil, fmt.Errorf("%w: compressed or unknown message flag %d", ErrGRPCAnswer, body[0])
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) > uint64(len(body)-5) {
		return nil, fmt.Errorf("%w: truncated response message", ErrGRPCAnswer)
	}
	return body[5 : 5+n], nil
}

// decodeHealthStatus reads a HealthCheckResponse: field 1, the enum
// status (the last one wins, as in protobuf); other fields are skipped. A
// message without it is UNKNOWN (0).
func decodeHealthStatus(msg []byte) (uint64, error) {
	var status uint64
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad field key", ErrGRPCAnswer)
		}
		msg = msg[n:]
		field, wire := key>>3, key&7
		if field == 1 && wire != 0 {
			return 0, fmt.Errorf("%w: status is not a varint", ErrGRPCAnswer)
		}
		v, rest, err := skipField(msg, wire)
		if err != nil {
			return 0, err
		}
		if field == 1 {
			status = v
		}
		msg = rest
	}
	return status, nil
}

// skipField reads one value of wire type wire from the front of b: the
// value of a varint, and what follows it.
func skipField(b []byte, wire uint64) (uint64, []byte, error) {
	bad := fmt.Errorf("%w: truncated field", ErrGRPCAnswer)
	switch wire {
	case 0: // varint
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, nil, bad
		}
		return v, b[n:], nil
	case 1: // 64-bit
		if len(b) < 8 {
			return 0, nil, bad
		}
		return 0, b[8:], nil
	case 2: // length-delimited
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return 0, nil, bad
		}
		return 0, b[n+int(l):], nil
	case 5: // 32-bit
		if len(b) < 4 {
			return 0, nil, bad
		}
		return 0, b[4:], nil
	}
	return 0, nil, fmt.Errorf("%w: unsupported wire type %d", ErrGRPCAnswer, wire)
}

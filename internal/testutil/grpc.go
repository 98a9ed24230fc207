package testutil

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
)

// H2CTransport speaks HTTP/2 with prior knowledge (h2c) to addr, whatever
// the request URL's host: a client of "listen ... http2" addresses and of
// gRPC servers without TLS. The caller closes its idle connections.
func H2CTransport(addr string) *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return tr
}

// GRPCFrame frames one gRPC message: the uncompressed flag, the 4-byte
// length, the payload.
func GRPCFrame(msg string) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

// ReadGRPCFrame reads one gRPC message from r.
func ReadGRPCFrame(r io.Reader) (string, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	msg := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	_, err := io.ReadFull(r, msg)
	return string(msg), err
}

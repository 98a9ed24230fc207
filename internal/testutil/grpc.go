package testutil

import (
	"encoding/binary"
	"io"
)

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

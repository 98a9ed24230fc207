package proxy

import (
	"errors"
	"net"
)

// errGRPCHeadTooBig is what a grpcHeadConn's Read returns once a response
// head went past grpc_buffer_size: the HTTP/2 client ends the connection
// (which carries that request alone, see grpc lanes) and the request with
// it, and grpcTooBig logs nginx's "upstream sent too big header".
var errGRPCHeadTooBig = errors.New("grpc: upstream response head larger than grpc_buffer_size")

// HTTP/2 frame types and the flag that ends a header block (RFC 9113,
// sections 6.2 and 6.10).
const (
	h2FrameHeaders      = 0x1
	h2FrameContinuation = 0x9
	h2FlagEndHeaders    = 0x4
	h2FrameHeaderLen    = 9
)

// grpcHeadConn bounds the response heads read from an h2c gRPC upstream as
// nginx's grpc_buffer_size does: by their bytes as they came, HPACK-coded
// (the header block: the payloads of a HEADERS frame and the CONTINUATION
// frames after it), not as Go's HTTP/2 client counts a head once decoded
// (each field's name and value plus 32 bytes, MaxResponseHeaderBytes). A
// head's 6,000 bytes of Huffman-coded text take 3,750 on the wire: nginx
// 1.22.1 passes it with the default 4k, not one of 7,000 (recorded). The
// first head of each stream is bounded; trailers are not, as nginx reads
// them with the body.
//
// It follows the frames in what Read returns without copying or holding
// anything: a small state machine over the 9-byte frame headers. Only the
// HTTP/2 client's read goroutine calls Read.
type grpcHeadConn struct {
	net.Conn
	limit int // grpc_buffer_size

	hdr    [h2FrameHeaderLen]byte // the frame header being read
	nhdr   int                    // its bytes read so far
	left   int                    // payload bytes of the current frame still to come
	block  int                    // bytes of the head being read so far
	inHead bool                   // the current frame is part of a stream's first head
	ends   bool                   // the current frame ends its header block
	last   uint32                 // the highest stream whose first head was read
	err    error                  // errGRPCHeadTooBig once the bound was passed
}

// newGRPCHeadConn bounds c's response heads at limit bytes (a limit of 0
// or less bounds nothing).
func newGRPCHeadConn(c net.Conn, limit int) net.Conn {
	if limit <= 0 {
		return c
	}
	return &grpcHeadConn{Conn: c, limit: limit}
}

// Read reads from the connection and follows the frames read; once a head
// passed the bound, it returns errGRPCHeadTooBig instead of its bytes.
func (c *grpcHeadConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if c.scan(p[:n]) {
		c.err = errGRPCHeadTooBig
		return 0, c.err
	}
	return n, err
}

// scan follows b, the next bytes of the frame stream, and reports whether
// a stream's first head grew past the limit.
func (c *grpcHeadConn) scan(b []byte) bool {
	for len(b) > 0 {
		if c.left == 0 && c.nhdr < h2FrameHeaderLen {
			k := copy(c.hdr[c.nhdr:], b)
			c.nhdr += k
			b = b[k:]
			if c.nhdr == h2FrameHeaderLen {
				c.frameStarts()
			}
			continue
		}
		k := min(c.left, len(b))
		c.left -= k
		b = b[k:]
		if c.inHead {
			c.block += k
			if c.block > c.limit {
				return true
			}
		}
		if c.left == 0 {
			c.frameEnds()
		}
	}
	return false
}

// frameStarts takes in a frame header just read.
func (c *grpcHeadConn) frameStarts() {
	h := c.hdr
	c.left = int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	stream := uint32(h[5]&0x7f)<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])
	switch h[3] {
	case h2FrameHeaders:
		c.inHead = stream > c.last
		c.block = 0
		if c.inHead {
			c.block = h2FrameHeaderLen
		}
		c.ends = h[4]&h2FlagEndHeaders != 0
		if c.inHead && c.ends {
			c.last = stream
		}
	case h2FrameContinuation:
		// continues the block of the HEADERS frame before it
		if c.inHead {
			c.block += h2FrameHeaderLen
		}
		c.ends = h[4]&h2FlagEndHeaders != 0
		if c.inHead && c.ends {
			c.last = stream
		}
	default:
		c.inHead = false
	}
	if c.left == 0 {
		c.frameEnds()
	}
}

// frameEnds readies the state for the next frame header.
func (c *grpcHeadConn) frameEnds() {
	c.nhdr = 0
	if c.ends {
		c.inHead = false
		c.ends = false
	}
}

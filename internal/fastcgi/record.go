// Package fastcgi is fulcrum's FastCGI client: the records of the FastCGI 1.0
// protocol (a request's BEGIN_REQUEST, PARAMS and STDIN; a response's STDOUT,
// STDERR and END_REQUEST), the CGI response head parsed from STDOUT, and the
// location handler of fastcgi_pass (and scgi_pass, uwsgi_pass), which sends
// requests to an upstream group with the balancer as the HTTP proxy does, and
// caches responses with fastcgi_cache through the proxy cache's rules
// (package cacherule).
package fastcgi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The record types of FastCGI 1.0 (section 8 of the specification).
const (
	typeBeginRequest = 1
	typeAbortRequest = 2
	typeEndRequest   = 3
	typeParams       = 4
	typeStdin        = 5
	typeStdout       = 6
	typeStderr       = 7
)

// roleResponder is the only role nginx uses; flagKeepConn asks the
// application to keep the connection open after the request
// (fastcgi_keep_conn on).
const (
	roleResponder = 1
	flagKeepConn  = 1
)

// requestID is the id of every request fulcrum sends: like nginx, one
// request at a time per connection, always id 1.
const requestID = 1

// maxRecord is the largest content of one record; nginx sends at most 32 KiB
// of the body per record, and so does fulcrum.
const maxRecord = 32 << 10

// errMalformed is a response that breaks the protocol (a bad version, a
// record for another request, an unknown type), counted as
// invalid_header; the wrapping error carries nginx's words.
var errMalformed = errors.New("malformed FastCGI record")

// header is a record's 8-byte header.
type header struct {
	typ     uint8
	id      uint16
	length  uint16
	padding uint8
}

// writeRecord writes one record of type typ with content, padded to a
// multiple of 8 bytes as nginx pads.
func writeRecord(w *bufio.Writer, typ uint8, content []byte) error {
	pad := (8 - len(content)%8) % 8
	var h [8]byte
	h[0] = 1
	h[1] = typ
	binary.BigEndian.PutUint16(h[2:], requestID)
	binary.BigEndian.PutUint16(h[4:], uint16(len(content)))
	h[6] = byte(pad)
	w.Write(h[:])
	w.Write(content)
	var zero [8]byte
	_, err := w.Write(zero[:pad])
	return err
}

// writeBegin writes BEGIN_REQUEST for the responder role.
func writeBegin(w *bufio.Writer, keepConn bool) error {
	body := [8]byte{0, roleResponder}
	if keepConn {
		body[2] = flagKeepConn
	}
	return writeRecord(w, typeBeginRequest, body[:])
}

// writeStream writes data as records of type typ, at most maxRecord bytes
// each (an empty data writes nothing; the stream's end is an empty record).
func writeStream(w *bufio.Writer, typ uint8, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), maxRecord)
		if err := writeRecord(w, typ, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// appendParam appends one name-value pair in FastCGI's encoding: each
// length in one byte below 128, else in four with the high bit set.
func appendParam(dst []byte, name, value string) []byte {
	dst = appendLength(dst, len(name))
	dst = appendLength(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

func appendLength(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)|1<<31)
}

// recordReader reads a response's records: Read returns the STDOUT stream,
// STDERR records go to stderr, and END_REQUEST ends the stream with io.EOF.
type recordReader struct {
	r     *bufio.Reader
	left  int // STDOUT content bytes left in the current record
	pad   int // padding after it
	ended bool
	// stderr takes each STDERR record's text; an error it returns ends
	// the stream (fastcgi_catch_stderr).
	stderr func([]byte) error
	// in counts the bytes read from the connection ($upstream_bytes_received).
	in int64
	// raw reads an SCGI response, which has no records.
	raw countReader
	// limit is fastcgi_buffer_size when positive: nginx reads the records,
	// headers and padding included, into a buffer of that size, and the
	// response head must end inside it.
	limit int64
	// out counts the STDOUT content bytes read so far.
	out int64
	// base is where the first STDOUT record with content begins in the
	// bytes read: STDERR records before it do not count against limit (nginx
	// empties its buffer after one that it has logged whole).
	base int64
	// started is set once a STDOUT record with content has been read.
	started bool
	// fit is how many STDOUT content bytes lie inside the first limit bytes
	// (from base), once a record reaches past them; -1 until then.
	fit int64
}

// fits reports whether the first size bytes of the STDOUT stream lie inside
// the first limit bytes of the response (the head then fits nginx's buffer).
func (rr *recordReader) fits(size int) bool { return rr.fit < 0 || int64(size) <= rr.fit }

// measure notes, for fits, a STDOUT record of length content bytes whose
// header was just read.
func (rr *recordReader) measure(length int) {
	if !rr.started {
		rr.started, rr.base = true, rr.in-8
	}
	if rr.fit >= 0 || rr.limit <= 0 {
		return
	}
	if room := rr.limit - (rr.in - rr.base); room < int64(length) {
		rr.fit = rr.out + max(room, 0)
	}
}

// Read implements io.Reader over the STDOUT stream.
func (rr *recordReader) Read(p []byte) (int, error) {
	for rr.left == 0 {
		if rr.ended {
			return 0, io.EOF
		}
		if err := rr.next(); err != nil {
			return 0, err
		}
	}
	n, err := rr.r.Read(p[:min(len(p), rr.left)])
	rr.left -= n
	rr.in += int64(n)
	rr.out += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if rr.left == 0 && err == nil {
		err = rr.skip(rr.pad)
	}
	return n, err
}

// next reads records until one with STDOUT content, the end of the request,
// or an error.
func (rr *recordReader) next() error {
	var hb [8]byte
	if _, err := io.ReadFull(rr.r, hb[:]); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	rr.in += 8
	h := header{typ: hb[1], id: binary.BigEndian.Uint16(hb[2:]), length: binary.BigEndian.Uint16(hb[4:]), padding: hb[6]}
	if hb[0] != 1 {
		return fmt.Errorf("%w: upstream sent unsupported FastCGI protocol version: %d", errMalformed, hb[0])
	}
	if h.id != requestID {
		return fmt.Errorf("%w: upstream sent unexpected FastCGI request id: %d", errMalformed, h.id)
	}
	switch h.typ {
	case typeStdout:
		rr.left, rr.pad = int(h.length), int(h.padding)
		if rr.left == 0 {
			return rr.skip(rr.pad)
		}
		rr.measure(rr.left)
		return nil
	case typeStderr:
		buf := make([]byte, h.length)
		if _, err := io.ReadFull(rr.r, buf); err != nil {
			return unexpected(err)
		}
		rr.in += int64(h.length)
		if rr.stderr != nil && len(buf) > 0 {
			if err := rr.stderr(buf); err != nil {
				return err
			}
		}
		return rr.skip(int(h.padding))
	case typeEndRequest:
		rr.ended = true
		return rr.skip(int(h.length) + int(h.padding))
	}
	return fmt.Errorf("%w: upstream sent invalid FastCGI record type: %d", errMalformed, h.typ)
}

// skip discards n bytes.
func (rr *recordReader) skip(n int) error {
	m, err := rr.r.Discard(n)
	rr.in += int64(m)
	return unexpected(err)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeSCGI writes an SCGI request head: a netstring of CONTENT_LENGTH
// (the body's length) first, as nginx puts it, then the encoded params.
func writeSCGI(w *bufio.Writer, params []byte, bodyLen int) {
	cl := "CONTENT_LENGTH\x00" + strconv.Itoa(bodyLen) + "\x00"
	w.WriteString(strconv.Itoa(len(cl) + len(params)))
	w.WriteByte(':')
	w.WriteString(cl)
	w.Write(params)
	w.WriteByte(',')
}

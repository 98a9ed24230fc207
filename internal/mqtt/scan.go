package mqtt

import (
	"bytes"
	"fmt"
)

// Verdict is what Scan says of a session's first bytes.
type Verdict uint8

// The verdicts of Scan.
const (
	// More: the bytes may still become a CONNECT packet; read more.
	More Verdict = iota
	// Done: the bytes begin with a whole, valid CONNECT packet.
	Done
	// Declined: the bytes are not (or cannot become) a valid CONNECT
	// packet.
	Declined
)

// The starts of a CONNECT's variable header: protocol name and level.
var protocols = [...][]byte{
	[]byte("\x00\x04MQTT\x04"),
	[]byte("\x00\x04MQTT\x05"),
	[]byte("\x00\x06MQIsdp\x03"),
}

// Scan reads the first bytes of a session, buf, which grows between calls
// as reads bring more. It decides as soon as the bytes allow: a first byte
// that is not CONNECT's, a Remaining Length that is malformed or a
// protocol name and level that are not MQTT's decline at once. total is
// the packet's length once the Remaining Length is read (0 before), so a
// caller can refuse a packet larger than its buffer without waiting for
// it; with Done, c is the packet parsed from buf[:total]. Bytes after the
// packet (the client's next packets) are not looked at.
func Scan(buf []byte) (v Verdict, total int, c *Connect) {
	if len(buf) == 0 {
		return More, 0, nil
	}
	if buf[0] != typeConnect {
		return Declined, 0, nil
	}
	rem, n, err := varint(buf[1:])
	switch {
	case err != nil:
		return Declined, 0, nil
	case n == 0:
		return More, 0, nil
	}
	total = 1 + n + rem
	if !protocolPrefix(buf[1+n : min(len(buf), total)]) {
		return Declined, total, nil
	}
	if len(buf) < total {
		return More, total, nil
	}
	c, err = Parse(buf[:total])
	if err != nil {
		return Declined, total, nil
	}
	return Done, total, c
}

// protocolPrefix says b, the start of a variable header, may still be an
// MQTT protocol name and level.
func protocolPrefix(b []byte) bool {
	for _, p := range protocols {
		if bytes.HasPrefix(p, b[:min(len(b), len(p))]) {
			return true
		}
	}
	return false
}

// varint reads a variable byte integer (the Remaining Length, a property
// length) from the front of b: its value and its length in bytes; n is 0
// when b ends before it does. More than four bytes, or more bytes than the
// value needs (MQTT-1.5.5-1), is malformed.
func varint(b []byte) (v, n int, err error) {
	mult := 1
	for i := 0; i < 4; i++ {
		if i == len(b) {
			return 0, 0, nil
		}
		v += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				return 0, 0, malformed("a variable byte integer longer than its value needs")
			}
			return v, i + 1, nil
		}
		mult <<= 7
	}
	return 0, 0, malformed("a variable byte integer longer than four bytes")
}

// varintLen is how many bytes appendVarint writes for v.
func varintLen(v int) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// appendVarint appends v as a variable byte integer (v <= maxRemaining).
func appendVarint(dst []byte, v int) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v&0x7f|0x80))
		v >>= 7
	}
	return append(dst, byte(v))
}

// The kinds of property values (MQTT 5.0 section 2.2.2.2).
const (
	propByte = iota + 1
	propTwo
	propFour
	propString
	propPair // a UTF-8 string pair
	propBinary
)

// connectProps and willProps are the properties a CONNECT's variable
// header and its will may carry, by identifier (MQTT 5.0 sections
// 3.1.2.11 and 3.1.3.2); another identifier is malformed.
var (
	connectProps = map[byte]uint8{
		0x11: propFour,   // Session Expiry Interval
		0x21: propTwo,    // Receive Maximum
		0x27: propFour,   // Maximum Packet Size
		0x22: propTwo,    // Topic Alias Maximum
		0x19: propByte,   // Request Response Information
		0x17: propByte,   // Request Problem Information
		0x26: propPair,   // User Property
		0x15: propString, // Authentication Method
		0x16: propBinary, // Authentication Data
	}
	willProps = map[byte]uint8{
		0x18: propFour,   // Will Delay Interval
		0x01: propByte,   // Payload Format Indicator
		0x02: propFour,   // Message Expiry Interval
		0x03: propString, // Content Type
		0x08: propString, // Response Topic
		0x09: propBinary, // Correlation Data
		0x26: propPair,   // User Property
	}
)

// properties reads a property length and the properties, each checked
// against known; it returns their bytes, without the length.
func (r *reader) properties(known map[byte]uint8, what string) ([]byte, error) {
	l, n, err := varint(r.b)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, malformed(what + " run past the packet")
	}
	r.b = r.b[n:]
	props, err := r.take(l, what)
	if err != nil {
		return nil, err
	}
	for p := (reader{b: props}); len(p.b) > 0; {
		if err := p.property(known, what); err != nil {
			return nil, err
		}
	}
	return props, nil
}

// property reads one property: its identifier and its value.
func (r *reader) property(known map[byte]uint8, what string) error {
	id, _ := r.byte(what)
	kind, ok := known[id]
	if !ok {
		return malformed(fmt.Sprintf("property 0x%02x in %s", id, what))
	}
	var err error
	switch kind {
	case propByte:
		_, err = r.take(1, what)
	case propTwo:
		_, err = r.take(2, what)
	case propFour:
		_, err = r.take(4, what)
	case propString:
		_, err = r.str(what)
	case propPair:
		if _, err = r.str(what); err == nil {
			_, err = r.str(what)
		}
	case propBinary:
		_, err = r.binary(what)
	}
	return err
}

// appendProperties appends a property length and the properties' bytes.
func appendProperties(dst, props []byte) []byte {
	return append(appendVarint(dst, len(props)), props...)
}

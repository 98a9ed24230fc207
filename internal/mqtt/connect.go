// Package mqtt reads and rewrites the CONNECT packet an MQTT client sends
// first, for the stream module's mqtt_preread (NGINX Plus's
// ngx_stream_mqtt_preread_module: $mqtt_preread_clientid,
// $mqtt_preread_username) and mqtt filter (ngx_stream_mqtt_filter_module:
// mqtt_set_connect). It knows MQTT 3.1.1 (protocol level 4), 5.0 (level 5)
// and 3.1 (protocol name "MQIsdp", level 3, laid out as 3.1.1), and is
// strict: a packet that breaks the specifications' rules for CONNECT is
// malformed, never guessed at.
//
// The layout (MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1):
//
//	fixed header      0x10, Remaining Length (variable byte integer, 1-4 bytes)
//	variable header   protocol name (string), level (byte), connect flags
//	                  (byte), keep alive (two bytes); 5.0: properties
//	payload           client id; will properties (5.0), will topic and will
//	                  payload when the will flag is set; username when its
//	                  flag is set; password when its flag is set
//
// Strings and binary data are a two-byte big-endian length and the bytes.
package mqtt

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformed is what Parse's errors wrap: the bytes are not a valid
// CONNECT packet.
var ErrMalformed = errors.New("malformed MQTT CONNECT packet")

// ErrTooLong is what Append's error wraps when the packet would be longer
// than a Remaining Length can say (268,435,455 bytes after the fixed
// header) or a field longer than 65,535 bytes.
var ErrTooLong = errors.New("MQTT CONNECT packet too long")

// The connect flags (MQTT 3.1.1 section 3.1.2.3).
const (
	flagUsername   = 0x80
	flagPassword   = 0x40
	flagWillRetain = 0x20
	flagWillQoS    = 0x18
	flagWill       = 0x04
	flagReserved   = 0x01
)

// typeConnect is the first byte of a CONNECT packet: type 1, flags 0.
const typeConnect = 0x10

// maxRemaining is the largest Remaining Length four bytes can say.
const maxRemaining = 268435455

// Connect is one CONNECT packet, parsed. Its byte slices point into the
// bytes given to Parse; Set replaces them.
type Connect struct {
	// ProtocolName is "MQTT" (levels 4 and 5) or "MQIsdp" (level 3).
	ProtocolName string
	// Level is the protocol level: 3 (3.1), 4 (3.1.1) or 5 (5.0).
	Level byte
	// Flags are the connect flags as received; Append recomputes the
	// username and password bits from HasUsername and HasPassword.
	Flags     byte
	KeepAlive uint16
	// Properties are the 5.0 CONNECT properties' bytes, without their
	// length; WillProperties the will properties' (when the will flag is
	// set). Both are nil below level 5.
	Properties, WillProperties []byte
	ClientID                   []byte
	// WillTopic and WillPayload are there when the will flag is set.
	WillTopic, WillPayload []byte
	// Username and Password are there when HasUsername and HasPassword.
	Username, Password       []byte
	HasUsername, HasPassword bool
}

// Field names a payload field mqtt_set_connect may set.
type Field uint8

// The fields of mqtt_set_connect.
const (
	ClientID Field = iota + 1
	Username
	Password
)

// ParseField returns the Field of a name mqtt_set_connect takes
// ("clientid", "username", "password"); false for another.
func ParseField(name string) (Field, bool) {
	switch name {
	case "clientid":
		return ClientID, true
	case "username":
		return Username, true
	case "password":
		return Password, true
	}
	return 0, false
}

// Set gives field the value v, adding the field when the client sent
// none. A password added to a packet below level 5 without a username
// also adds an empty username: MQTT 3.1.1 forbids the password flag
// without the username flag (MQTT-3.1.2-22).
func (c *Connect) Set(f Field, v []byte) {
	switch f {
	case ClientID:
		c.ClientID = v
	case Username:
		c.Username, c.HasUsername = v, true
	case Password:
		c.Password, c.HasPassword = v, true
		if c.Level < 5 && !c.HasUsername {
			c.Username, c.HasUsername = []byte{}, true
		}
	}
}

// Parse reads the CONNECT packet pkt, whole: its fixed header, and exactly
// the Remaining Length it says after that. An error wraps ErrMalformed.
func Parse(pkt []byte) (*Connect, error) {
	if len(pkt) == 0 || pkt[0] != typeConnect {
		return nil, malformed("not a CONNECT packet")
	}
	rem, n, err := varint(pkt[1:])
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, malformed("the Remaining Length is cut short")
	}
	if len(pkt) != 1+n+rem {
		return nil, malformed(fmt.Sprintf("the Remaining Length says %d bytes, %d came", rem, len(pkt)-1-n))
	}
	r := reader{b: pkt[1+n:]}
	c := &Connect{}
	if err := c.header(&r); err != nil {
		return nil, err
	}
	if err := c.payload(&r); err != nil {
		return nil, err
	}
	if len(r.b) != 0 {
		return nil, malformed(fmt.Sprintf("%d bytes follow the last field", len(r.b)))
	}
	return c, nil
}

// header reads the variable header.
func (c *Connect) header(r *reader) error {
	name, err := r.str("the protocol name")
	if err != nil {
		return err
	}
	level, err := r.byte("the protocol level")
	if err != nil {
		return err
	}
	if !knownProtocol(string(name), level) {
		return malformed(fmt.Sprintf("unknown protocol %q level %d", name, level))
	}
	c.ProtocolName, c.Level = string(name), level
	if c.Flags, err = r.byte("the connect flags"); err != nil {
		return err
	}
	if err := c.checkFlags(); err != nil {
		return err
	}
	ka, err := r.take(2, "the keep alive")
	if err != nil {
		return err
	}
	c.KeepAlive = uint16(ka[0])<<8 | uint16(ka[1])
	c.HasUsername, c.HasPassword = c.Flags&flagUsername != 0, c.Flags&flagPassword != 0
	if c.Level == 5 {
		c.Properties, err = r.properties(connectProps, "the properties")
	}
	return err
}

// knownProtocol says the protocol name and level are MQTT 3.1.1 ("MQTT"
// 4), 5.0 ("MQTT" 5) or 3.1 ("MQIsdp" 3).
func knownProtocol(name string, level byte) bool {
	return name == "MQTT" && (level == 4 || level == 5) || name == "MQIsdp" && level == 3
}

// checkFlags applies the rules of the connect flags (MQTT-3.1.2-3,
// -11, -13, -14, -15, -22).
func (c *Connect) checkFlags() error {
	f := c.Flags
	switch {
	case f&flagReserved != 0:
		return malformed("the reserved connect flag is set")
	case f&flagWill == 0 && f&(flagWillQoS|flagWillRetain) != 0:
		return malformed("will QoS or retain without the will flag")
	case f&flagWillQoS == flagWillQoS:
		return malformed("will QoS 3")
	case c.Level < 5 && f&flagPassword != 0 && f&flagUsername == 0:
		return malformed("the password flag without the username flag")
	}
	return nil
}

// payload reads the payload's fields, as the flags say.
func (c *Connect) payload(r *reader) error {
	var err error
	if c.ClientID, err = r.str("the client identifier"); err != nil {
		return err
	}
	if c.Flags&flagWill != 0 {
		if c.Level == 5 {
			if c.WillProperties, err = r.properties(willProps, "the will properties"); err != nil {
				return err
			}
		}
		if c.WillTopic, err = r.str("the will topic"); err != nil {
			return err
		}
		if c.WillPayload, err = r.binary("the will payload"); err != nil {
			return err
		}
	}
	if c.HasUsername {
		if c.Username, err = r.str("the username"); err != nil {
			return err
		}
	}
	if c.HasPassword {
		c.Password, err = r.binary("the password")
	}
	return err
}

// Append appends the packet, serialised, to dst: the username and
// password flags follow HasUsername and HasPassword, and the Remaining
// Length is the new one. A packet Parse read and Set did not change comes
// out as it came.
func (c *Connect) Append(dst []byte) ([]byte, error) {
	flags := c.Flags &^ (flagUsername | flagPassword)
	if c.HasUsername {
		flags |= flagUsername
	}
	if c.HasPassword {
		flags |= flagPassword
	}
	var body []byte
	body = appendBinary(body, []byte(c.ProtocolName))
	body = append(body, c.Level, flags, byte(c.KeepAlive>>8), byte(c.KeepAlive))
	if c.Level == 5 {
		body = appendProperties(body, c.Properties)
	}
	body, err := c.appendPayload(body, flags)
	if err != nil {
		return dst, err
	}
	if len(body) > maxRemaining {
		return dst, fmt.Errorf("%w: %d bytes after the fixed header", ErrTooLong, len(body))
	}
	dst = append(dst, typeConnect)
	dst = appendVarint(dst, len(body))
	return append(dst, body...), nil
}

// appendPayload appends the payload's fields, as flags say.
func (c *Connect) appendPayload(body []byte, flags byte) ([]byte, error) {
	for i, f := range [...]struct {
		v  []byte
		on bool
	}{
		{c.ClientID, true},
		{c.WillTopic, flags&flagWill != 0},
		{c.WillPayload, flags&flagWill != 0},
		{c.Username, c.HasUsername},
		{c.Password, c.HasPassword},
	} {
		if !f.on {
			continue
		}
		if len(f.v) > 0xffff {
			return body, fmt.Errorf("%w: a field of %d bytes", ErrTooLong, len(f.v))
		}
		if i == 1 && c.Level == 5 { // the will properties come before the will topic
			body = appendProperties(body, c.WillProperties)
		}
		body = appendBinary(body, f.v)
	}
	return body, nil
}

// malformed is an error that wraps ErrMalformed.
func malformed(why string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, why)
}

// reader takes the fields of a packet from the front of b.
type reader struct{ b []byte }

// take returns the next n bytes.
func (r *reader) take(n int, what string) ([]byte, error) {
	if len(r.b) < n {
		return nil, malformed(what + " runs past the packet")
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) byte(what string) (byte, error) {
	v, err := r.take(1, what)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// binary reads a two-byte length and that many bytes.
func (r *reader) binary(what string) ([]byte, error) {
	l, err := r.take(2, what)
	if err != nil {
		return nil, err
	}
	return r.take(int(l[0])<<8|int(l[1]), what)
}

// str reads a UTF-8 string: well-formed, without U+0000 (MQTT-1.5.3-1,
// -2).
func (r *reader) str(what string) ([]byte, error) {
	v, err := r.binary(what)
	if err != nil {
		return nil, err
	}
	if !validString(v) {
		return nil, malformed(what + " is not a valid UTF-8 string")
	}
	return v, nil
}

// validString says b is well-formed UTF-8 without U+0000 or a surrogate.
func validString(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c == 0 {
			return false
		}
	}
	return true
}

// appendBinary appends a two-byte length and b.
func appendBinary(dst, b []byte) []byte {
	return append(append(dst, byte(len(b)>>8), byte(len(b))), b...)
}

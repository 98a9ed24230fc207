// Package proxyproto reads the PROXY protocol header (v1 text and v2 binary,
// haproxy.org/download/2.0/doc/proxy-protocol.txt) that a load balancer sends
// before a client's bytes, with the rules of nginx 1.22's
// ngx_proxy_protocol_read (src/core/ngx_proxy_protocol.c), recorded against
// nginx 1.22.1:
//
//   - v1 addresses are kept as sent: any run of hex digits, '.' and ':' (even
//     empty), without checking that they are addresses of the family named;
//     ports are decimal (leading zeros allowed) up to 65535;
//   - "PROXY UNKNOWN" skips to the first CRLF and gives no addresses;
//   - v2 gives addresses only for the PROXY command over STREAM with AF_INET
//     or AF_INET6; LOCAL, other commands, DGRAM and other families are read
//     and skipped (the connection keeps its own addresses); the TLVs after
//     a PROXY command's addresses are kept as sent, unchecked, for
//     $proxy_protocol_tlv_* (nginx 1.23.2, see tlv.go);
//   - nginx does not wait for the rest of a header cut in two reads: what
//     the first read found must hold it whole.
package proxyproto

import (
	"bytes"
	"net/netip"
	"strconv"
)

// MaxHeader is nginx 1.22's NGX_PROXY_PROTOCOL_MAX_HEADER: how much its stream
// module peeks at (and its http module for an ssl address, plus one byte).
// A header that does not fit in what was read is refused.
const MaxHeader = 107

// Header is what a PROXY protocol header said about the client's connection.
type Header struct {
	// SrcAddr and DstAddr are the client's and the proxy's addresses as
	// nginx keeps them: a v1 header's text as sent, a v2 header's printed
	// as nginx's ngx_sock_ntop prints them.
	SrcAddr, DstAddr string
	// SrcPort and DstPort are the ports; 0 prints as an empty variable.
	SrcPort, DstPort uint16
	// TLVs are a v2 header's bytes after the addresses, as sent: nginx
	// 1.23.2 keeps them unchecked and reads them only when a
	// $proxy_protocol_tlv_* variable asks (TLV). Empty for v1. Bounded by
	// what Read looks at.
	TLVs string
}

// Error is a header nginx refuses: the connection is closed. Msg is nginx's
// error log line for it, without the " while reading PROXY protocol"
// context, or "" when nginx logs nothing (a v2 address block shorter than
// its family needs).
type Error struct{ Msg string }

func (e *Error) Error() string {
	if e.Msg == "" {
		return "invalid PROXY protocol header"
	}
	return e.Msg
}

// signature starts a v2 header.
var signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// v2HeaderLen is the fixed part of a v2 header: signature, version and
// command, family and transport, length.
const v2HeaderLen = 16

// Parse reads the header at the start of buf, what one read of the
// connection found. It returns how many bytes the header took (the bytes
// after it are the client's) and its addresses, nil when the header gives
// none (UNKNOWN, LOCAL, an unsupported family or transport). An invalid or
// incomplete header is an *Error.
func Parse(buf []byte) (int, *Header, error) {
	if len(buf) >= v2HeaderLen && bytes.HasPrefix(buf, signature) {
		return parseV2(buf)
	}
	n, h, ok := parseV1(buf)
	if !ok {
		// nginx 1.22 logs the whole read, not just the first line.
		return 0, nil, &Error{Msg: `broken header: "` + string(buf) + `"`}
	}
	return n, h, nil
}

// parseV1 reads a text header; ok false means broken.
func parseV1(buf []byte) (int, *Header, bool) {
	if len(buf) < 8 || !bytes.HasPrefix(buf, []byte("PROXY ")) {
		return 0, nil, false
	}
	p := buf[6:]
	if bytes.HasPrefix(p, []byte("UNKNOWN")) {
		i := bytes.Index(p[7:], []byte("\r\n"))
		if i < 0 {
			return 0, nil, false
		}
		return 6 + 7 + i + 2, nil, true
	}
	if len(p) < 5 || string(p[:3]) != "TCP" || p[3] != '4' && p[3] != '6' || p[4] != ' ' {
		return 0, nil, false
	}
	p = p[5:]
	var h Header
	var ok bool
	if h.SrcAddr, p, ok = readAddr(p); !ok {
		return 0, nil, false
	}
	if h.DstAddr, p, ok = readAddr(p); !ok {
		return 0, nil, false
	}
	if h.SrcPort, p, ok = readPort(p, ' '); !ok {
		return 0, nil, false
	}
	if h.DstPort, p, ok = readPort(p, '\r'); !ok {
		return 0, nil, false
	}
	if len(p) == 0 || p[0] != '\n' {
		return 0, nil, false
	}
	return len(buf) - len(p) + 1, &h, true
}

// readAddr reads an address up to its space: hex digits, '.' and ':' only
// (ngx_proxy_protocol_read_addr).
func readAddr(p []byte) (string, []byte, bool) {
	for i, c := range p {
		switch {
		case c == ' ':
			return string(p[:i]), p[i+1:], true
		case c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// readPort reads a port up to sep: decimal digits, 0 to 65535 (nginx's
// ngx_atoi, which refuses an empty number).
func readPort(p []byte, sep byte) (uint16, []byte, bool) {
	i := bytes.IndexByte(p, sep)
	if i <= 0 {
		return 0, nil, false
	}
	n := 0
	for _, c := range p[:i] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, nil, false
		}
	}
	return uint16(n), p[i+1:], true
}

// parseV2 reads a binary header (buf holds at least its fixed part).
func parseV2(buf []byte) (int, *Header, error) {
	if v := buf[12] >> 4; v != 2 {
		return 0, nil, &Error{Msg: "unknown PROXY protocol version: " + strconv.Itoa(int(v))}
	}
	n := int(buf[14])<<8 | int(buf[15])
	if len(buf)-v2HeaderLen < n {
		return 0, nil, &Error{Msg: "header is too large"}
	}
	end := v2HeaderLen + n
	body := buf[v2HeaderLen:end]
	command, family, transport := buf[12]&0x0f, buf[13]>>4, buf[13]&0x0f
	if command != 1 || transport != 1 { // only PROXY over STREAM
		return end, nil, nil
	}
	var alen int
	switch family {
	case 1: // AF_INET
		alen = 4
	case 2: // AF_INET6
		alen = 16
	default:
		return end, nil, nil
	}
	if len(body) < 2*alen+4 {
		return 0, nil, &Error{}
	}
	h := &Header{
		SrcAddr: ntop(body[:alen]),
		DstAddr: ntop(body[alen : 2*alen]),
		SrcPort: uint16(body[2*alen])<<8 | uint16(body[2*alen+1]),
		DstPort: uint16(body[2*alen+2])<<8 | uint16(body[2*alen+3]),
		TLVs:    string(body[2*alen+4:]),
	}
	return end, h, nil
}

// ntop prints a 4- or 16-byte address as nginx's ngx_sock_ntop does. For
// IPv6 that is ngx_inet6_ntop, step by step: the first longest run of two or
// more zero groups is "::"; an address whose first five groups are zero and
// sixth ffff, or whose first six are zero, or whose first seven are zero and
// whose last bytes are neither 0 nor 1 each, ends in dotted IPv4.
func ntop(p []byte) string {
	if len(p) == 4 {
		return strconv.Itoa(int(p[0])) + "." + strconv.Itoa(int(p[1])) + "." + strconv.Itoa(int(p[2])) + "." + strconv.Itoa(int(p[3]))
	}
	zero, last, maxRun, n := -1, -1, 1, 0
	for i := 0; i < 16; i += 2 {
		if p[i] != 0 || p[i+1] != 0 {
			if maxRun < n {
				zero, maxRun = last, n
			}
			n = 0
			continue
		}
		if n == 0 {
			last = i
		}
		n++
	}
	if maxRun < n {
		zero, maxRun = last, n
	}
	dst := make([]byte, 0, 46)
	end := 16
	if zero == 0 {
		if maxRun == 5 && p[10] == 0xff && p[11] == 0xff || maxRun == 6 || maxRun == 7 && p[14] != 0 && p[15] != 1 {
			end = 12
		}
		dst = append(dst, ':')
	}
	for i := 0; i < end; i += 2 {
		if i == zero {
			dst = append(dst, ':')
			i += (maxRun - 1) * 2
			continue
		}
		dst = strconv.AppendUint(dst, uint64(p[i])<<8|uint64(p[i+1]), 16)
		if i < 14 {
			dst = append(dst, ':')
		}
	}
	if end == 12 {
		dst = append(dst, ntop(p[12:])...)
	}
	return string(dst)
}

// FormatAddr prints a as nginx's ngx_sock_ntop does (for IPv6,
// ngx_inet6_ntop's rules, which differ from netip's for a few forms such as
// "::1.2.3.4"): for the variables of an address taken from a header.
func FormatAddr(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	return ntop(b[:])
}

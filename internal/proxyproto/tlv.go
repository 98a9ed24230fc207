package proxyproto

import (
	"errors"
	"fmt"
	"strconv"
)

// TLVs of a v2 header, as nginx 1.23.2's ngx_proxy_protocol_get_tlv reads
// them for $proxy_protocol_tlv_NAME (http and stream):
//
//   - NAME is alpn (0x01), authority (0x02), unique_id (0x05), ssl (0x20)
//     or netns (0x30), or 0xHH for any type (hex digits, either case);
//   - ssl_NAME looks inside the ssl TLV (PP2_TYPE_SSL): ssl_version (0x21),
//     ssl_cn (0x22), ssl_cipher (0x23), ssl_sig_alg (0x24), ssl_key_alg
//     (0x25) or ssl_0xHH, and ssl_verify, the TLV's 32-bit verify field in
//     decimal;
//   - the value is the TLV's bytes as sent; the first TLV of the type wins;
//   - not found (NGX_DECLINED): no header with addresses, no TLV of that
//     type, a ssl_* name without a ssl TLV, a 0x type above 0xff, and an
//     unknown name, which nginx logs at error (ErrUnknownTLV: `unknown
//     PROXY protocol TLV "NAME"`);
//   - an error (NGX_ERROR, the variable fails), logged at error: a 0x name
//     without hex digits or with another byte (ErrInvalidTLVName: `invalid
//     PROXY protocol TLV "NAME"`), a TLV list cut short before the type
//     asked for (ErrBrokenTLV: `broken PROXY protocol TLV`); and, without a
//     line, a ssl TLV shorter than its 5-byte client and verify fields
//     (ErrShortSSLTLV).
//
// The list is walked only when asked, as nginx does: a header whose TLVs
// are broken is accepted, and only the variables that reach the break fail.
// NAME in a line is the variable's name after "proxy_protocol_tlv_", the
// ssl_ prefix included. A failed variable reads as a not found one wherever
// nginx evaluates it (ngx_http_script_copy_var_code and its stream twin
// copy nothing for it; a log_format writes "-"): the lines are the
// difference.

// TLV errors. The error of an unknown or invalid name wraps
// ErrUnknownTLV or ErrInvalidTLVName with the name, in nginx's words.
var (
	ErrInvalidTLVName       = errors.New("invalid PROXY protocol TLV")
	ErrBrokenTLV            = errors.New("broken PROXY protocol TLV")
	ErrUnknownTLV           = errors.New("unknown PROXY protocol TLV")
	ErrShortSSLTLV    error = quietError("short PROXY protocol ssl TLV")
)

// LogLine is the line nginx logs at error level for an error of
// Header.TLV, and false for ErrShortSSLTLV, which it logs nothing for.
func LogLine(err error) (string, bool) {
	var q interface{ Quiet() bool }
	if errors.As(err, &q) && q.Quiet() {
		return "", false
	}
	return err.Error(), true
}

// quietError is a failure nginx writes no line for.
type quietError string

func (e quietError) Error() string { return string(e) }

// Quiet reports that nginx logs nothing for the error.
func (e quietError) Quiet() bool { return true }

// tlvTypes are the TLV names nginx knows outside the ssl TLV, and
// sslTLVTypes those inside it (without the "ssl_" prefix).
var (
	tlvTypes    = map[string]int{"alpn": 0x01, "authority": 0x02, "unique_id": 0x05, "ssl": 0x20, "netns": 0x30}
	sslTLVTypes = map[string]int{"version": 0x21, "cn": 0x22, "cipher": 0x23, "sig_alg": 0x24, "key_alg": 0x25}
)

// typeSSL is PP2_TYPE_SSL, whose value is a client byte, a 32-bit verify
// field and sub-TLVs.
const typeSSL = 0x20

// TLV returns the value of the TLV name (the part of the variable's name
// after "proxy_protocol_tlv_", lower-case) of a header h, which may be nil
// (no header with addresses: not found). found false with a nil error is
// "not found"; an error's text is the line nginx logs at error level
// (none for ErrShortSSLTLV), and ErrUnknownTLV's is not found too. See the
// rules above.
func (h *Header) TLV(name string) (value string, found bool, err error) {
	if h == nil {
		return "", false, nil
	}
	full, tlvs, types := name, h.TLVs, tlvTypes
	if rest, ok := cutSSL(name); ok {
		ssl, found, err := lookupTLV(tlvs, typeSSL)
		if !found || err != nil {
			return "", false, err
		}
		if len(ssl) < 5 {
			return "", false, ErrShortSSLTLV
		}
		if rest == "verify" {
			v := uint32(ssl[1])<<24 | uint32(ssl[2])<<16 | uint32(ssl[3])<<8 | uint32(ssl[4])
			return strconv.FormatUint(uint64(v), 10), true, nil
		}
		name, tlvs, types = rest, ssl[5:], sslTLVTypes
	}
	if len(name) >= 2 && name[:2] == "0x" {
		t, ok := hexType(name[2:])
		if !ok {
			return "", false, fmt.Errorf(`%w "%s"`, ErrInvalidTLVName, full)
		}
		return lookupTLV(tlvs, t)
	}
	t, ok := types[name]
	if !ok {
		return "", false, fmt.Errorf(`%w "%s"`, ErrUnknownTLV, full)
	}
	return lookupTLV(tlvs, t)
}

// cutSSL removes a "ssl_" prefix (nginx tests the four bytes, so "ssl_"
// alone names an empty sub-TLV name, which is unknown).
func cutSSL(name string) (string, bool) {
	if len(name) >= 4 && name[:4] == "ssl_" {
		return name[4:], true
	}
	return name, false
}

// hexType reads a TLV type as nginx's ngx_hextoi does: at least one hex
// digit, nothing else, no overflow. A value above 0xff is valid and
// matches no TLV (-1).
func hexType(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := uint64(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if n > (1<<63-1)/16 { // ngx_hextoi's cutoff
			return 0, false
		}
		n = n*16 + uint64(d)
	}
	if n > 0xff {
		return -1, true
	}
	return int(n), true
}

// lookupTLV finds the first TLV of type t in tlvs
// (ngx_proxy_protocol_lookup_tlv); a list cut short before it is
// ErrBrokenTLV.
func lookupTLV(tlvs string, t int) (string, bool, error) {
	for len(tlvs) > 0 {
		if len(tlvs) < 3 {
			return "", false, ErrBrokenTLV
		}
		typ, n := int(tlvs[0]), int(tlvs[1])<<8|int(tlvs[2])
		tlvs = tlvs[3:]
		if len(tlvs) < n {
			return "", false, ErrBrokenTLV
		}
		if typ == t {
			return tlvs[:n], true, nil
		}
		tlvs = tlvs[n:]
	}
	return "", false, nil
}

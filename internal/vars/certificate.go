package vars

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf16"
)

// ClientCert is the certificate a client sent in the TLS handshake and what
// its verification said, for the $ssl_client_* variables. The values are
// formatted when a variable asks, as nginx prints them with OpenSSL.
type ClientCert struct {
	// Cert is the client's certificate (the first of the chain it sent).
	Cert *x509.Certificate
	// Verify is $ssl_client_verify: "SUCCESS", or "FAILED:" and OpenSSL's
	// reason ("FAILED:certificate has expired").
	Verify string
}

// clientCertVar returns the getter of an $ssl_client_* variable, or nil.
// On a plain connection they are not found; on a TLS connection without a
// client certificate they are not found either (an access log writes "-",
// as nginx 1.22.1's ngx_http_ssl_variable makes an empty value not found;
// recorded), except $ssl_client_verify, "NONE"; nor is a value that is
// empty for the certificate.
func (c *Compiler) clientCertVar(name string) Getter {
	f := ClientCertField(name)
	if f == nil {
		return nil
	}
	none := ""
	if name == "ssl_client_verify" {
		none = "NONE"
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		switch {
		case st.TLS == nil:
			return dst, false
		case st.TLS.Client == nil:
			return append(dst, none...), none != ""
		}
		n := len(dst)
		dst = f(dst, st.TLS.Client, c.now())
		return dst, len(dst) > n
	}
}

// ClientCertField returns the formatter of the $ssl_client_* variable name
// ("ssl_client_s_dn", ...) for a client that sent a certificate, as nginx
// prints it; nil for another name. The stream module's variables use it
// too.
func ClientCertField(name string) func(dst []byte, c *ClientCert, now time.Time) []byte {
	var f func(dst []byte, c *ClientCert, now time.Time) []byte
	switch name {
	case "ssl_client_verify":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return append(dst, c.Verify...) }
	case "ssl_client_s_dn":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return AppendDN(dst, c.Cert.RawSubject) }
	case "ssl_client_i_dn":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return AppendDN(dst, c.Cert.RawIssuer) }
	case "ssl_client_s_dn_legacy":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return AppendDNLegacy(dst, c.Cert.RawSubject) }
	case "ssl_client_i_dn_legacy":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return AppendDNLegacy(dst, c.Cert.RawIssuer) }
	case "ssl_client_serial":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return appendSerial(dst, c.Cert) }
	case "ssl_client_fingerprint":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte {
			sum := sha1.Sum(c.Cert.Raw)
			return hex.AppendEncode(dst, sum[:])
		}
	case "ssl_client_raw_cert":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return appendPEM(dst, c.Cert.Raw, "") }
	case "ssl_client_cert":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte {
			pem := appendPEM(nil, c.Cert.Raw, "\t")
			return append(dst, pem[:len(pem)-1]...) // nginx drops the last newline
		}
	case "ssl_client_escaped_cert":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte {
			return AppendEscapeURIComponent(dst, appendPEM(nil, c.Cert.Raw, ""))
		}
	case "ssl_client_v_start":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return appendASN1Time(dst, c.Cert.NotBefore) }
	case "ssl_client_v_end":
		f = func(dst []byte, c *ClientCert, _ time.Time) []byte { return appendASN1Time(dst, c.Cert.NotAfter) }
	case "ssl_client_v_remain":
		f = func(dst []byte, c *ClientCert, now time.Time) []byte {
			left := c.Cert.NotAfter.Sub(now)
			if left <= 0 {
				return append(dst, '0')
			}
			return strconv.AppendInt(dst, int64(left/(24*time.Hour)), 10)
		}
	}
	return f
}

// appendSerial appends the serial number as OpenSSL's i2a_ASN1_INTEGER
// writes it: upper-case hex, two digits a byte ("0A1B2C", "00").
func appendSerial(dst []byte, c *x509.Certificate) []byte {
	n := c.SerialNumber
	if n == nil {
		return dst
	}
	if n.Sign() < 0 {
		dst = append(dst, '-')
	}
	b := n.Bytes()
	if len(b) == 0 {
		return append(dst, "00"...)
	}
	for _, x := range b {
		dst = append(dst, upperHex[x>>4], upperHex[x&0xf])
	}
	return dst
}

// appendPEM appends der as a PEM CERTIFICATE block with 64-character lines,
// each line after the first prefixed with indent.
func appendPEM(dst, der []byte, indent string) []byte {
	dst = append(dst, "-----BEGIN CERTIFICATE-----\n"...)
	enc := base64.StdEncoding.EncodeToString(der)
	for len(enc) > 0 {
		n := min(64, len(enc))
		dst = append(dst, indent...)
		dst = append(dst, enc[:n]...)
		dst = append(dst, '\n')
		enc = enc[n:]
	}
	dst = append(dst, indent...)
	return append(dst, "-----END CERTIFICATE-----\n"...)
}

// appendASN1Time appends t as OpenSSL's ASN1_TIME_print: "Dec  5 17:20:05
// 2026 GMT".
func appendASN1Time(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "Jan _2 15:04:05 2006 GMT")
}

// uriComponentEscapes marks the bytes nginx's ngx_escape_uri escapes in its
// NGX_ESCAPE_URI_COMPONENT mode (1.22): controls, space, "#$%&'+,/:;<=>?@
// [\]^`{|} DEL and everything above.
var uriComponentEscapes = [8]uint32{
	0xffffffff, 0xfc00987d, 0x78000001, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
}

// AppendEscapeURIComponent appends v percent-encoded as nginx's
// ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) does ($ssl_client_escaped_cert).
func AppendEscapeURIComponent(dst, v []byte) []byte {
	for _, b := range v {
		if uriComponentEscapes[b>>5]&(1<<(b&0x1f)) != 0 {
			dst = append(dst, '%', upperHex[b>>4], upperHex[b&0xf])
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

// attributeNames are OpenSSL's short names of the attribute types a DN
// prints (XN_FLAG_FN_SN); others print as their dotted OID.
var attributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.13": "description", "2.5.4.15": "businessCategory", "2.5.4.17": "postalCode",
	"2.5.4.41": "name", "2.5.4.45": "x500UniqueIdentifier", "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
	"2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID", "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST", "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// attribute is one AttributeTypeAndValue, its value kept raw.
type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// AppendDN appends the distinguished name in raw (a DER Name) as nginx 1.22
// prints $ssl_client_s_dn and $ssl_client_i_dn: OpenSSL's
// X509_NAME_print_ex with XN_FLAG_RFC2253, the last attribute first,
// relative names separated by ",", the attributes of a multi-valued one by
// "+", the characters RFC 2253 reserves and every byte outside printable
// ASCII escaped ("O=Acme\, Inc.", "\C3\A9"), values of other types and
// unknown attribute types as "#" and their DER in hex. A name that does not
// parse appends nothing.
func AppendDN(dst, raw []byte) []byte {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return dst
	}
	var sets [][]attribute
	for _, r := range rdns {
		var set []attribute
		if _, err := asn1.UnmarshalWithParams(r.FullBytes, &set, "set"); err != nil {
			return dst
		}
		sets = append(sets, set)
	}
	first := true
	for i := len(sets) - 1; i >= 0; i-- {
		for j := len(sets[i]) - 1; j >= 0; j-- {
			switch {
			case first:
				first = false
			case j == len(sets[i])-1:
				dst = append(dst, ',')
			default:
				dst = append(dst, '+')
			}
			dst = appendAttribute(dst, sets[i][j])
		}
	}
	return dst
}

// AppendDNLegacy appends the distinguished name raw (a DER Name) as
// OpenSSL 3's X509_NAME_oneline prints it, nginx's $ssl_client_s_dn_legacy
// and $ssl_client_i_dn_legacy: each attribute as "/type=value" in the
// certificate's order, those of one multi-valued RDN joined with "+"; in the
// value "/" and "+" are escaped with a backslash and bytes outside printable
// ASCII are written \xHH (a UTF-8 "ü" is \xC3\xBC), as recorded with nginx
// 1.22.1. A type OpenSSL has no short name for is its dotted OID.
func AppendDNLegacy(dst, raw []byte) []byte {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return dst
	}
	for _, r := range rdns {
		var set []attribute
		if _, err := asn1.UnmarshalWithParams(r.FullBytes, &set, "set"); err != nil {
			return dst
		}
		for j, a := range set {
			if j == 0 {
				dst = append(dst, '/')
			} else {
				dst = append(dst, '+')
			}
			name, _ := attributeName(a)
			dst = append(dst, name...)
			dst = append(dst, '=')
			for _, b := range a.Value.Bytes {
				switch {
				case b < ' ' || b > '~':
					dst = append(dst, '\\', 'x', upperHex[b>>4], upperHex[b&0xf])
				case b == '/' || b == '+':
					dst = append(dst, '\\', b)
				default:
					dst = append(dst, b)
				}
			}
		}
	}
	return dst
}

// attributeName is a's short name (CN, O, ...), or its OID in dotted form
// when unknown (known false).
func attributeName(a attribute) (name string, known bool) {
	oid := a.Type.String()
	if name, known = attributeNames[oid]; !known {
		name = oid
	}
	return name, known
}

// appendAttribute appends one "type=value".
func appendAttribute(dst []byte, a attribute) []byte {
	name, known := attributeName(a)
	dst = append(dst, name...)
	dst = append(dst, '=')
	s, ok := attributeString(a.Value)
	if !known || !ok {
		dst = append(dst, '#')
		return hex.AppendEncode(dst, a.Value.FullBytes)
	}
	return appendRFC2253(dst, s)
}

// attributeString decodes the string types OpenSSL prints as text, as
// UTF-8.
func attributeString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString, 26: // 26: VisibleString
		return string(v.Bytes), true
	case asn1.TagT61String: // OpenSSL reads it as Latin-1
		r := make([]rune, len(v.Bytes))
		for i, b := range v.Bytes {
			r[i] = rune(b)
		}
		return string(r), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// appendRFC2253 appends s escaped as OpenSSL's ASN1_STRFLGS_RFC2253 does: a
// backslash before , + " \ < > ; and before a leading "#" or space and a
// trailing space; control characters and every byte of a non-ASCII
// character as "\" and two upper-case hex digits.
func appendRFC2253(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b < 0x20 || b >= 0x7f:
			dst = append(dst, '\\', upperHex[b>>4], upperHex[b&0xf])
		case b == ',' || b == '+' || b == '"' || b == '\\' || b == '<' || b == '>' || b == ';',
			i == 0 && (b == '#' || b == ' '), i == len(s)-1 && b == ' ':
			dst = append(dst, '\\', b)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

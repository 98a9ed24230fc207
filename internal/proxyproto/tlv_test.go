package proxyproto

import (
	"errors"
	"testing"
)

// tlv encodes one TLV.
func tlv(t byte, v string) string {
	return string([]byte{t, byte(len(v) >> 8), byte(len(v))}) + v
}

// TestHeaderTLV reads TLVs the way nginx 1.23.2's ngx_proxy_protocol_get_tlv
// does for $proxy_protocol_tlv_NAME (src/core/ngx_proxy_protocol.c): the
// names, the ssl sub-TLVs, ssl_verify in decimal, 0xHH types, and what is
// not found or an error.
func TestHeaderTLV(t *testing.T) {
	ssl := "\x05\x00\x00\x01\x02" + tlv(0x21, "TLSv1.3") + tlv(0x22, "client.example") + tlv(0x23, "TLS_AES_128_GCM_SHA256") +
		tlv(0x24, "SHA256") + tlv(0x25, "RSA2048") + tlv(0xe0, "private-sub")
	all := tlv(0x01, "h2") + tlv(0x02, "example.com") + tlv(0x05, "id-1") + tlv(0x20, ssl) + tlv(0x30, "ns1") +
		tlv(0xea, "\x01vpce-0123") + tlv(0xea, "second") + tlv(0x04, "")
	h := &Header{SrcAddr: "192.0.2.1", TLVs: all}
	tests := []struct {
		h     *Header
		name  string
		want  string
		found bool
		err   error
	}{
		{h, "alpn", "h2", true, nil},
		{h, "authority", "example.com", true, nil},
		{h, "unique_id", "id-1", true, nil},
		{h, "netns", "ns1", true, nil},
		{h, "ssl", ssl, true, nil},
		{h, "ssl_version", "TLSv1.3", true, nil},
		{h, "ssl_cn", "client.example", true, nil},
		{h, "ssl_cipher", "TLS_AES_128_GCM_SHA256", true, nil},
		{h, "ssl_sig_alg", "SHA256", true, nil},
		{h, "ssl_key_alg", "RSA2048", true, nil},
		{h, "ssl_verify", "258", true, nil},
		{h, "ssl_0xe0", "private-sub", true, nil},
		{h, "ssl_0x01", "", false, nil}, // sub-TLVs only
		{h, "0xea", "\x01vpce-0123", true, nil},
		{h, "0xEA", "\x01vpce-0123", true, nil},
		{h, "0x0ea", "\x01vpce-0123", true, nil},
		{h, "0x1", "h2", true, nil},
		{h, "0x04", "", true, nil},  // empty value, found
		{h, "0x21", "", false, nil}, // sub-TLV, not at the top level
		{h, "0x100", "", false, nil},
		{h, "0x", "", false, ErrInvalidTLVName},
		{h, "0xzz", "", false, ErrInvalidTLVName},
		{h, "ssl_0x", "", false, ErrInvalidTLVName},
		{h, "aws_vpce_id", "", false, ErrUnknownTLV},
		{h, "ssl_foo", "", false, ErrUnknownTLV},
		{h, "crc32c", "", false, ErrUnknownTLV},
		{h, "", "", false, ErrUnknownTLV},
		{nil, "alpn", "", false, nil},
		{&Header{}, "alpn", "", false, nil}, // v1: no TLVs
		{&Header{}, "ssl_verify", "", false, nil},
		{&Header{TLVs: tlv(0x30, "x")}, "ssl_cn", "", false, nil},
		{&Header{TLVs: tlv(0x01, "h2") + "\x02\x00\x09ab"}, "alpn", "h2", true, nil}, // found before the break
		{&Header{TLVs: tlv(0x01, "h2") + "\x02\x00\x09ab"}, "authority", "", false, ErrBrokenTLV},
		{&Header{TLVs: tlv(0x01, "h2") + "\x02"}, "netns", "", false, ErrBrokenTLV},
		{&Header{TLVs: tlv(0x20, "\x01\x00\x00")}, "ssl_verify", "", false, ErrShortSSLTLV},
		{&Header{TLVs: tlv(0x20, "\x01\x00\x00")}, "ssl_foo", "", false, ErrShortSSLTLV},
		{&Header{TLVs: tlv(0x20, "\x01\x00\x00")}, "ssl", "\x01\x00\x00", true, nil},
		{&Header{TLVs: tlv(0x20, "\x01\xff\xff\xff\xff")}, "ssl_verify", "4294967295", true, nil},
		{&Header{TLVs: tlv(0x20, "\x01\x00\x00\x00\x00\x21")}, "ssl_cn", "", false, ErrBrokenTLV},
	}
	for _, tt := range tests {
		got, found, err := tt.h.TLV(tt.name)
		if got != tt.want || found != tt.found || !errors.Is(err, tt.err) {
			t.Errorf("TLV(%q) = %q, %v, %v; want %q, %v, %v", tt.name, got, found, err, tt.want, tt.found, tt.err)
		}
	}
}

// TestHeaderTLVLogLine checks the error lines nginx 1.23.2's
// ngx_proxy_protocol_get_tlv and ngx_proxy_protocol_lookup_tlv log at
// error level for each failure (src/core/ngx_proxy_protocol.c): the name
// as written after the prefix, ssl_ included; none for a ssl TLV shorter
// than its client and verify fields.
func TestHeaderTLVLogLine(t *testing.T) {
	h := &Header{TLVs: tlv(0x20, "\x01\x00\x00\x00\x00") + tlv(0x01, "h2")}
	tests := []struct {
		h      *Header
		name   string
		line   string
		logged bool
	}{
		{h, "aws_vpce_id", `unknown PROXY protocol TLV "aws_vpce_id"`, true},
		{h, "ssl_foo", `unknown PROXY protocol TLV "ssl_foo"`, true},
		{h, "0xzz", `invalid PROXY protocol TLV "0xzz"`, true},
		{h, "ssl_0x", `invalid PROXY protocol TLV "ssl_0x"`, true},
		{&Header{TLVs: tlv(0x01, "h2") + "\x02\x00\x09ab"}, "authority", "broken PROXY protocol TLV", true},
		{&Header{TLVs: "\x01\x00"}, "ssl_cn", "broken PROXY protocol TLV", true},
		{&Header{TLVs: tlv(0x20, "\x01\x00\x00")}, "ssl_verify", "", false},
	}
	for _, tt := range tests {
		_, _, err := tt.h.TLV(tt.name)
		if err == nil {
			t.Errorf("TLV(%q): no error", tt.name)
			continue
		}
		if line, logged := LogLine(err); line != tt.line || logged != tt.logged {
			t.Errorf("TLV(%q): line %q, %v; want %q, %v", tt.name, line, logged, tt.line, tt.logged)
		}
	}
}

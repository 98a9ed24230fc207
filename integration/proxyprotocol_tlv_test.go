package integration

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
)

// ppV2TLVs is a PROXY protocol v2 header for TCP over IPv4 from
// 192.0.2.1:5000 to 198.51.100.2:443 with tlvs after the addresses.
func ppV2TLVs(tlvs ...[]byte) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x00")
	body := []byte{192, 0, 2, 1, 198, 51, 100, 2, 0x13, 0x88, 0x01, 0xbb}
	for _, t := range tlvs {
		body = append(body, t...)
	}
	binary.BigEndian.PutUint16(b[14:], uint16(len(body)))
	return append(b, body...)
}

// ppTLV encodes one TLV.
func ppTLV(typ byte, v string) []byte {
	return append([]byte{typ, byte(len(v) >> 8), byte(len(v))}, v...)
}

// TestProxyProtocolTLV reads $proxy_protocol_tlv_* (nginx 1.23.2, after
// 1.22.1: the rules are ngx_proxy_protocol_get_tlv's, see package
// proxyproto) in http and stream: named TLVs, ssl sub-TLVs, ssl_verify,
// 0xHH types; not found ("-" in a log) without the TLV or with a v1 header.
func TestProxyProtocolTLV(t *testing.T) {
	in := startFulcrum(t, `error_log stderr info;
events {}
http {
    server { listen 127.0.0.1:0 proxy_protocol;
        return 200 "alpn=$proxy_protocol_tlv_alpn authority=$proxy_protocol_tlv_authority cn=$proxy_protocol_tlv_ssl_cn verify=$proxy_protocol_tlv_ssl_verify vpce=$proxy_protocol_tlv_0xEA netns=[$proxy_protocol_tlv_netns]\n"; }
}
stream {
    log_format f '$proxy_protocol_tlv_alpn $proxy_protocol_tlv_ssl_version $proxy_protocol_tlv_0x05 $proxy_protocol_tlv_unknown';
    access_log %DIR%/logs/stream.log f;
    map $proxy_protocol_tlv_authority $backend_name { example.com one; default other; }
    server { listen 127.0.0.2:0 proxy_protocol; return "$backend_name $proxy_protocol_tlv_unique_id\n"; }
}`, 2)
	httpAddr, streamAddr := in.listening()[0], in.listening()[1]
	if strings.HasPrefix(httpAddr, "127.0.0.2:") {
		httpAddr, streamAddr = streamAddr, httpAddr
	}
	ssl := append([]byte{0x07, 0, 0, 0, 0}, ppTLV(0x22, "client.example")...)
	ssl = append(ssl, ppTLV(0x21, "TLSv1.3")...)
	full := ppV2TLVs(ppTLV(0x01, "h2"), ppTLV(0x02, "example.com"), ppTLV(0x05, "id-7"), ppTLV(0x20, string(ssl)), ppTLV(0xea, "\x01vpce-1"))
	const get = "GET / HTTP/1.0\r\n\r\n"

	t.Run("http", func(t *testing.T) {
		tests := []struct{ name, send, want string }{
			{"all", string(full) + get, "alpn=h2 authority=example.com cn=client.example verify=0 vpce=\x01vpce-1 netns=[]\n"},
			{"none", string(ppV2TLVs()) + get, "alpn= authority= cn= verify= vpce= netns=[]\n"},
			{"v1", "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n" + get, "alpn= authority= cn= verify= vpce= netns=[]\n"},
		}
		for _, tt := range tests {
			if got := ppBody(ppExchange(t, httpAddr, []byte(tt.send))); got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
	})
	t.Run("stream", func(t *testing.T) {
		if got := ppExchange(t, streamAddr, full); got != "one id-7\n" {
			t.Errorf("with TLVs: got %q", got)
		}
		if got := ppExchange(t, streamAddr, ppV2TLVs(ppTLV(0x02, "other.example"))); got != "other \n" {
			t.Errorf("without unique_id: got %q", got)
		}
		logPath := filepath.Join(in.dir, "logs", "stream.log")
		waitFor(t, "two log lines", func() bool { return strings.Count(readText(logPath), "\n") >= 2 })
		lines := readText(logPath)
		if !strings.Contains(lines, "h2 TLSv1.3 id-7 -\n") || !strings.Contains(lines, "- - - -\n") {
			t.Errorf("log lines %q", lines)
		}
	})
}

// TestProxyProtocolTLVErrorLines checks the error lines of
// $proxy_protocol_tlv_* as nginx 1.23.2's ngx_proxy_protocol_get_tlv
// writes them (src/core/ngx_proxy_protocol.c): `unknown PROXY protocol TLV
// "NAME"`, `invalid PROXY protocol TLV "NAME"` for a bad 0x name, `broken
// PROXY protocol TLV` for a list cut short before the type, none for a ssl
// TLV shorter than 5 bytes; one per variable and request (or session), as
// nginx keeps a variable's failure, the log_format's use included. The
// values stay empty (the return answers 200, not 500) as nginx's script
// engine copies nothing for a failed variable.
func TestProxyProtocolTLVErrorLines(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `error_log stderr info;
events {}
http {
    log_format tlv '$proxy_protocol_tlv_aws_vpce_id';
    server { listen 127.0.0.1:0 proxy_protocol; access_log %DIR%/logs/tlv.log tlv;
        return 200 "a=[$proxy_protocol_tlv_aws_vpce_id] b=[$proxy_protocol_tlv_0xzz] c=[$proxy_protocol_tlv_authority] d=[$proxy_protocol_tlv_ssl_verify] a2=[$proxy_protocol_tlv_aws_vpce_id]\n"; }
}
stream {
    log_format f '$proxy_protocol_tlv_foo';
    access_log %DIR%/logs/stream.log f;
    server { listen 127.0.0.2:0 proxy_protocol; return "[$proxy_protocol_tlv_foo][$proxy_protocol_tlv_ssl_0x]\n"; }
}`, 2)
	httpAddr, streamAddr := in.listening()[0], in.listening()[1]
	if strings.HasPrefix(httpAddr, "127.0.0.2:") {
		httpAddr, streamAddr = streamAddr, httpAddr
	}
	const get = "GET / HTTP/1.0\r\n\r\n"
	broken := ppV2TLVs(ppTLV(0x01, "h2"), []byte("\x02\x00\x09ab"))
	shortSSL := ppV2TLVs(ppTLV(0x20, "\x01\x00\x00"))
	for _, send := range [][]byte{broken, shortSSL} {
		resp := ppExchange(t, httpAddr, append(send, get...))
		if !strings.HasPrefix(resp, "HTTP/1.1 200 ") || ppBody(resp) != "a=[] b=[] c=[] d=[] a2=[]\n" {
			t.Errorf("got %q", resp)
		}
	}
	if got := ppExchange(t, streamAddr, ppV2TLVs(ppTLV(0x20, "\x01\x00\x00\x00\x00"))); got != "[][]\n" {
		t.Errorf("stream: got %q", got)
	}
	waitFor(t, "the log lines", func() bool {
		return strings.Count(readText(filepath.Join(in.dir, "logs", "tlv.log")), "\n") >= 2 &&
			strings.Count(readText(filepath.Join(in.dir, "logs", "stream.log")), "\n") >= 1
	})
	want := map[string]int{
		`[error] `: 8,
		`unknown PROXY protocol TLV "aws_vpce_id"`: 2,
		`invalid PROXY protocol TLV "0xzz"`:        2,
		`broken PROXY protocol TLV`:                2, // authority and ssl_verify in the broken list; silent on the short ssl TLV
		`unknown PROXY protocol TLV "foo"`:         1,
		`invalid PROXY protocol TLV "ssl_0x"`:      1,
	}
	waitFor(t, "the error lines", func() bool { return in.countLogged(`[error] `) >= 8 })
	for s, n := range want {
		if got := in.countLogged(s); got != n {
			t.Errorf("%d lines with %s, want %d", got, s, n)
		}
	}
	if t.Failed() {
		t.Log(strings.Join(in.logLines(), "\n"))
	}
}

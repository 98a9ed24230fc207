package daemon_test

import (
	"path/filepath"
	"testing"
)

// TestRefusedHeadLines checks the info line of each kind of head the strict
// reader refuses, as nginx 1.22.1 wrote it for the same head (recorded on
// raw sockets, with the same two servers): its words, "while reading client
// request line" or "headers", the request line as received, the Host when
// one was read, and the server the Host chose when the Host line came
// before the fault (else the default server). The last rows are heads
// nginx takes and fulcrum refuses: they get the line of the nearest fault
// nginx refuses.
func TestRefusedHeadLines(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    server { listen 127.0.0.1:0; server_name dflt; location / { return 200 ok; } }
    server { listen 127.0.0.1:0; server_name a; location / { return 200 a; } }`)
	const (
		line    = " while reading client request line, client: 127.0.0.1, server: dflt, request: "
		headers = " while reading client request headers, client: 127.0.0.1, server: "
	)
	tests := []struct {
		name, head, want string
		status           int
	}{
		{"no version", "GET\r\n\r\n",
			`client sent invalid method` + line + `"GET"`, 400},
		// A request line nginx ends at a bare LF, still in its method
		// (recorded on raw sockets with nginx 1.22.1).
		{"method alone, bare LF", "R\n",
			`client sent invalid method` + line + `"R"`, 400},
		{"GET alone, bare LF", "GET\n",
			`client sent invalid method` + line + `"GET"`, 400},
		{"lowercase alone, bare LF", "k\n",
			`client sent invalid method` + line + `"k"`, 400},
		{"lowercase method", "get / HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid method` + line + `"get / HTTP/1.1"`, 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"GET /%zz HTTP/1.1"`, 400},
		{"path above the root", "GET /a/../../b?x HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"GET /a/../../b?x HTTP/1.1"`, 400},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"OPTIONS * HTTP/1.1"`, 400},
		{"CONNECT with a path", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent CONNECT method` + headers + `a, request: "CONNECT / HTTP/1.1", host: "a"`, 405},
		{"CONNECT with an authority", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"CONNECT a:443 HTTP/1.1"`, 400},
		{"bad version", "GET / HTTX/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"GET / HTTX/1.1"`, 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
			`client sent invalid version` + line + `"GET / HTTP/2.0"`, 505},
		// nginx's request line parser refuses a CR not followed by LF in
		// the first line (recorded with scripts/request-nginx-sweep.py).
		{"CR in the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n",
			`client sent invalid request` + line + `"GET / HTTP/1.1"`, 400},
		{"CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
			`client sent invalid header line: "X: a\x0d..."` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
			`client sent invalid header line: "X\x20..."` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"leading whitespace", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
			`client sent invalid header line: "\x20..."` + headers + `dflt, request: "GET / HTTP/1.1"`, 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n",
			`client sent HTTP/1.1 request without "Host" header` + headers + `dflt, request: "GET / HTTP/1.1"`, 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
			`client sent duplicate host header: "Host: b", previous value: "Host: a"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: ../x\r\n\r\n",
			`client sent invalid host header` + headers + `dflt, request: "GET / HTTP/1.1", host: "../x"`, 400},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n",
			`client sent invalid host header` + headers + `dflt, request: "GET / HTTP/1.1", host: ""`, 400},
		{"both framings", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			`client sent "Content-Length" and "Transfer-Encoding" headers at the same time` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n",
			`client sent unknown "Transfer-Encoding": "foo"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 501},
		{"coding on HTTP/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
			`client sent HTTP/1.0 request with "Transfer-Encoding" header` + headers + `a, request: "POST / HTTP/1.0", host: "a"`, 400},
		{"two codings lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			`client sent duplicate header line: "Transfer-Encoding: chunked", previous value: "Transfer-Encoding: chunked"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		{"two unknown codings lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\nTransfer-Encoding: bar\r\n\r\n",
			`client sent duplicate header line: "Transfer-Encoding: bar", previous value: "Transfer-Encoding: foo"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		{"unknown coding, then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			`client sent duplicate header line: "Transfer-Encoding: chunked", previous value: "Transfer-Encoding: foo"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		{"invalid length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
			`client sent invalid "Content-Length" header` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		{"two lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
			`client sent duplicate header line: "Content-Length: 2", previous value: "Content-Length: 1"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		// The fields nginx takes once (h1.UniqueField), as nginx-tests'
		// http_headers_multi.t sends them; Expect twice is a 400, not 417.
		{"two If-Modified-Since", "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: foo\r\nIf-Modified-Since: bar\r\n\r\n",
			`client sent duplicate header line: "If-Modified-Since: bar", previous value: "If-Modified-Since: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two If-Unmodified-Since", "GET / HTTP/1.1\r\nHost: a\r\nif-unmodified-since: foo\r\nIf-Unmodified-Since: bar\r\n\r\n",
			`client sent duplicate header line: "If-Unmodified-Since: bar", previous value: "if-unmodified-since: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two If-Match", "GET / HTTP/1.1\r\nHost: a\r\nIf-Match: foo\r\nIf-Match: bar\r\n\r\n",
			`client sent duplicate header line: "If-Match: bar", previous value: "If-Match: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two If-None-Match", "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: foo\r\nX: y\r\nIf-None-Match: bar\r\n\r\n",
			`client sent duplicate header line: "If-None-Match: bar", previous value: "If-None-Match: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two Content-Range", "GET / HTTP/1.1\r\nHost: a\r\nContent-Range: foo\r\nContent-Range: bar\r\n\r\n",
			`client sent duplicate header line: "Content-Range: bar", previous value: "Content-Range: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two If-Range", "GET / HTTP/1.1\r\nHost: a\r\nIf-Range: foo\r\nIf-Range: bar\r\n\r\n",
			`client sent duplicate header line: "If-Range: bar", previous value: "If-Range: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two Expect", "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nExpect: bar\r\n\r\n",
			`client sent duplicate header line: "Expect: bar", previous value: "Expect: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"two Authorization", "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: foo\r\nAuthorization: bar\r\n\r\n",
			`client sent duplicate header line: "Authorization: bar", previous value: "Authorization: foo"` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		// nginx 1.22.1 answers 501 to any Transfer-Encoding but "chunked";
		// the policy keeps 400 for one whose final coding is not chunked
		// (docs/security.md), with nginx's line.
		{"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
			`client sent unknown "Transfer-Encoding": "gzip"` + headers + `a, request: "POST / HTTP/1.1", host: "a"`, 400},
		// nginx serves these; fulcrum refuses them (docs/security.md).
		{"bare LF", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
			`client sent invalid header line: "Host: a\x0a..."` + headers + `dflt, request: "GET / HTTP/1.1"`, 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nXab\r\n\r\n",
			`client sent invalid header line: "Xab\x0d..."` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		// Refused at once, without waiting for a LF that would not help.
		{"bare CR after the last field line", "GET / HTTP/1.1\r\nHost: a\r\n\rhello",
			`client sent invalid header line: "\x0d..."` + headers + `a, request: "GET / HTTP/1.1", host: "a"`, 400},
		{"empty host in the target", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n",
			`client sent invalid host in request line` + line + `"GET http:///a HTTP/1.1"`, 400},
		// nginx refuses these as fulcrum does (HTTP/1.2 it serves as HTTP/1.1).
		{"HTTP/10.0", "GET / HTTP/10.0\r\nHost: a\r\n\r\n",
			`client sent invalid version` + line + `"GET / HTTP/10.0"`, 505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n",
			`client sent invalid request` + line + `"GET / HTTP/0.9"`, 400},
	}
	path := filepath.Join(dir, "error.log")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logSize(path)
			resp, _ := sendHead(t, addr, tt.head)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			got := waitLogPart(t, path, before, "client sent")
			if got != tt.want+"\n" {
				t.Errorf("logged\n%q\nwant\n%q", got, tt.want+"\n")
			}
		})
	}
}

package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestTLSMisdirectedLook checks the details of nginx 1.22.1's 421 for a
// request whose Host names a server other than the SNI's, one that
// verifies client certificates, against a recording over TLS (SNI a.test,
// then "X-A: 1", "Host: b.test", "User-Agent: ua1", "X-B: 2" and a
// pipelined request): nginx refuses it as it reads the Host line, in the
// SNI server's configuration. Its info line names that server ("server:
// a.test"), with the request line and the Host; the page has that
// server's add_header "always" fields and "Connection: close", and the
// pipelined request is never read; the request is logged in that server's
// access log, with $host and $server_name a.test, the fields before the
// Host line ($http_x_a 1) and none after it ($http_user_agent "-").
func TestTLSMisdirectedLook(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	ca, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$status host=$host sn=$server_name ua=$http_user_agent xa=$http_x_a xb=$http_x_b hh=$http_host';
    server { listen 127.0.0.1:0 ssl http2 default_server; server_name a.test; %[1]s
        access_log %[4]s/a.log t;
        add_header X-Srv a always;
        location / { return 200 "a\n"; }
    }
    server { listen 127.0.0.1:0 ssl http2; server_name b.test; %[2]s
        access_log %[4]s/b.log t;
        add_header X-Srv b always;
        ssl_client_certificate %[3]s; ssl_verify_client optional;
        location / { return 200 "b\n"; }
    }`, a, b, ca, dir))
	c, _ := dialTLS(t, addr, "a.test")
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nX-A: 1\r\nHost: b.test\r\nUser-Agent: ua1\r\nX-B: 2\r\n\r\nGET /y HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(c) // to the close, or the deadline when it stays open
	head, body, _ := strings.Cut(string(reply), "\r\n\r\n")
	for _, want := range []string{"HTTP/1.1 421 Misdirected Request\r\n", "\r\nConnection: close\r\nX-Srv: a"} {
		if !strings.Contains(head, want) {
			t.Errorf("head %q, want %q in it", head, want)
		}
	}
	if strings.Contains(body, "HTTP/1.1") {
		t.Errorf("the pipelined request was answered: %q", body)
	}
	waitLog(t, filepath.Join(dir, "error.log"), `client attempted to request the server name different from the one that was negotiated while reading client request headers, client: 127.0.0.1, server: a.test, request: "GET /x HTTP/1.1", host: "b.test"`)
	waitForAccess(t, filepath.Join(dir, "a.log"), "421 host=a.test sn=a.test ua=- xa=1 xb=- hh=b.test")

	// Over HTTP/2 nginx refuses it at :authority, before any field: only
	// the host field it makes of it is known (recorded with curl --http2).
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{ServerName: "a.test", InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "b.test"
	req.Header.Set("X-A", "1")
	req.Header.Set("User-Agent", "ua1")
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusMisdirectedRequest || resp.Header.Get("X-Srv") != "a" {
		t.Errorf("HTTP/2: %s %d X-Srv %q, want HTTP/2 421 from a.test", resp.Proto, resp.StatusCode, resp.Header.Get("X-Srv"))
	}
	waitForAccess(t, filepath.Join(dir, "a.log"), "421 host=a.test sn=a.test ua=- xa=- xb=- hh=b.test")
}

package daemon_test

import (
	"context"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// grpcServer is a small gRPC-style server over h2c: every message it reads
// is answered at once with "NAME:message" (a bidirectional stream), then
// trailers grpc-status 0 and grpc-message NAME. It tells what it received
// in response fields: X-Seen-Authority, X-Seen-Te, X-Seen-Foo, X-Seen-Proto,
// X-Seen-Remote (the connection's address).
// /fail answers trailers-only with grpc-status 13; /status/N answers HTTP
// status N; /hang waits for the client to go away before any answer.
func grpcServer(t *testing.T, name string, tlsOn bool) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", "application/grpc")
		hd.Set("X-Backend", name)
		hd.Set("Server", "backend")
		hd.Set("X-Seen-Authority", r.Host)
		hd.Set("X-Seen-Te", r.Header.Get("Te"))
		hd.Set("X-Seen-Foo", r.Header.Get("X-Foo"))
		hd.Set("X-Seen-Proto", r.Proto)
		hd.Set("X-Seen-Path", r.RequestURI)
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			hd.Set("X-Seen-Remote", host)
		}
		if ua := r.Header.Get("User-Agent"); ua != "" {
			hd.Set("X-Seen-Ua", ua)
		}
		switch {
		case r.URL.Path == "/fail":
			hd.Set("Grpc-Status", "13")
			hd.Set("Grpc-Message", "boom")
			w.WriteHeader(200)
			return
		case strings.HasPrefix(r.URL.Path, "/status/"):
			var code int
			fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/status/"), &code)
			w.WriteHeader(code)
			return
		case r.URL.Path == "/hang":
			<-r.Context().Done()
			return
		}
		hd.Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			msg, err := testutil.ReadGRPCFrame(r.Body)
			if err != nil {
				break
			}
			w.Write(testutil.GRPCFrame(name + ":" + msg))
			w.(http.Flusher).Flush()
		}
		hd.Set("Grpc-Status", "0")
		hd.Set("Grpc-Message", name)
	})
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	if tlsOn {
		s.Config.Protocols.SetHTTP2(true)
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	}
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// h2cClient speaks HTTP/2 with prior knowledge to addr, whatever the URL's host.
func h2cClient(t *testing.T, addr string) *http.Client {
	t.Helper()
	tr := testutil.H2CTransport(addr)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// grpcCall makes a unary call: one message, its answer and trailers.
func grpcCall(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(string(testutil.GRPCFrame("ping"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: body: %v", url, err)
	}
	if len(body) >= 5 && body[0] == 0 {
		msg, _ := testutil.ReadGRPCFrame(strings.NewReader(string(body)))
		return resp, msg
	}
	return resp, string(body)
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestGRPCPass(t *testing.T) {
	dir := t.TempDir()
	b1 := grpcServer(t, "b1", false)
	b2 := grpcServer(t, "b2", false)
	bs := grpcServer(t, "bs", true)
	dead := deadAddr(t)
	errLog := filepath.Join(dir, "error.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    upstream pair { server %[2]s; server %[3]s; }
    upstream failover { server %[4]s; server %[2]s; }
    server {
        listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://%[2]s; }
        location /pair/ { grpc_pass grpc://pair; }
        location /failover/ { grpc_pass failover; }
        location /dead/ { grpc_pass %[4]s; }
        location /hdr/ {
            grpc_pass grpc://%[2]s;
            grpc_set_header X-Foo "foo-$request_method";
            grpc_set_header User-Agent "";
            grpc_set_header Host $host;
            grpc_hide_header X-Backend;
            grpc_pass_header Server;
        }
        location /tls/ { grpc_pass grpcs://%[5]s; }
        location /status/ {
            grpc_pass grpc://%[2]s;
            location /status/503 { grpc_pass grpc://%[2]s; grpc_intercept_errors on; error_page 503 = /unavailable; }
        }
        location = /unavailable { return 200 "intercepted\n"; }
        location /hang { grpc_pass grpc://%[2]s; grpc_read_timeout 300ms; }
        location /rw/ { rewrite ^/rw/(.*)$ /svc.S/$1 break; grpc_pass grpc://%[2]s; }
    }`, dir, b1, b2, dead, bs))
	c := h2cClient(t, addr)
	base := "http://app.test"
	tests := []struct {
		name, path string
		status     int
		msg        string
		want       map[string]string // response fields ("" = absent)
		trailers   map[string]string
	}{
		{"unary", "/svc.S/M?x=1", 200, "b1:ping",
			map[string]string{"X-Backend": "b1", "Server": "fulcrum", "X-Seen-Authority": b1, "X-Seen-Te": "trailers", "X-Seen-Proto": "HTTP/2.0", "X-Seen-Path": "/svc.S/M?x=1", "Content-Type": "application/grpc", "X-Seen-Ua": "Go-http-client"},
			map[string]string{"Grpc-Status": "0", "Grpc-Message": "b1"}},
		{"set, hide and pass headers", "/hdr/M", 200, "b1:ping",
			map[string]string{"X-Backend": "", "Server": "backend", "X-Seen-Authority": "app.test", "X-Seen-Foo": "foo-POST", "X-Seen-Ua": ""},
			map[string]string{"Grpc-Status": "0"}},
		{"trailers-only answer", "/fail", 200, "",
			map[string]string{"Grpc-Status": "13", "Grpc-Message": "boom"}, nil},
		{"upstream block", "/pair/M", 200, ":ping", map[string]string{"X-Seen-Authority": "pair"}, map[string]string{"Grpc-Status": "0"}},
		{"next upstream after a refused connection", "/failover/M", 200, "b1:ping", map[string]string{"X-Backend": "b1"}, map[string]string{"Grpc-Status": "0"}},
		{"unreachable upstream: nginx's 502 page", "/dead/M", 502, "<center><h1>502 Bad Gateway</h1></center>", map[string]string{"Content-Type": "text/html"}, nil},
		{"grpcs upstream", "/tls/M", 200, "bs:ping", map[string]string{"X-Seen-Proto": "HTTP/2.0"}, map[string]string{"Grpc-Message": "bs"}},
		{"upstream status passed", "/status/500", 500, "", nil, nil},
		{"grpc_intercept_errors", "/status/503", 200, "intercepted\n", nil, nil},
		{"grpc_read_timeout: 504", "/hang", 504, "504 Gateway Time-out", nil, nil},
		{"rewritten URI", "/rw/Call", 200, "b1:ping", map[string]string{"X-Seen-Path": "/svc.S/Call"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, msg := grpcCall(t, c, base+tt.path)
			if resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s", resp.Proto)
			}
			if resp.StatusCode != tt.status || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, msg, tt.status, tt.msg)
			}
			for k, v := range tt.want {
				got, ok := resp.Header[k]
				switch {
				case v == "" && ok:
					t.Errorf("%s: %q, want none", k, got)
				case v != "" && (len(got) != 1 || !strings.HasPrefix(got[0], v)):
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			for k, v := range tt.trailers {
				if got := resp.Trailer.Get(k); got != v {
					t.Errorf("trailer %s: %q, want %q (all: %v)", k, got, v, resp.Trailer)
				}
			}
		})
	}
	waitLogged(t, errLog, "connect() failed (111: Connection refused) while connecting to upstream", `upstream: "grpc://`+dead+`"`, `request: "POST /failover/M HTTP/2.0"`)
	waitLogged(t, errLog, "upstream timed out (110: Connection timed out) while reading response header from upstream", `request: "POST /hang HTTP/2.0"`)
}

// TestGRPCBidiStreaming sends each message only after the answer to the
// previous one came back through fulcrum: a proxy that buffered either
// direction would hang (and the client's deadline fail the test).
func TestGRPCBidiStreaming(t *testing.T) {
	dir := t.TempDir()
	b1 := grpcServer(t, "b1", false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 http2; location / { grpc_pass grpc://%s; } }`, b1))
	c := h2cClient(t, addr)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", "http://app.test/svc.S/Chat", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for i := range 5 {
		msg := fmt.Sprintf("m%d", i)
		if _, err := pw.Write(testutil.GRPCFrame(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := testutil.ReadGRPCFrame(resp.Body)
		if err != nil || got != "b1:"+msg {
			t.Fatalf("message %d: %q, %v", i, got, err)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the stream: %q, %v", rest, err)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Errorf("grpc-status %q (trailers %v)", got, resp.Trailer)
	}
}

// TestGRPCOverTLS: a client on an ssl http2 address reaches a grpc_pass
// location as on an h2c one.
func TestGRPCOverTLS(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	b1 := grpcServer(t, "b1", false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        location / { grpc_pass grpc://%s; } }`, certs, b1))
	c := h2Client(t, addr, pool, false)
	resp, msg := grpcCall(t, c, "https://a.test/svc.S/M")
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || msg != "b1:ping" || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Errorf("got %s %d %q trailers %v", resp.Proto, resp.StatusCode, msg, resp.Trailer)
	}
}

// TestH2CAddress: a plain address with "listen ... http2" speaks HTTP/2
// with prior knowledge only, as nginx 1.22: an HTTP/1.1 request gets
// GOAWAY with PROTOCOL_ERROR; other plain addresses keep HTTP/1.1.
func TestH2CAddress(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    server { listen 127.0.0.1:0 http2; location / { return 200 "h2c $server_protocol\n"; } }`)
	t.Run("prior knowledge", func(t *testing.T) {
		resp, err := h2cClient(t, addr).Get("http://app.test/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(body) != "h2c HTTP/2.0\n" {
			t.Errorf("got %s %q", resp.Proto, body)
		}
	})
	// nginx 1.22.1 (recorded): the GOAWAY reaches a client whose request
	// is longer than the preface too (fulcrum read 24 bytes and closed the
	// rest unread: a reset the client saw instead), and the line is
	// "invalid connection preface while processing HTTP/2 connection".
	errLog := filepath.Join(dir, "error.log")
	for i, head := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: " + strings.Repeat("u", 600) + "\r\n\r\n"} {
		t.Run(fmt.Sprintf("HTTP/1.1 refused %d", len(head)), func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(conn, head)
			got, err := io.ReadAll(conn)
			want := []byte{0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
			if string(got) != string(want) || err != nil {
				t.Errorf("got %q (%v), want GOAWAY PROTOCOL_ERROR %q and the close", got, err, want)
			}
			waitLogCount(t, errLog, "invalid connection preface while processing HTTP/2 connection, client: 127.0.0.1, server: "+addr+"\n", i+1)
		})
	}
}

// TestGRPCBind checks grpc_bind: connections to the server come from its
// address, each location's own (inherited, off cancels it); a bind that
// fails is nginx's 500, logged at crit.
func TestGRPCBind(t *testing.T) {
	dir := t.TempDir()
	b1 := grpcServer(t, "b1", false)
	errLog := filepath.Join(dir, "error.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    grpc_bind 127.0.0.2;
    server {
        listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://%[2]s; }
        location /three/ { grpc_bind 127.0.0.3; grpc_pass grpc://%[2]s; }
        location /off/ { grpc_bind off; grpc_pass grpc://%[2]s; }
        location /bad/ { grpc_bind 192.0.2.1; grpc_pass grpc://%[2]s; }
    }`, dir, b1))
	c := h2cClient(t, addr)
	tests := []struct {
		path   string
		status int
		remote string
	}{
		{"/svc.S/M", 200, "127.0.0.2"},
		{"/three/M", 200, "127.0.0.3"},
		{"/off/M", 200, "127.0.0.1"},
		{"/bad/M", 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, _ := grpcCall(t, c, "http://app.test"+tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("X-Seen-Remote"); got != tt.remote {
				t.Errorf("connection from %q, want %q", got, tt.remote)
			}
		})
	}
	waitLogged(t, errLog, "[crit]", "bind(192.0.2.1) failed (99: Cannot assign requested address) while connecting to upstream", `upstream: "grpc://`+b1+`"`)
}

package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// startNamedTLSBackend starts an HTTPS backend whose certificate (its own
// CA, written to dir/NAME.pem) is for names; it answers with the SNI name,
// the Host and the client's address it saw (so that a test can tell a
// kept-alive connection from a new one).
func startNamedTLSBackend(t *testing.T, dir, name string, names ...string) (addr, certFile string) {
	t.Helper()
	certFile, keyFile := testutil.WriteCert(t, dir, name, testutil.ECDSA, names...)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sni=%s host=%s uri=%s from=%s", r.TLS.ServerName, r.Host, r.RequestURI, r.RemoteAddr)
	}))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), certFile
}

// TestProxyPassHTTPSVariables runs the binary with "proxy_pass https://"
// and variables, as nginx 1.22.1 does (recorded with nginx: see the
// answers and log lines below): an address from set or map, over TLS and
// kept alive; a value naming an upstream block uses the block over TLS,
// with the block's name as SNI (proxy_ssl_server_name) and the name that
// proxy_ssl_verify checks; an untrusted certificate is 502 with nginx's
// line; a host name is looked up with the resolver, and without one is
// "no resolver defined to resolve NAME" (502); a value that is no URL is
// 500 with nginx's words.
func TestProxyPassHTTPSVariables(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	addr, certFile := startNamedTLSBackend(t, dir, "backend", "backend.test", "tls.test")
	_, port, _ := net.SplitHostPort(addr)
	otherCA, _ := testutil.WriteCert(t, dir, "other", testutil.ECDSA, "backend.test")
	dns := testutil.StartDNSServer(t)
	dns.Set("tls.test", "127.0.0.1")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    upstream backend.test { server %[1]s; }
    map $arg_to $target { default %[1]s; up backend.test; }
    server {
        listen 127.0.0.1:0;
        location /set/ { set $b %[1]s; proxy_pass https://$b; }
        location /map/ { proxy_pass https://$target$uri; }
        location /verified/ {
            set $b backend.test;
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %[2]s;
            proxy_pass https://$b;
        }
        location /untrusted/ {
            set $b backend.test;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %[3]s;
            proxy_pass https://$b;
        }
        location /resolved/ {
            resolver %[4]s;
            set $b tls.test:%[5]s;
            proxy_ssl_server_name on;
            proxy_pass https://$b;
        }
        location /noresolver/ { set $b tls.test:%[5]s; proxy_pass https://$b; }
        location /empty/ { set $b ""; proxy_pass https://$b; }
        location /nohost/ { set $b ""; proxy_pass https://$b/x; }
        location /badport/ { set $b 127.0.0.1:abc; proxy_pass https://$b; }
    }
}`, addr, certFile, otherCA, dns.Addr, port), 1)
	client := newClient()
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/set/a", 200, "sni= host=" + addr + " uri=/set/a "},
		{"/map/b?to=x", 200, "sni= host=" + addr + " uri=/map/b "},
		{"/map/c?to=up", 200, "sni= host=backend.test uri=/map/c "},
		{"/verified/d", 200, "sni=backend.test host=backend.test uri=/verified/d "},
		{"/untrusted/e", 502, ""},
		{"/resolved/f", 200, "sni=tls.test host=tls.test:" + port + " uri=/resolved/f "},
		{"/noresolver/g", 502, ""},
		{"/empty/h", 500, ""},
		{"/nohost/i", 500, ""},
		{"/badport/j", 500, ""},
	}
	for _, tt := range tests {
		code, body := get(t, client, in.url(0)+tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, want %d with %q", tt.path, code, body, tt.code, tt.want)
		}
	}
	// The connection to the backend is kept alive: a second request comes
	// from the same client address.
	_, first := get(t, client, in.url(0)+"/set/k")
	_, second := get(t, client, in.url(0)+"/set/k")
	if _, from, _ := strings.Cut(first, "from="); !strings.HasSuffix(second, "from="+from) {
		t.Errorf("a new upstream connection per request: %q then %q", first, second)
	}
	for _, line := range []string{
		`[error]`, `upstream SSL certificate verify error: (18:self-signed certificate) while SSL handshaking to upstream`,
		`upstream: "https://` + addr + `/untrusted/e"`,
	} {
		waitFor(t, "the untrusted certificate's log line: "+line, func() bool { return in.logged(line) })
	}
	for _, line := range []string{
		`[error] `, `no resolver defined to resolve tls.test, client: `,
		`invalid URL prefix in "https://", client: `,
		`no host in upstream "/x", client: `,
		`invalid port in upstream "127.0.0.1:abc", client: `,
	} {
		waitFor(t, "the log line "+line, func() bool { return in.logged(line) })
	}
}

// TestProxyPassSchemeFromVariable runs the binary with proxy_pass URLs
// that begin with a variable, as Plausible's and Docker resolver setups
// write them ("set $u https://...; proxy_pass $u;"). Recorded with nginx
// 1.22.1: the value's own scheme is used, "https://" (any case) over TLS,
// an upstream block's name included; a value with another prefix or none
// is 500, logged `invalid URL prefix in "VALUE"`; the upstream in the log
// line has the value's scheme.
func TestProxyPassSchemeFromVariable(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	tlsAddr, _ := startNamedTLSBackend(t, dir, "backend", "backend.test")
	plain := startBackend(t, "plain")
	dead := testutil.RefusedAddr(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    upstream backend.test { server %[1]s; }
    map $arg_to $target {
        default http://%[2]s;
        tls     https://%[1]s;
        upper   HTTPS://%[1]s;
        up      https://backend.test;
        uri     http://%[2]s/fixed;
        bad     ftp://%[2]s;
        empty   "";
        dead    https://%[3]s;
    }
    server {
        listen 127.0.0.1:0;
        set $whole https://%[1]s;
        location /m/ { proxy_pass $target; }
        location /s/ { proxy_pass $whole; }
    }
}`, tlsAddr, plain.addr(), dead), 1)
	client := newClient()
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/m/a", 200, "plain GET /m/a\n"},
		{"/m/b?to=tls", 200, "sni= host=" + tlsAddr + " uri=/m/b?to=tls "},
		{"/m/c?to=upper", 200, "sni= host=" + tlsAddr + " uri=/m/c?to=upper "},
		{"/m/d?to=up", 200, "sni= host=backend.test uri=/m/d?to=up "},
		{"/m/e?to=uri", 200, "plain GET /fixed\n"},
		{"/m/f?to=bad", 500, ""},
		{"/m/g?to=empty", 500, ""},
		{"/m/h?to=dead", 502, ""},
		{"/s/i", 200, "sni= host=" + tlsAddr + " uri=/s/i "},
	}
	for _, tt := range tests {
		code, body := get(t, client, in.url(0)+tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, want %d with %q", tt.path, code, body, tt.code, tt.want)
		}
	}
	for _, line := range []string{
		`invalid URL prefix in "ftp://` + plain.addr() + `", client: `,
		`invalid URL prefix in "", client: `,
		`upstream: "https://` + dead + `/m/h?to=dead"`,
	} {
		waitFor(t, "the log line "+line, func() bool { return in.logged(line) })
	}
}

// TestGRPCPassVariables runs the binary with grpc_pass and variables, as
// nginx 1.22.1 does (recorded with nginx): "grpc_pass $b" with an address
// and with an upstream block's name over h2c, "grpc_pass grpcs://$b" and
// a scheme that comes from the variable over TLS (the address as
// :authority), and nginx's answers to values that are no address: no
// port (500), a URI part (500, "invalid host") and a name without a
// resolver (502). A "unix:/path" value is a UNIX socket, with the whole
// rest as its path (ngx_parse_url without a URI part: a trailing ':' is
// part of the path, and such a socket is missing, a 502 logged at crit)
// and "localhost" as :authority.
func TestGRPCPassVariables(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	h2c := testutil.H2CBackend(t, grpcNamed("h2c"))
	sock := unixH2CBackend(t, grpcNamed("unix"))
	s := httptest.NewUnstartedServer(grpcNamed("tls"))
	s.EnableHTTP2 = true
	s.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	tlsAddr := s.Listener.Addr().String()
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream grpcup { server %[1]s; }
    map $arg_to $b { default %[1]s; up grpcup; tls grpcs://%[2]s; }
    server {
        listen 127.0.0.1:0 http2;
        location /plain/ { grpc_pass $b; }
        location /tls/ { set $t %[2]s; grpc_pass grpcs://$t; }
        location /noport/ { set $t 127.0.0.1; grpc_pass $t; }
        location /uri/ { set $t %[1]s/x; grpc_pass grpc://$t; }
        location /name/ { set $t grpc.test:50051; grpc_pass $t; }
        location /unix/ { set $t unix:%[3]s; grpc_pass grpc://$t; }
        location /unixcolon/ { set $t unix:%[3]s:; grpc_pass $t; }
    }
}
`, h2c, tlsAddr, sock), 1)
	addr := in.listening()[0]
	tests := []struct {
		path, want string
		code       int
	}{
		{"/plain/a", "h2c:" + h2c + ":/plain/a", 200},
		{"/plain/b?to=up", "h2c:grpcup:/plain/b", 200},
		{"/plain/c?to=tls", "tls:" + tlsAddr + ":/plain/c", 200},
		{"/tls/d", "tls:" + tlsAddr + ":/tls/d", 200},
		{"/noport/e", "", 500},
		{"/uri/f", "", 500},
		{"/name/g", "", 502},
		{"/unix/h", "unix:localhost:/unix/h", 200},
		{"/unixcolon/i", "", 502},
	}
	for _, tt := range tests {
		code, msg, _ := grpcUnary(t, addr, tt.path)
		if code != tt.code || msg != tt.want {
			t.Errorf("%s: %d %q, want %d %q", tt.path, code, msg, tt.code, tt.want)
		}
	}
	for _, line := range []string{
		`no port in upstream "127.0.0.1", client: `,
		`invalid host in upstream "` + h2c + `/x", client: `,
		`no resolver defined to resolve grpc.test, client: `,
	} {
		waitFor(t, "the log line "+line, func() bool { return in.logged("[error] ") && in.logged(line) })
	}
	line := `connect() to unix:` + sock + `: failed (2: No such file or directory) while connecting to upstream`
	waitFor(t, "the log line "+line, func() bool { return in.logged("[crit] ") && in.logged(line) })
}

// unixH2CBackend serves h with HTTP/2 without TLS on a UNIX socket in a
// directory of its own, and returns the socket's path.
func unixH2CBackend(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := t.TempDir() + "/h2c.sock"
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// grpcNamed is a gRPC-style handler that answers each call with one
// message, "NAME:AUTHORITY:PATH", and grpc-status 0.
func grpcNamed(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write(testutil.GRPCFrame(name + ":" + r.Host + ":" + r.URL.Path))
		w.Header().Set("Grpc-Status", "0")
	})
}

// TestGRPCSSLNameVariables runs the binary with a grpc_ssl_name with
// variables: it is evaluated per request, without its port, for SNI and
// for grpc_ssl_verify, with grpc_pass grpcs:// to an address and with
// variables, as nginx's upstream code (ngx_http_upstream_ssl_name, which
// proxy_ssl_name shares: recorded with proxy_pass) does: an empty value
// sends no SNI and a name the certificate lacks is a 502 with nginx's line.
func TestGRPCSSLNameVariables(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	ca := testutil.NewCA(t, "grpc CA")
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{DNSNames: []string{"a.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write(testutil.GRPCFrame("sni=" + r.TLS.ServerName))
		w.Header().Set("Grpc-Status", "0")
	}))
	s.EnableHTTP2 = true
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	caFile := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 http2;
        grpc_ssl_name $arg_n;
        location /n/ { grpc_ssl_server_name on; grpc_pass grpcs://%[1]s; }
        location /d/ { set $t %[1]s; grpc_ssl_server_name on; grpc_pass grpcs://$t; }
        location /v/ { grpc_ssl_verify on; grpc_ssl_trusted_certificate %[2]s; grpc_pass grpcs://%[1]s; }
    }
}
`, s.Listener.Addr().String(), caFile), 1)
	addr := in.listening()[0]
	tests := []struct {
		path, want string
		code       int
	}{
		{"/n/a?n=a.test", "sni=a.test", 200},
		{"/n/b?n=b.test:8443", "sni=b.test", 200},
		{"/n/c?n=", "sni=", 200},
		{"/n/d?n=a.test", "sni=a.test", 200},
		{"/d/e?n=c.test", "sni=c.test", 200},
		{"/v/f?n=a.test", "sni=", 200},
		{"/v/g?n=b.test", "", 502},
		{"/v/h?n=", "", 502},
	}
	for _, tt := range tests {
		code, msg, _ := grpcUnary(t, addr, tt.path)
		if code != tt.code || msg != tt.want {
			t.Errorf("%s: %d %q, want %d %q", tt.path, code, msg, tt.code, tt.want)
		}
	}
	for _, line := range []string{`upstream SSL certificate does not match "b.test" while SSL handshaking to upstream`,
		`upstream SSL certificate does not match "" while SSL handshaking to upstream`} {
		waitFor(t, "the log line "+line, func() bool { return in.logged("[error] ") && in.logged(line) })
	}
}

// TestSSLNameVariablesConfigTest: fulcrum -t takes proxy_ssl_name,
// grpc_ssl_name and uwsgi_ssl_name with variables, and refuses an unknown
// variable in them with nginx's words (nginx -t: unknown "nope" variable)
// and the directive's own file and line.
func TestSSLNameVariablesConfigTest(t *testing.T) {
	tests := []struct {
		name, pass, directive, emerg string
	}{
		{"proxy", "proxy_pass https://127.0.0.1:9;", "proxy_ssl_name $host;", ""},
		{"grpc", "grpc_pass grpcs://127.0.0.1:9;", "grpc_ssl_name $http_x_name;", ""},
		{"uwsgi", "uwsgi_pass suwsgi://127.0.0.1:9;", "uwsgi_ssl_name $arg_n.test;", ""},
		{"proxy unknown", "proxy_pass https://127.0.0.1:9;", "proxy_ssl_name $nope;", `unknown "nope" variable in %s/fulcrum.conf:7`},
		{"grpc unknown", "grpc_pass grpcs://127.0.0.1:9;", "grpc_ssl_name $nope;", `unknown "nope" variable in %s/fulcrum.conf:7`},
		{"uwsgi unknown", "uwsgi_pass suwsgi://127.0.0.1:9;", "uwsgi_ssl_name $nope;", `unknown "nope" variable in %s/fulcrum.conf:7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := "events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        location / {\n            " + tt.pass + "\n            " + tt.directive + "\n        }\n    }\n}\n"
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			r := runFulcrum(t, "-t", "-c", filepath.Join(dir, "fulcrum.conf"))
			if tt.emerg == "" {
				if r.code != 0 {
					t.Errorf("exit %d, stderr %q; want 0", r.code, r.stderr)
				}
				return
			}
			want := "fulcrum: [emerg] " + strings.ReplaceAll(tt.emerg, "%s", dir) + "\n"
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
}

package integration

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// sniHandshake makes a TLS handshake with addr naming sni and returns the
// connection and the common name of the certificate the server sent; the
// connection is nil when the handshake failed, and err says why.
func sniHandshake(t *testing.T, addr, sni string) (*tls.Conn, string, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return nil, "", err
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// writeNamedCert writes a certificate for name as dir/name.pem and
// dir/name.key, as a renewal does: new files renamed over the old ones.
func writeNamedCert(t *testing.T, dir, name string, kind testutil.KeyType) {
	t.Helper()
	tmp := t.TempDir()
	c, k := testutil.WriteCert(t, tmp, name, kind, name)
	for _, mv := range [][2]string{{c, filepath.Join(dir, name+".pem")}, {k, filepath.Join(dir, name+".key")}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTLSCertificateVariables runs ssl_certificate and ssl_certificate_key
// with variables (nginx 1.15.9) in http and stream servers, with real
// handshakes, against what nginx 1.22.1 did (recorded):
//   - the certificate is the one the SNI name's files hold, by
//     $ssl_server_name or a map of it, relative names taken against the
//     prefix; the files need not exist at load;
//   - a static certificate and one with variables of the same key type:
//     the latter is served (OpenSSL keeps one a type, the last loaded);
//   - a name whose file is missing (or no SNI at all: "/.pem") fails the
//     handshake with an internal_error alert and nginx's two lines,
//     "[error] cannot load certificate ... while SSL handshaking" and
//     "[info] SSL_do_handshake() failed (SSL: error:0A000179:SSL
//     routines::cert cb error)";
//   - a file that appears, or is renewed, is served by the next handshake,
//     without a reload, as nginx 1.22.1 reads the files at every handshake;
//     one rewritten in place without a change of size or time is not read
//     again (the cache, package certcache).
func TestTLSCertificateVariables(t *testing.T) {
	in := startFulcrum(t, `events {}
http {
    access_log off;
    map $ssl_server_name $tenant { default default; a.test a.test; b.test b.test; }
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate     certs/$ssl_server_name.pem;
        ssl_certificate_key certs/$ssl_server_name.key;
        location / { return 200 "sn=$ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.2:0 ssl;
        ssl_certificate     %DIR%/certs/$tenant.pem;
        ssl_certificate_key %DIR%/certs/$tenant.key;
        location / { return 200 "tenant=$tenant\n"; }
    }
    server {
        listen 127.0.0.3:0 ssl;
        ssl_certificate     certs/default.pem;
        ssl_certificate_key certs/default.key;
        ssl_certificate     certs/$ssl_server_name.pem;
        ssl_certificate_key certs/$ssl_server_name.key;
        location / { return 200 "mixed\n"; }
    }
}
stream {
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate     certs/$ssl_server_name.pem;
        ssl_certificate_key certs/$ssl_server_name.key;
        return "stream sn=$ssl_server_name\n";
    }
}
`, 4)
	addrs := in.listening()
	plain, mapped, mixed, stream := addrs[0], addrs[1], addrs[2], addrs[3]
	certs := filepath.Join(in.dir, "certs")
	if err := os.Mkdir(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.test", "b.test", "default"} {
		writeNamedCert(t, certs, n, testutil.ECDSA)
	}

	tests := []struct{ name, addr, sni, cn, body string }{
		{"ssl_server_name a", plain, "a.test", "a.test", "sn=a.test\n"},
		{"ssl_server_name b", plain, "b.test", "b.test", "sn=b.test\n"},
		{"map a", mapped, "a.test", "a.test", "tenant=a.test\n"},
		{"map default", mapped, "other.test", "default", "tenant=default\n"},
		{"mixed, the later of a type", mixed, "b.test", "b.test", "mixed\n"},
		{"stream", stream, "a.test", "a.test", "stream sn=a.test\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cn, err := sniHandshake(t, tt.addr, tt.sni)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if cn != tt.cn {
				t.Errorf("certificate %q, want %q", cn, tt.cn)
			}
			if tt.addr != stream {
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(c)
			if !strings.HasSuffix(buf.String(), tt.body) {
				t.Errorf("answer %q, want ...%q", buf.String(), tt.body)
			}
		})
	}

	failures := []struct{ name, addr, sni, file string }{
		{"http, missing file", plain, "nosuch.test", "nosuch.test.pem"},
		{"http, no SNI", plain, "", ".pem"},
		{"stream, missing file", stream, "nosuch.test", "nosuch.test.pem"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := sniHandshake(t, tt.addr, tt.sni)
			if err == nil || !strings.Contains(err.Error(), "internal error") {
				t.Fatalf("handshake: %v, want the internal_error alert", err)
			}
			file := filepath.Join(certs, tt.file)
			errLine := `[error] ` // nginx's level for the load, then its words
			want := `cannot load certificate "` + file + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + file + `, r) error:10000080:BIO routines::no such file) while SSL handshaking, client: 127.0.0.1, server: ` + tt.addr
			waitFor(t, "the error lines", func() bool {
				return loggedBoth(in, errLine, want) &&
					loggedBoth(in, "[info] ", "SSL_do_handshake() failed (SSL: error:0A000179:SSL routines::cert cb error) while SSL handshaking, client: 127.0.0.1, server: "+tt.addr)
			})
		})
	}

	// A tenant's files added while running: the next handshake has them.
	writeNamedCert(t, certs, "nosuch.test", testutil.ECDSA)
	for _, addr := range []string{plain, stream} {
		if _, cn, err := sniHandshake(t, addr, "nosuch.test"); err != nil || cn != "nosuch.test" {
			t.Errorf("%s after the files appeared: %q %v", addr, cn, err)
		}
	}

	// A renewal: new files renamed over the old; the next handshake sends
	// the new certificate.
	serial := func(addr string) string {
		t.Helper()
		c, _, err := sniHandshake(t, addr, "a.test")
		if err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial(plain)
	writeNamedCert(t, certs, "a.test", testutil.ECDSA)
	if after := serial(plain); after == before {
		t.Errorf("the renewed certificate was not loaded: serial %s", after)
	}

	// The cache: a.test's certificate rewritten in place with bytes that
	// are no PEM, its size and time kept, is not read again.
	renewed := serial(plain)
	pem := filepath.Join(certs, "a.test.pem")
	fi, err := os.Stat(pem)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(pem, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("x"), int(fi.Size()))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(pem, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := serial(plain); got != renewed {
		t.Errorf("the cached certificate was read again: serial %s, want %s", got, renewed)
	}
}

// loggedBoth reports whether one log line contains a and b.
func loggedBoth(in *instance, a, b string) bool {
	for _, l := range in.logLines() {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}

// TestTLSCertificateVariablesConfigTest runs fulcrum -t on certificates
// with variables: unknown variables and missing keys fail in nginx 1.22.1's
// words (recorded), files that do not exist do not.
func TestTLSCertificateVariablesConfigTest(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, block, emerg string }{
		{"missing files are fine", "http { server { listen 127.0.0.1:8443 ssl; ssl_certificate /nope/$ssl_server_name.pem; ssl_certificate_key /nope/$ssl_server_name.key; } }", ""},
		{"unknown variable", "http { server { listen 127.0.0.1:8443 ssl; ssl_certificate /nope/$nosuch.pem; ssl_certificate_key /nope/a.key; } }", `unknown "nosuch" variable in %s:2`},
		{"no key", "http { server { listen 127.0.0.1:8443 ssl; ssl_certificate /nope/$ssl_server_name.pem; } }", `no "ssl_certificate_key" is defined for certificate "/nope/$ssl_server_name.pem" in %s:2`},
		{"stream unknown variable", "stream { server { listen 127.0.0.1:8443 ssl; ssl_certificate /nope/$nosuch.pem; ssl_certificate_key /nope/a.key; return x; } }", `unknown "nosuch" variable in %s:2`},
		{"stream no key", "stream { server { listen 127.0.0.1:8443 ssl; ssl_certificate /nope/$ssl_server_name.pem; return x; } }", `no "ssl_certificate_key" is defined for the "listen ... ssl" directive in %s:2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "fulcrum.conf")
			if err := os.WriteFile(conf, []byte("events {}\n"+tt.block+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFulcrum(t, "-t", "-c", conf)
			if tt.emerg == "" {
				if r.code != 0 {
					t.Errorf("exit %d, %s", r.code, r.stderr)
				}
				return
			}
			want := "fulcrum: [emerg] " + fmt.Sprintf(tt.emerg, conf)
			if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("exit %d, stderr %q\nwant %q...", r.code, r.stderr, want)
			}
		})
	}
}

// TestTLSCertificateVariablesAtHandshake checks the values variables have
// while a certificate is loaded at the handshake, as nginx 1.22.1 had them
// (recorded with a file name of each and an SNI name no server has):
// $ssl_protocol is the version agreed, $ssl_cipher "(NONE)", $connection
// the connection's number, $server_name the server's, $host falls back to
// it, $remote_addr and $server_port the connection's; request variables
// are empty. In stream the same for the session.
func TestTLSCertificateVariablesAtHandshake(t *testing.T) {
	in := startFulcrum(t, `events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        server_name sname;
        ssl_protocols TLSv1.2;
        ssl_certificate     "certs/[$ssl_protocol][$ssl_cipher][$ssl_session_reused][$connection][$server_name][$host][$remote_addr][$scheme][$https][$request_uri].pem";
        ssl_certificate_key certs/a.key;
    }
}
stream {
    server {
        listen 127.0.0.1:0 ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate     "certs/[$ssl_protocol][$ssl_cipher][$ssl_server_name][$remote_addr].pem";
        ssl_certificate_key certs/a.key;
        return x;
    }
}
`, 2)
	addrs := in.listening()
	certs := filepath.Join(in.dir, "certs")
	tests := []struct{ name, addr, file string }{
		{"http", addrs[0], "[TLSv1.2][(NONE)][.][1][sname][sname][127.0.0.1][https][on][].pem"},
		{"stream", addrs[1], "[TLSv1.3][(NONE)][x.test][127.0.0.1].pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := sniHandshake(t, tt.addr, "x.test"); err == nil {
				t.Fatal("the handshake succeeded")
			}
			want := `cannot load certificate "` + filepath.Join(certs, tt.file) + `": BIO_new_file() failed`
			waitFor(t, "the error line", func() bool { return loggedBoth(in, "[error] ", want) })
		})
	}
}

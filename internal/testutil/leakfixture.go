package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// LeakFixture holds what the reload leak tests' configurations name: an
// HTTP backend answering "ok PATH", an auth_http server refusing every
// login, a DNS server that knows localhost, a syslog receiver, and a
// directory with an included resolver.conf and the certificate pair
// certs/localhost.pem and certs/localhost.key. Everything stops with the
// test.
type LeakFixture struct {
	Dir     string
	Backend *httptest.Server
	Auth    *httptest.Server
	Syslog  *SyslogServer
}

// NewLeakFixture starts the servers and writes the files of a LeakFixture.
func NewLeakFixture(t testing.TB) *LeakFixture {
	t.Helper()
	f := &LeakFixture{Dir: t.TempDir()}
	f.Backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	t.Cleanup(f.Backend.Close)
	f.Auth = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Auth-Status", "no")
	}))
	t.Cleanup(f.Auth.Close)
	dns := StartDNSServer(t)
	dns.Set("localhost", "127.0.0.1")
	f.Syslog = NewSyslogUDP(t)
	if err := os.WriteFile(filepath.Join(f.Dir, "resolver.conf"), []byte("resolver "+dns.Addr+" valid=1s;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(f.Dir, "certs")
	if err := os.Mkdir(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	c, k := WriteCert(t, certs, "localhost", ECDSA, "localhost")
	for from, to := range map[string]string{c: "localhost.pem", k: "localhost.key"} {
		if err := os.Rename(from, filepath.Join(certs, to)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

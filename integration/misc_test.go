package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDisableSymlinksBinary serves a tree with symbolic links under
// "disable_symlinks on" and checks nginx 1.22's answers and error log lines.
func TestDisableSymlinksBinary(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %DIR%/site;
        disable_symlinks on;
        location /owner/ { disable_symlinks if_not_owner; }
    }
}`, 1)
	site := writeFiles(t, filepath.Join(in.dir, "site"), map[string]string{"f": "f\n", "d/x": "x\n", "owner/f": "o\n"})
	for name, target := range map[string]string{"lf": "f", "ld": "d", "owner/lf": "f"} {
		if err := os.Symlink(target, filepath.Join(site, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path   string
		status int
		log    string
	}{
		{"/f", 200, ""},
		{"/lf", 403, `openat() "` + site + `/lf" failed (40: Too many levels of symbolic links)`},
		{"/ld/x", 404, `openat() "` + site + `/ld/x" failed (20: Not a directory)`},
		{"/owner/lf", 200, ""}, // the link and its target have one owner
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(in.url(0) + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.log != "" {
				waitFor(t, "the error log line", func() bool { return in.logged(tt.log) })
			}
		})
	}
}

// TestSSLOnBinary checks the deprecated "ssl on": fulcrum -t warns as nginx
// 1.22 does, and the default server's "ssl on" makes its address TLS-only.
func TestSSLOnBinary(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	cert, key := writeSelfSigned(t)
	conf := `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        ssl on;
        ssl_certificate ` + cert + `;
        ssl_certificate_key ` + key + `;
        return 200 "tls\n";
    }
}`
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-p", dir, "-c", path)
	if want := `the "ssl" directive is deprecated, use the "listen ... ssl" directive instead in ` + path + `:7`; r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("fulcrum -t: code %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "tls\n" {
		t.Errorf("over TLS: %d %q", resp.StatusCode, body)
	}
	// Plain HTTP on a TLS address gets a 400 (nginx's "plain HTTP request
	// was sent to HTTPS port").
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP: %d, want 400", resp.StatusCode)
		}
	}
}

// writeSelfSigned writes a self-signed ECDSA certificate and its key.
func writeSelfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestProxyStoreBinary mirrors upstream files to disk with proxy_store, the
// way nginx's documentation sets it up: a miss is fetched and saved, then
// served from the disk.
func TestProxyStoreBinary(t *testing.T) {
	hits := make(chan string, 10)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Tue, 01 Jan 2019 00:00:00 GMT")
		io.WriteString(w, "upstream "+r.URL.Path+"\n")
	}))
	t.Cleanup(backend.Close)
	in := startFulcrum(t, `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %DIR%/mirror;
        location /img/ {
            error_page 404 = /fetch$uri;
        }
        location /fetch/ {
            internal;
            proxy_pass http://`+backend.Listener.Addr().String()+`/;
            proxy_store on;
            proxy_store_access user:rw group:rw all:r;
            alias %DIR%/mirror/;
        }
    }
}`, 1)
	get := func(path string) (int, string) {
		resp, err := http.Get(in.url(0) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/img/a/b.png"); code != 200 || body != "upstream /img/a/b.png\n" {
		t.Fatalf("first GET: %d %q", code, body)
	}
	if p := <-hits; p != "/img/a/b.png" {
		t.Fatalf("upstream saw %q", p)
	}
	stored := filepath.Join(in.dir, "mirror", "img", "a", "b.png")
	waitFor(t, "the stored file", func() bool { _, err := os.Stat(stored); return err == nil })
	fi, err := os.Stat(stored)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o664 || !fi.ModTime().Equal(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("stored with mode %v, time %v", fi.Mode(), fi.ModTime())
	}
	if code, body := get("/img/a/b.png"); code != 200 || body != "upstream /img/a/b.png\n" {
		t.Fatalf("second GET: %d %q", code, body)
	}
	select {
	case p := <-hits:
		t.Errorf("the second GET went upstream (%q), want it served from disk", p)
	default:
	}
	if code, _ := get("/img/missing"); code != 404 {
		t.Errorf("missing: %d, want 404", code)
	}
	<-hits
	if _, err := os.Stat(filepath.Join(in.dir, "mirror", "img", "missing")); err == nil {
		t.Error("a 404 was stored")
	}
}

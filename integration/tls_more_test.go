package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// sClient runs openssl s_client against addr with extra arguments, sends
// one request and returns "New" or "Reused" and the protocol, and whether the
// answer came.
func sClient(t *testing.T, addr string, args ...string) (session string, answered bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-ign_eof"}, args...)...)
	cmd.Stdin = bytes.NewReader([]byte("GET / HTTP/1.0\r\n\r\n"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl s_client %v: %v\n%s", args, err, out)
	}
	m := regexp.MustCompile(`(?m)^(New|Reused), (TLSv1\.[23])`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no session line in\n%s", out)
	}
	return string(m[1]) + " " + string(m[2]), bytes.Contains(out, []byte("served\n"))
}

// TestSessionTicketKeys runs four fulcrum processes and resumes, with
// openssl s_client -sess_out and -sess_in, a session that the first one
// made: a process with the same ssl_session_ticket_key file resumes it, one
// with another file does not, and one whose second key is the first's
// resumes it (the first key makes tickets, all open them), in TLS 1.3 and
// TLS 1.2. The certificate's key is encrypted and read with
// ssl_password_file.
func TestSessionTicketKeys(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	cert, plainKey := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "localhost")
	key := filepath.Join(dir, "site-enc.key")
	if out, err := exec.Command("openssl", "pkey", "-in", plainKey, "-aes256", "-passout", "pass:s3cret", "-out", key).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkey: %v %s", err, out)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	pw := write("pw", []byte("wrong\ns3cret\n"))
	k1, k2 := write("k1", random(80)), write("k2", random(48))
	start := func(keys ...string) string {
		lines := ""
		for _, k := range keys {
			lines += "ssl_session_ticket_key " + k + "; "
		}
		in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s; ssl_certificate_key %s; ssl_password_file %s;
        %s
        location / { return 200 "served\n"; }
    }
}
`, cert, key, pw, lines), 1)
		return in.listening()[0]
	}
	first, same, other, rotated := start(k1), start(k1), start(k2), start(k2, k1)
	for _, proto := range []string{"-tls1_3", "-tls1_2"} {
		t.Run(proto, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "sess.pem")
			if got, ok := sClient(t, first, proto, "-sess_out", sess); !ok || got[:3] != "New" {
				t.Fatalf("first: %s, answered %t", got, ok)
			}
			tests := []struct {
				name, addr, want string
			}{
				{"same key file", same, "Reused"},
				{"another key file", other, "New"},
				{"the file as second key", rotated, "Reused"},
			}
			for _, tt := range tests {
				got, ok := sClient(t, tt.addr, proto, "-sess_in", sess)
				if !ok || got[:len(tt.want)] != tt.want {
					t.Errorf("%s: %s, answered %t, want %s", tt.name, got, ok, tt.want)
				}
			}
		})
	}
}

// TestSessionTicketKeyConfigTest: fulcrum -t refuses a key file of the wrong
// size in nginx's words.
func TestSessionTicketKeyConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "a.test")
	bad := filepath.Join(dir, "k40")
	if err := os.WriteFile(bad, make([]byte, 40), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := writeFiles(t, dir, map[string]string{"fulcrum.conf": fmt.Sprintf(
		"events {}\nhttp {\n    server {\n        listen 127.0.0.1:8443 ssl; ssl_certificate %s; ssl_certificate_key %s;\n        ssl_session_ticket_key %s;\n    }\n}\n", cert, key, bad)})
	r := runFulcrum(t, "-t", "-c", filepath.Join(conf, "fulcrum.conf"))
	want := fmt.Sprintf(`fulcrum: [emerg] "%s" must be 48 or 80 bytes in %s:5`, bad, filepath.Join(conf, "fulcrum.conf"))
	if r.code != 1 || !bytes.HasPrefix([]byte(r.stderr), []byte(want)) {
		t.Errorf("exit %d, stderr %q\nwant %q...", r.code, r.stderr, want)
	}
}

// TestTLSMoreConfigTest runs fulcrum -t on the directives of revocation,
// encrypted keys and stapling: errors with file and line, and nginx's
// stapling warnings, after which the test still succeeds as in nginx.
func TestTLSMoreConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	cert, plainKey := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "a.test")
	encKey := filepath.Join(dir, "site-enc.key")
	if out, err := exec.Command("openssl", "pkey", "-in", plainKey, "-aes256", "-passout", "pass:right", "-out", encKey).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("wrong\nalso wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	server := func(key, lines string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8443 ssl; ssl_certificate " + cert + ";\n        ssl_certificate_key " + key + ";\n        " + lines + "\n    }\n}\n"
	}
	tests := []struct {
		name, conf string
		code       int
		line       string // a line of stderr, %s is the configuration file
	}{
		{"missing CRL", server(plainKey, "ssl_crl "+dir+"/nope.crl;"), 1,
			`fulcrum: [emerg] X509_LOOKUP_load_file("` + dir + `/nope.crl") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.crl" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in %s:6`},
		{"wrong passphrases", server(encKey, "ssl_password_file "+pw+";"), 1,
			`fulcrum: [emerg] cannot load certificate key "` + encKey + `": no passphrase in "` + pw + `" decrypts it in %s:5`},
		{"encrypted, no password file", server(encKey, ""), 1,
			`fulcrum: [emerg] cannot load certificate key "` + encKey + `": it is encrypted and no password file is given in %s:5`},
		{"stapling without issuer", server(plainKey, "ssl_stapling on;"), 0,
			`fulcrum: [warn] "ssl_stapling" ignored, issuer certificate not found for certificate "` + cert + `" in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "fulcrum.conf")
			if err := os.WriteFile(conf, []byte(tt.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFulcrum(t, "-t", "-c", conf)
			if want := fmt.Sprintf(tt.line, conf); r.code != tt.code || !bytes.Contains([]byte(r.stderr), []byte(want)) {
				t.Errorf("exit %d, stderr %q\nwant %d and %q", r.code, r.stderr, tt.code, want)
			}
		})
	}
}

// TestOCSPStaplingOpenSSL staples from openssl's own OCSP responder
// (openssl ocsp -index) and reads the staple with openssl s_client -status,
// as the same setup did with nginx 1.22.1: the first handshake gets "no
// response sent", a later one "Cert Status: good".
func TestOCSPStaplingOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	ca := testutil.NewCA(t, "OCSP Test CA")
	caKey, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, caKeyFile := write("ca.pem", ca.PEM), write("ca.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: caKey}))
	serial := big.NewInt(0x1234567)
	index := write("index.txt", fmt.Appendf(nil, "V\t%s\t\t%08X\tunknown\t/CN=localhost\n", time.Now().Add(24*time.Hour).UTC().Format("060102150405Z"), serial))
	// The responder's port is free when chosen, but another process may
	// take it before openssl binds it (openssl then exits): up to three
	// ports are tried.
	var port int
	var ocspOut *testutil.SyncBuffer
	for try := 1; ; try++ {
		port = testutil.FreePorts(t, 1)[0]
		ocspCmd := exec.Command("openssl", "ocsp", "-index", index, "-port", fmt.Sprint(port), "-rsigner", caFile, "-rkey", caKeyFile, "-CA", caFile, "-nmin", "60", "-ignore_err")
		// It says when it listens; a probe connection would hold it (it
		// serves one connection at a time).
		ocspOut = new(testutil.SyncBuffer)
		ocspCmd.Stdout, ocspCmd.Stderr = ocspOut, ocspOut
		if err := ocspCmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { ocspCmd.Wait(); close(exited) }()
		t.Cleanup(func() { ocspCmd.Process.Kill(); <-exited })
		listening, deadline := false, time.Now().Add(15*time.Second)
		for !listening && time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Now()
			case <-time.After(5 * time.Millisecond):
				listening = strings.Contains(ocspOut.String(), "waiting for OCSP client connections")
			}
		}
		if listening {
			break
		}
		if try == 3 {
			t.Fatalf("openssl ocsp did not listen on port %d: %s", port, ocspOut.String())
		}
	}
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "localhost"}, Serial: serial, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, OCSPServer: []string{fmt.Sprintf("http://127.0.0.1:%d/", port)}})
	certFile := write("site.pem", append(append([]byte(nil), certPEM...), ca.PEM...))
	keyFile := write("site.key", keyPEM)
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s; ssl_certificate_key %s;
        ssl_stapling on; ssl_stapling_verify on;
        location / { return 200 "served\n"; }
    }
}
`, certFile, keyFile), 1)
	addr := in.listening()[0]
	status := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", addr, "-status")
		cmd.Stdin = bytes.NewReader(nil)
		out, _ := cmd.Output()
		switch {
		case bytes.Contains(out, []byte("OCSP response: no response sent")):
			return "none"
		case bytes.Contains(out, []byte("Cert Status: good")):
			return "good"
		}
		return string(out)
	}
	if got := status(); got != "none" {
		t.Fatalf("first handshake: %q, want no response", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := status(); got != "good"; got = status() {
		if got != "none" || time.Now().After(deadline) {
			t.Fatalf("got %q, want a good staple; openssl ocsp said:\n%s", got, ocspOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

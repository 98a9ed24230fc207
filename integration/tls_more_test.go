package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

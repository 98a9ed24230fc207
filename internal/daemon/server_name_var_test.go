package daemon_test

import (
	"io"
	"net/http"
	"testing"
)

// TestServerNameVariable checks $server_name against nginx 1.22's answers
// for the same servers (nginx-diff): the server's first name as nginx keeps
// it, a regex name with its "~", a wildcard as written, ".name" without its
// dot, "" without a name.
func TestServerNameVariable(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server { listen 127.0.0.1:0; server_name example.com www.example.com; return 200 "$server_name"; }
    server { listen 127.0.0.1:0 default_server; return 200 "$server_name"; }
    server { listen 127.0.0.1:0; server_name *.example.com; return 200 "$server_name"; }
    server { listen 127.0.0.1:0; server_name ~^(?<sub>[a-z]+)\.regex\.test$ other.test; return 200 "$server_name $sub"; }
    server { listen 127.0.0.1:0; server_name .dot.test; return 200 "$server_name"; }`)
	tests := []struct{ host, want string }{
		{"www.example.com", "example.com"},
		{"unknown.test", ""},
		{"a.example.com", "*.example.com"},
		{"abc.regex.test", `~^(?<sub>[a-z]+)\.regex\.test$ abc`},
		{"other.test", `~^(?<sub>[a-z]+)\.regex\.test$ `},
		{"x.dot.test", "dot.test"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", "http://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tt.want {
			t.Errorf("Host %s: $server_name %q, want %q", tt.host, body, tt.want)
		}
	}
}

package daemon_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestAccessLogPathVariables: an access_log path with variables (the
// per-site "access_log logs/$host.access.log;" of many PHP configurations)
// names a file per request, opened for each line, as nginx 1.22.1 does
// (recorded with the same configuration and requests): a.test's and c.test's
// lines go to their own files; a request whose root directory does not exist
// writes nothing and logs "testing ... existence failed".
func TestAccessLogPathVariables(t *testing.T) {
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format l "$host $uri $status";
    server {
        listen 127.0.0.1:0;
        server_name a.test;
        root %[1]s;
        access_log %[2]s/logs/$host.access.log l;
        location /noroot { root %[2]s/nonexist; }
        location /r { return 200 ok; }
    }`, www, dir))
	for _, r := range []struct{ host, path string }{
		{"a.test", "/r"}, {"b.test", "/noroot/x"}, {"c.test", "/x"}, {"c.test", "/r"},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+r.path, nil)
		req.Host = r.host
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitForAccessLine(t, filepath.Join(dir, "logs", "a.test.access.log"), "a.test /r 200", 2e9)
	waitForAccessLine(t, filepath.Join(dir, "logs", "c.test.access.log"), "c.test /x 404", 2e9)
	waitForAccessLine(t, filepath.Join(dir, "logs", "c.test.access.log"), "c.test /r 200", 2e9)
	waitForLogMatch(t, filepath.Join(dir, "error.log"), "error",
		`testing "`+filepath.Join(dir, "nonexist")+`" existence failed \(2: No such file or directory\) while logging request, client: 127.0.0.1, server: a.test, request: "GET /noroot/x HTTP/1.1", host: "b.test"`, "testing existence failed")
	if _, err := os.Stat(filepath.Join(dir, "logs", "b.test.access.log")); err == nil {
		t.Error("b.test.access.log was written; its root does not exist")
	}
}

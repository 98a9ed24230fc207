package daemon_test

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// TestMapCycle checks two maps that read each other, which nginx 1.22.1
// accepts and answers (recorded: "return 200 v=$a" gave 200 "v=", and
// "cycle while evaluating variable" at error). Before, one request ended
// the process: the maps' getters called each other until Go's stack limit.
func TestMapCycle(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    map $arg_x $a { default $b; }
    map $arg_y $b { default $a; }
    server { listen 127.0.0.1:0; location / { return 200 "v=$a"; } }`)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "v=" {
		t.Errorf("got %d %q, want 200 \"v=\"", resp.StatusCode, body)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error cycle while evaluating variable "a"`)
}

package daemon_test

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// TestMapCycle checks maps that read each other, which nginx 1.22.1
// accepts and answers (recorded: "return 200 v=$a" gave 200 "v=", and
// "cycle while evaluating variable" at error; volatile maps the same,
// "v=$va,$va" gave "v=,"). Before, one request ended the process: the
// maps' getters called each other until Go's stack limit.
func TestMapCycle(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    map $arg_x $a { default $b; }
    map $arg_y $b { default $a; }
    map $arg_z $va { volatile; default $vb; }
    map $arg_w $vb { volatile; default $va; }
    server { listen 127.0.0.1:0;
        location / { return 200 "v=$a"; }
        location /v/ { return 200 "v=$va,$va"; }
    }`)
	tests := []struct{ path, want, line string }{
		{"/", "v=", `error cycle while evaluating variable "a"`},
		{"/v/", "v=,", `error cycle while evaluating variable "va"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			waitForLog(t, filepath.Join(dir, "error.log"), tt.line)
		})
	}
}

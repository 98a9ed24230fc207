package daemon_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSSIStubRunsItsCommands: an include's stub block goes through the
// subrequest's SSI filter, as nginx's ngx_http_ssi_stub_output sends it
// through the subrequest's filters: in a location with ssi on its
// commands run with the subrequest's variables, in one without they go
// out as written (nginx-tests' ssi_if.t, "if (in block)" and the three
// after it; recorded with nginx 1.22.1: a block holding
// "<!--#if expr="$arg_if" -->IF<!--#else -->ELSE<!--#endif -->" as the
// stub of include virtual="/404?if=1" outputs "IF", of
// virtual="/nossi/404?if=1" the block's text). fulcrum output the block's
// text in both.
func TestSSIStubRunsItsCommands(t *testing.T) {
	dir := t.TempDir()
	block := `<!--#if expr="$arg_if" -->IF<!--#elif expr="$arg_elif" -->ELIF<!--#else -->ELSE<!--#endif -->`
	page := `<!--#block name="one" -->` + block + `<!--#endblock -->` +
		`x<!--#include virtual="/404?$args" stub="one" -->x<!--#include virtual="/nossi/404?$args" stub="one" -->x`
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root", "b.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log off;
    error_log /dev/null crit;
    server {
        listen 127.0.0.1:0;
        root `+filepath.Join(dir, "root")+`;
        location / { ssi on; }
        location /nossi/ { }
    }`)
	for _, tc := range []struct{ args, want string }{
		{"if=1", "xIFx" + block + "x"},
		{"if=1&elif=1", "xIFx" + block + "x"},
		{"elif=1", "xELIFx" + block + "x"},
		{"", "xELSEx" + block + "x"},
	} {
		if got := getBody(t, addr, "/b.html?"+tc.args); got != tc.want {
			t.Errorf("?%s: %q, want %q", tc.args, got, tc.want)
		}
	}
}

package daemon_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestSubrequestErrorLog: a subrequest's error log lines go to its main
// request's error_log, at that log's level, whatever the subrequest's own
// location says, as nginx 1.22.1 writes them (recorded: an upstream refused
// under an SSI include, add_after_body, auth_request and mirror, a missing
// file an SSI include names, rewrite_log in an included location; each line
// in the including location's log, none in the subrequest's, none at all
// under a main location logging at crit). nginx's subrequests write to the
// connection's log, which only a main request moves. fulcrum wrote them to
// the subrequest's location's log.
func TestSubrequestErrorLog(t *testing.T) {
	dir := t.TempDir()
	dead := testutil.RefusedAddr(t)
	files := map[string]string{
		"page.html":   `a <!--#include virtual="/inc/x" --> b`,
		"crit.html":   `a <!--#include virtual="/inc/x" --> b`,
		"miss.html":   `a <!--#include virtual="/missing.txt" --> b`,
		"rw.html":     `a <!--#include virtual="/rw/z" --> b`,
		"add.html":    "<p>x</p>\n",
		"auth":        "secret\n",
		"m":           "mirrored\n",
		"unused.html": "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := func(name string) string { return filepath.Join(dir, "l_"+name+".log") }
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location = /page.html { ssi on; error_log %[1]s/l_page.log info; }
        location = /crit.html { ssi on; error_log %[1]s/l_crit.log crit; }
        location = /miss.html { ssi on; error_log %[1]s/l_miss.log info; }
        location = /rw.html { ssi on; error_log %[1]s/l_rwpage.log notice; }
        location = /missing.txt { error_log %[1]s/l_missing.log info; }
        location /inc/ { error_log %[1]s/l_inc.log info; proxy_pass http://%[2]s; }
        location /rw/ { rewrite_log on; error_log %[1]s/l_rw.log notice; rewrite ^/rw/(.*) /inc/$1 last; }
        location = /auth { auth_request /authsub; error_log %[1]s/l_auth.log info; }
        location = /authsub { error_log %[1]s/l_authsub.log info; proxy_pass http://%[2]s; }
        location = /add.html { add_after_body /inc/y; error_log %[1]s/l_add.log info; }
        location = /m { mirror /mir; error_log %[1]s/l_m.log info; }
        location = /mir { internal; error_log %[1]s/l_mir.log info; proxy_pass http://%[2]s; }
    }`, dir, dead))
	client := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		path, log string
		want      []string // in the main request's log, in order of arrival
	}{
		{"/page.html", "page", []string{`connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /page.html HTTP/1.1", subrequest: "/inc/x", upstream: "http://` + dead + `/inc/x"`}},
		{"/miss.html", "miss", []string{`open() "` + dir + `/missing.txt" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /miss.html HTTP/1.1", subrequest: "/missing.txt"`}},
		{"/rw.html", "rwpage", []string{`[notice]`, `"^/rw/(.*)" matches "/rw/z"`, `rewritten data: "/inc/z", args: ""`, `subrequest: "/inc/z", upstream: "http://` + dead + `/inc/z"`}},
		{"/auth", "auth", []string{`subrequest: "/authsub", upstream: "http://` + dead + `/authsub"`, "auth request unexpected status: 502"}},
		{"/add.html", "add", []string{`request: "GET /add.html HTTP/1.1", subrequest: "/inc/y", upstream:`}},
		{"/m", "m", []string{`request: "GET /m HTTP/1.1", subrequest: "/mir", upstream: "http://` + dead + `/mir"`}},
		{"/crit.html", "", nil},
	}
	for _, tt := range tests {
		resp, err := client.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, w := range tt.want {
			waitLog(t, log(tt.log), w)
		}
	}
	// The lines came to the main requests' logs; the subrequests' own
	// logs, and the one at crit, have none.
	for _, name := range []string{"inc", "missing", "rw", "authsub", "mir", "crit"} {
		if data, _ := os.ReadFile(log(name)); len(data) != 0 {
			t.Errorf("%s has lines:\n%s", log(name), data)
		}
	}
}

package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// limitReqConf is the configuration of TestLimitReq, with the backend's
// address for %s. The zones of 1r/m leak 0.016 of a request a second, so a
// test's requests meet them nearly full; the 10r/s zone leaks one in 100 ms.
// nginx 1.22.1 with the same configuration wrote the same access log lines
// (/slow's included) and the same error lines, "client prematurely closed
// connection" at info for the client that left.
const limitReqConf = `
events {}
http {
    log_format lr '$uri $status $limit_req_status';
    access_log %%DIR%%/access.log lr buffer=0;
    limit_req_zone $binary_remote_addr zone=strict:1m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=nodelay:1m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=fast:1m rate=10r/s;
    limit_req_zone $binary_remote_addr zone=dry:1m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=deny:1m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=slow:1m rate=1r/m;
    limit_req_zone $arg_k zone=key:1m rate=1r/m;
    server {
        listen 127.0.0.1:0;
        server_name example;
        location /strict { limit_req zone=strict; limit_req_status 429; proxy_pass http://%[1]s; }
        location /nodelay { limit_req zone=nodelay burst=2 nodelay; proxy_pass http://%[1]s; }
        location /delay { limit_req zone=fast burst=5 delay=1; proxy_pass http://%[1]s; }
        location /dry { limit_req zone=dry burst=1; limit_req_dry_run on; proxy_pass http://%[1]s; }
        location /ret { limit_req zone=strict; return 200 "ret\n"; }
        location /deny { limit_req zone=deny; deny all; }
        location /slow { limit_req zone=slow burst=5; proxy_pass http://%[1]s; }
        location /key { limit_req zone=key; proxy_pass http://%[1]s; }
    }
}
`

// TestLimitReq runs each limit_req case against the real binary and reads
// $limit_req_status from the access log.
func TestLimitReq(t *testing.T) {
	addr, _, _ := holdBackend(t)
	in := startFulcrum(t, fmt.Sprintf(limitReqConf, addr), 1)
	base, client := in.url(0), newClient()
	tests := []struct {
		name       string
		path       string
		wantStatus []int
		wantLog    []string // $uri $status $limit_req_status, one per request
	}{
		{"over the rate: limit_req_status", "/strict", []int{200, 429, 429},
			[]string{"/strict 200 PASSED", "/strict 429 REJECTED", "/strict 429 REJECTED"}},
		{"burst with nodelay", "/nodelay", []int{200, 200, 200, 503},
			[]string{"/nodelay 200 PASSED", "/nodelay 200 PASSED", "/nodelay 200 PASSED", "/nodelay 503 REJECTED"}},
		{"delay=1 passes two, then delays", "/delay", []int{200, 200, 200},
			[]string{"/delay 200 PASSED", "/delay 200 PASSED", "/delay 200 DELAYED"}},
		{"dry run serves all", "/dry", []int{200, 200, 200},
			[]string{"/dry 200 PASSED", "/dry 200 DELAYED_DRY_RUN", "/dry 200 REJECTED_DRY_RUN"}},
		{"return is never limited", "/ret", []int{200, 200}, []string{"/ret 200 -", "/ret 200 -"}},
		{"limited before access rules", "/deny", []int{403, 503}, []string{"/deny 403 PASSED", "/deny 503 REJECTED"}},
		{"an empty key is not limited", "/key", []int{200, 200}, []string{"/key 200 -", "/key 200 -"}},
	}
	logged := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.wantStatus {
				if status, _ := get(t, client, base+tt.path); status != want {
					t.Errorf("request %d to %s: %d, want %d", i, tt.path, status, want)
				}
			}
			logged += len(tt.wantLog)
			lines := waitLines(t, filepath.Join(in.dir, "access.log"), logged)
			if got := lines[logged-len(tt.wantLog) : logged]; strings.Join(got, "\n") != strings.Join(tt.wantLog, "\n") {
				t.Errorf("access log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLog, "\n"))
			}
		})
	}

	// A delayed request whose client leaves ends with 499, not after its delay
	// (one excess of the 1r/m zone is a minute).
	if status, _ := get(t, client, base+"/slow"); status != 200 {
		t.Fatalf("first /slow: %d", status)
	}
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: example\r\n\r\n")
	waitFor(t, "the delaying line", func() bool { return in.logged(`delaying request, excess: `) && in.logged(`by zone "slow"`) })
	c.Close()
	start := time.Now()
	lines := waitLines(t, filepath.Join(in.dir, "access.log"), logged+2)
	if got := lines[logged+1]; got != "/slow 499 DELAYED" || time.Since(start) > 3*time.Second {
		t.Errorf("delayed request whose client left: %q after %v, want /slow 499 DELAYED at once", got, time.Since(start))
	}

	// The error log lines, word for word as nginx writes them (the excess
	// depends on the milliseconds between the requests).
	limiting := regexp.MustCompile(`\[error\] \d+#\d+: \*\d+ limiting requests, excess: [01]\.\d{3} by zone "strict", client: 127\.0\.0\.1, server: example, request: "GET /strict HTTP/1\.1", host: "127\.0\.0\.1:\d+"$`)
	delaying := regexp.MustCompile(`\[warn\] \d+#\d+: \*\d+ delaying request, excess: \d\.\d{3}, by zone "fast", client: 127\.0\.0\.1, server: example, request: "GET /delay HTTP/1\.1"`)
	dry := regexp.MustCompile(`\[error\] .* limiting requests, dry run, excess: 2\.000 by zone "dry"`)
	waitFor(t, "the error log lines", func() bool {
		n := map[*regexp.Regexp]int{}
		for _, l := range in.logLines() {
			for _, re := range []*regexp.Regexp{limiting, delaying, dry} {
				if re.MatchString(l) {
					n[re]++
				}
			}
		}
		return n[limiting] == 2 && n[delaying] == 1 && n[dry] == 1
	})
	if in.logged("access forbidden") && !in.logged(`request: "GET /deny HTTP/1.1"`) {
		t.Error("no access forbidden line for the first /deny")
	}
}

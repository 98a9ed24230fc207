package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logSubrequestConf has log_subrequest on in the on.test server and off (the
// default) in the off.test one. %[1]s is the prefix, %[2]s the backend. The
// lines the test wants are what nginx 1.22.1 wrote with this configuration
// (without buffer=0, fulcrum's way to write each line at once, which is
// what nginx does without buffer=).
const logSubrequestConf = `
    log_format L '$request|$uri|$request_uri|$status|$body_bytes_sent|$request_method|$args|$upstream_addr|$request_length|$bytes_sent';
    log_format S '$request|$uri|$request_uri|$status|$body_bytes_sent|$request_method|$args|$upstream_addr|$request_length|$upstream_status|$slice_range|$bytes_sent';
    access_log %[1]s/main.log L buffer=0;
    server {
        listen 127.0.0.1:0;
        server_name on.test;
        log_subrequest on;
        root %[1]s/html;
        location /a { auth_request /auth; proxy_pass http://%[2]s; }
        location = /auth { proxy_pass http://%[2]s/authok; }
        location /deny { auth_request /authdeny; proxy_pass http://%[2]s; }
        location = /authdeny { proxy_pass http://%[2]s/auth401; }
        location /add/ { add_before_body /before; add_after_body /after; }
        location = /before { proxy_pass http://%[2]s; }
        location = /after { return 200 "after\n"; }
        location /ssi/ { ssi on; }
        location = /inc { proxy_pass http://%[2]s; }
        location /mir { mirror /m; proxy_pass http://%[2]s; }
        location = /m { internal; proxy_pass http://%[2]s; }
        location /err { error_page 404 = /errpage; return 404; }
        location = /errpage { return 200 "errpage\n"; }
        location /silent { auth_request /authsilent; mirror /m; proxy_pass http://%[2]s; }
        location = /authsilent { access_log off; return 204; }
        location /own { auth_request /authown; proxy_pass http://%[2]s; }
        location = /authown { access_log %[1]s/sub.log L buffer=0; return 204; }
        location /mainoff { log_subrequest off; auth_request /authon; proxy_pass http://%[2]s; }
        location = /authon { log_subrequest on; return 204; }
        location /mainon { auth_request /authoff; mirror /m; proxy_pass http://%[2]s; }
        location = /authoff { log_subrequest off; return 204; }
        location /pa { post_action /patarget; proxy_pass http://%[2]s; }
        location /sl/ {
            slice 10;
            access_log %[1]s/sub.log S buffer=0;
            proxy_set_header Range $slice_range;
            proxy_pass http://%[2]s/f/;
        }
        location = /patarget { proxy_pass http://%[2]s; }
    }
    server {
        listen 127.0.0.1:0;
        server_name off.test;
        location /b { auth_request /auth; mirror /mlog; proxy_pass http://%[2]s; }
        location = /auth { return 204; }
        location = /mlog { internal; log_subrequest on; proxy_pass http://%[2]s; }
    }
`

// TestLogSubrequest checks the access log lines of subrequests against
// nginx 1.22.1's: with log_subrequest on where the subrequest was served,
// each auth_request, add_before_body/add_after_body, SSI include and mirror
// subrequest writes a line of its own before the main request's, through
// the access_log of its location, with its own $uri, $args, $status,
// $upstream_addr, a $request_length of 0, the main request's $request and
// $request_uri, and as $bytes_sent and $body_bytes_sent what the client had
// been sent then (S: the main request's $bytes_sent for a mirror, which ends
// after the response went out). An error_page redirect and a post_action
// are no subrequests (one line). A slice subrequest's line has the main
// response's $status and its own $upstream_status and $slice_range. In a
// want line, L is the main request's
// length, B the backend, * any value (fulcrum's own pages and its addition
// and SSI bodies are sized differently from nginx's).
func TestLogSubrequest(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"html/add/x.html": "<p>addmain</p>\n",
		"html/ssi/x.html": "<p>head</p>\n<!--# include virtual=\"/inc?q=1\" -->\n<p>tail</p>\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authok":
			w.WriteHeader(http.StatusNoContent)
		case "/auth401":
			w.WriteHeader(http.StatusUnauthorized)
		case "/f/obj":
			http.ServeContent(w, r, "obj", time.Time{}, strings.NewReader("0123456789abcdefghijklmnopqrstuvwxyz"))
		default:
			fmt.Fprintf(w, "backend %s\n", r.URL.Path)
		}
	}))
	t.Cleanup(backend.Close)
	b := backend.Listener.Addr().String()
	addr := startDaemon(t, dir, fmt.Sprintf(logSubrequestConf, dir, b))
	tests := []struct {
		name, host, uri string
		main, sub       []string // the lines of main.log and sub.log
		header          string   // a field to send
	}{
		{"auth_request proxied", "on.test", "/a?x=1", []string{
			"GET /a?x=1 HTTP/1.1|/auth|/a?x=1|204|0|GET|-|B|0|0",
			"GET /a?x=1 HTTP/1.1|/a|/a?x=1|200|11|GET|x=1|B|L|S",
		}, nil, ""},
		{"auth_request denied", "on.test", "/deny?x=1", []string{
			"GET /deny?x=1 HTTP/1.1|/authdeny|/deny?x=1|401|0|GET|-|B|0|0",
			"GET /deny?x=1 HTTP/1.1|/deny|/deny?x=1|401|*|GET|x=1|-|L|S",
		}, nil, ""},
		{"addition", "on.test", "/add/x.html?x=1", []string{
			"GET /add/x.html?x=1 HTTP/1.1|/before|/add/x.html?x=1|200|0|GET|-|B|0|0",
			"GET /add/x.html?x=1 HTTP/1.1|/after|/add/x.html?x=1|200|0|GET|-|-|0|0",
			"GET /add/x.html?x=1 HTTP/1.1|/add/x.html|/add/x.html?x=1|200|*|GET|x=1|-|L|S",
		}, nil, ""},
		{"SSI include", "on.test", "/ssi/x.html?x=1", []string{
			"GET /ssi/x.html?x=1 HTTP/1.1|/inc|/ssi/x.html?x=1|200|0|GET|q=1|B|0|0",
			"GET /ssi/x.html?x=1 HTTP/1.1|/ssi/x.html|/ssi/x.html?x=1|200|*|GET|x=1|-|L|S",
		}, nil, ""},
		{"mirror", "on.test", "/mir?x=1", []string{
			"GET /mir?x=1 HTTP/1.1|/m|/mir?x=1|200|S|GET|x=1|B|0|S",
			"GET /mir?x=1 HTTP/1.1|/mir|/mir?x=1|200|13|GET|x=1|B|L|S",
		}, nil, ""},
		{"error_page is no subrequest", "on.test", "/err?x=1", []string{
			"GET /err?x=1 HTTP/1.1|/errpage|/err?x=1|200|8|GET|-|-|L|S",
		}, nil, ""},
		{"access_log off where the subrequest is served", "on.test", "/silent?x=1", []string{
			"GET /silent?x=1 HTTP/1.1|/m|/silent?x=1|200|S|GET|x=1|B|0|S",
			"GET /silent?x=1 HTTP/1.1|/silent|/silent?x=1|200|16|GET|x=1|B|L|S",
		}, nil, ""},
		{"access_log of the subrequest's location", "on.test", "/own?x=1", []string{
			"GET /own?x=1 HTTP/1.1|/own|/own?x=1|200|13|GET|x=1|B|L|S",
		}, []string{
			"GET /own?x=1 HTTP/1.1|/authown|/own?x=1|204|0|GET|-|-|0|0",
		}, ""},
		{"slice", "on.test", "/sl/obj?x=1", nil, []string{
			"GET /sl/obj?x=1 HTTP/1.1|/sl/obj|/sl/obj?x=1|200|0|GET|x=1|B|0|206|bytes=10-19|0",
			"GET /sl/obj?x=1 HTTP/1.1|/sl/obj|/sl/obj?x=1|200|0|GET|x=1|B|0|206|bytes=20-29|0",
			"GET /sl/obj?x=1 HTTP/1.1|/sl/obj|/sl/obj?x=1|200|0|GET|x=1|B|0|206|bytes=30-39|0",
			"GET /sl/obj?x=1 HTTP/1.1|/sl/obj|/sl/obj?x=1|200|36|GET|x=1|B|L|206|-|S",
		}, ""},
		{"slice of a range", "on.test", "/sl/obj", nil, []string{
			"GET /sl/obj HTTP/1.1|/sl/obj|/sl/obj|206|0|GET|-|B|0|206|bytes=20-29|0",
			"GET /sl/obj HTTP/1.1|/sl/obj|/sl/obj|206|14|GET|-|B|L|206|-|S",
		}, "Range: bytes=12-25"},
		{"on where served, off in the main request's location", "on.test", "/mainoff?x=1", []string{
			"GET /mainoff?x=1 HTTP/1.1|/authon|/mainoff?x=1|204|0|GET|-|-|0|0",
			"GET /mainoff?x=1 HTTP/1.1|/mainoff|/mainoff?x=1|200|17|GET|x=1|B|L|S",
		}, nil, ""},
		{"off where served, on in the main request's location", "on.test", "/mainon?x=1", []string{
			"GET /mainon?x=1 HTTP/1.1|/m|/mainon?x=1|200|S|GET|x=1|B|0|S",
			"GET /mainon?x=1 HTTP/1.1|/mainon|/mainon?x=1|200|16|GET|x=1|B|L|S",
		}, nil, ""},
		{"post_action is no subrequest", "on.test", "/pa?x=1", []string{
			"GET /pa?x=1 HTTP/1.1|/patarget|/pa?x=1|200|12|GET|-|B : B|L|S",
		}, nil, ""},
		{"off by default", "off.test", "/b?x=1", []string{
			"GET /b?x=1 HTTP/1.1|/mlog|/b?x=1|200|S|GET|x=1|B|0|S",
			"GET /b?x=1 HTTP/1.1|/b|/b?x=1|200|11|GET|x=1|B|L|S",
		}, nil, ""},
	}
	mainLog, subLog := filepath.Join(dir, "main.log"), filepath.Join(dir, "sub.log")
	exchange := func(host, uri, header string) string {
		head := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n", uri, host)
		if header != "" {
			head += header + "\r\n"
		}
		head += "Connection: close\r\n\r\n"
		rawReply(t, addr, head)
		return head
	}
	// Each line is written at once (buffer=0), a request's main line
	// last, so a row reads the lines that came after the previous row's.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mainSeen, subSeen := fileLines(mainLog), fileLines(subLog)
			head := exchange(tt.host, tt.uri, tt.header)
			var got, gotSub []string
			if len(tt.sub) > 0 {
				gotSub = waitLogLines(t, subLog, subSeen+len(tt.sub))[subSeen:]
			}
			last := gotSub // the file of the main request's line
			if len(tt.main) > 0 {
				got = waitLogLines(t, mainLog, mainSeen+len(tt.main))[mainSeen:]
				last = got
			}
			// S is the main request's $bytes_sent, its line's last field.
			sent := last[len(last)-1][strings.LastIndexByte(last[len(last)-1], '|')+1:]
			checkLogLines(t, "main.log", got, tt.main, len(head), sent, b)
			checkLogLines(t, "sub.log", gotSub, tt.sub, len(head), sent, b)
			if n := fileLines(mainLog); len(tt.main) == 0 && n != mainSeen {
				t.Errorf("main.log got %d lines, want none", n-mainSeen)
			}
			if n := fileLines(subLog); len(tt.sub) == 0 && n != subSeen {
				t.Errorf("sub.log got %d lines, want none", n-subSeen)
			}
		})
	}
	// A request without subrequests last: no line came after the ones seen.
	mainSeen := fileLines(mainLog)
	exchange("on.test", "/err", "")
	if got := waitLogLines(t, mainLog, mainSeen+1)[mainSeen:]; len(got) != 1 || !strings.Contains(got[0], "|/errpage|/err|") {
		t.Errorf("main.log ends with %q, want the line of /err alone", got)
	}
}

// checkLogLines compares the access log lines got with want, whose fields
// L, S and B stand for the request's length, its $bytes_sent and the
// backend's address, and * for any value.
func checkLogLines(t *testing.T, file string, got, want []string, length int, sent, backend string) {
	t.Helper()
	match := len(got) == len(want)
	for i := 0; match && i < len(want); i++ {
		g, w := strings.Split(got[i], "|"), strings.Split(want[i], "|")
		match = len(g) == len(w)
		for j := 0; match && j < len(w); j++ {
			switch w[j] {
			case "*":
				continue
			case "L":
				w[j] = strconv.Itoa(length)
			case "S":
				w[j] = sent
			}
			if j == 7 { // $upstream_addr
				w[j] = strings.ReplaceAll(w[j], "B", backend)
			}
			match = g[j] == w[j]
		}
	}
	if !match {
		t.Errorf("%s has\n%s\nwant\n%s", file, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// fileLines is how many lines the file at path has (0 when it is missing).
func fileLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

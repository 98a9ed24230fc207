package daemon_test

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// mirrorConf shadows requests to a second backend. %[1]s is the main
// backend, %[2]s the shadow, %[3]s a shadow that holds its answer. What the
// backends receive was checked against nginx 1.22.1 with these locations.
const mirrorConf = `
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; mirror /m2; proxy_pass http://%[1]s; }
        location /off/ {
            mirror /moff;
            mirror_request_body off;
            proxy_pass http://%[1]s;
            location /off/nested/ { mirror off; proxy_pass http://%[1]s; }
        }
        location /dead/ { mirror /dead; proxy_pass http://%[1]s; }
        location /r/ { error_page 404 = /after; return 404; }
        location /slow/ { mirror /slow; proxy_pass http://%[1]s; }
        location = /m { internal; proxy_pass http://%[2]s; }
        location = /moff { internal; proxy_set_header Content-Length ""; proxy_pass http://%[2]s; }
        location = /m2 { internal; proxy_pass http://%[2]s$request_uri; }
        location = /dead { internal; proxy_pass http://127.0.0.1:1; }
        location = /slow { internal; proxy_read_timeout 5s; proxy_pass http://%[3]s; }
    }
`

// recordingBackend records "METHOD URI body=BODY x-t=FIELD" for every
// request and answers with its name.
type recordingBackend struct {
	name string
	mu   sync.Mutex
	seen []string
}

func (b *recordingBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.seen = append(b.seen, fmt.Sprintf("%s %s body=%s x-t=%s", r.Method, r.RequestURI, body, r.Header.Get("X-T")))
	b.mu.Unlock()
	io.WriteString(w, "ok-"+b.name)
}

// take returns what the backend saw and forgets it.
func (b *recordingBackend) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	b.seen = nil
	return s
}

// waitSeen polls b until it saw n requests or the deadline passes.
func (b *recordingBackend) waitSeen(n int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		got := len(b.seen)
		b.mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return b.take()
}

func TestMirror(t *testing.T) {
	main := &recordingBackend{name: "main"}
	shadow := &recordingBackend{name: "shadow"}
	release := make(chan struct{})
	slowSeen := make(chan string, 4)
	ms := httptest.NewServer(main)
	t.Cleanup(ms.Close)
	ss := httptest.NewServer(shadow)
	t.Cleanup(ss.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowSeen <- r.Method + " " + r.RequestURI
		<-release
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	addr := startDaemonLevel(t, t.TempDir(), "info", fmt.Sprintf(mirrorConf, ms.Listener.Addr(), ss.Listener.Addr(), slow.Listener.Addr()))

	tests := []struct {
		name, method, path, body string
		main                     string
		shadow                   []string
	}{
		{name: "GET, two mirrors", method: "GET", path: "/a/b?x=1",
			main:   "GET /a/b?x=1 body= x-t=1",
			shadow: []string{"GET /a/b?x=1 body= x-t=1", "GET /m?x=1 body= x-t=1"}},
		{name: "POST body mirrored", method: "POST", path: "/p?y=2", body: "hello",
			main:   "POST /p?y=2 body=hello x-t=1",
			shadow: []string{"POST /m?y=2 body=hello x-t=1", "POST /p?y=2 body=hello x-t=1"}},
		{name: "mirror_request_body off", method: "POST", path: "/off/q?z", body: "hello",
			main:   "POST /off/q?z body=hello x-t=1",
			shadow: []string{"POST /moff?z body= x-t=1"}},
		{name: "mirror off nested", method: "POST", path: "/off/nested/q", body: "hello",
			main: "POST /off/nested/q body=hello x-t=1"},
		{name: "dead shadow", method: "GET", path: "/dead/x",
			main: "GET /dead/x body= x-t=1"},
		// The mirrors of the location an error_page leads to run, with
		// the GET the redirect made (nginx 1.22.1 did the same).
		{name: "error_page to a mirrored location", method: "POST", path: "/r/x?q=1", body: "hello",
			main:   "GET /after body=hello x-t=1",
			shadow: []string{"GET /m body=hello x-t=1", "GET /r/x?q=1 body=hello x-t=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-T", "1")
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(got) != "ok-main" {
				t.Fatalf("answer %d %q, want 200 ok-main", resp.StatusCode, got)
			}
			if seen := main.waitSeen(1); len(seen) != 1 || seen[0] != tc.main {
				t.Errorf("main saw %q, want %q", seen, tc.main)
			}
			seen := shadow.waitSeen(len(tc.shadow))
			if len(tc.shadow) == 0 {
				// A mirror would have reached the shadow before the
				// daemon closed the connection the client saw end.
				seen = shadow.take()
			}
			slices.Sort(seen)
			if !slices.Equal(seen, tc.shadow) {
				t.Errorf("shadow saw %q, want %q", seen, tc.shadow)
			}
		})
	}

	// A slow mirror does not hold the client's answer back, but the next
	// request on the keep-alive connection waits for it, as in nginx.
	t.Run("slow mirror", func(t *testing.T) {
		tr := &http.Transport{MaxConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + "/slow/1")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != "ok-main" {
			t.Fatalf("answer %d %q while the mirror is held", resp.StatusCode, got)
		}
		select {
		case s := <-slowSeen:
			if s != "GET /slow" {
				t.Errorf("slow mirror got %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the mirror never reached the slow shadow")
		}
		done := make(chan error, 1)
		go func() {
			resp, err := c.Get("http://" + addr + "/a/2")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("second request answered (%v) before the mirror ended", err)
		case <-time.After(300 * time.Millisecond):
		}
		release <- struct{}{}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		main.take()
		shadow.waitSeen(2)
	})
}

// mirrorRaceConf runs a main request and two mirrors of it at once, each
// setting the same variable and reading the request's fields, captures,
// arguments, body and $request_id. %[1]s is the meeting backend, %[2]s
// the directory of the access log.
const mirrorRaceConf = `
    log_format race "$uri $v $request_id $status";
    server {
        listen 127.0.0.1:0;
        access_log %[2]s/race.log race buffer=0;
        location ~ ^/race/(?<word>[a-z]+) {
            set $v main-$word;
            mirror /rm1;
            mirror /rm2;
            add_header X-V $v;
            add_header X-Id $request_id;
            proxy_set_header X-V $v-$request_id;
            proxy_pass http://%[1]s;
        }
        location = /rm1 { internal; set $v m1-$word; proxy_set_header X-V $v-$request_id; proxy_pass http://%[1]s/m1$is_args$args; }
        location = /rm2 { internal; set $v m2-$word; proxy_set_header X-V $v-$request_id; proxy_pass http://%[1]s/m2$is_args$args; }
    }
`

// meetingBackend answers a request only once n requests are in at once,
// so the main request and its mirrors are all in flight together; one
// that waited 5 s for the others is recorded as "alone".
type meetingBackend struct {
	n    int
	mu   sync.Mutex // guards in, met and seen
	in   int
	met  chan struct{}
	seen []string
}

func (b *meetingBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	if b.in == 0 {
		b.met = make(chan struct{})
	}
	met := b.met
	if b.in++; b.in == b.n {
		b.in = 0
		close(met)
	}
	b.mu.Unlock()
	line := fmt.Sprintf("%s x-v=%s x-t=%s body=%s", r.RequestURI, r.Header.Get("X-V"), r.Header.Get("X-T"), body)
	select {
	case <-met:
	case <-time.After(5 * time.Second):
		line += " alone"
	}
	b.mu.Lock()
	b.seen = append(b.seen, line)
	b.mu.Unlock()
	io.WriteString(w, "ok")
}

// take returns what the backend saw, sorted, and forgets it.
func (b *meetingBackend) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	b.seen = nil
	slices.Sort(s)
	return s
}

// TestMirrorConcurrent runs the main request and its two mirrors at once
// (each backend answers only when all three are in), under -race in the
// race suite. As in nginx, the three share $request_id, the captures and
// the values set before the mirrors started; unlike nginx, whose
// subrequests share the main request's variables, what a mirror sets
// stays its own (nginx 1.22.1, with a mirror location that sets $v,
// answers with the mirror's value in X-V).
func TestMirrorConcurrent(t *testing.T) {
	meet := &meetingBackend{n: 3}
	backend := httptest.NewServer(meet)
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(mirrorRaceConf, backend.Listener.Addr(), dir))
	c := &http.Client{Timeout: 10 * time.Second}
	words := []string{"one", "two", "three"}
	for i, word := range words {
		req, err := http.NewRequest("POST", "http://"+addr+"/race/"+word+"?a="+word, strings.NewReader("body-"+word))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-T", word)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Id")
		if resp.StatusCode != 200 || string(got) != "ok" || resp.Header.Get("X-V") != "main-"+word || len(id) != 32 {
			t.Fatalf("%s: %d %q X-V %q X-Id %q, want 200 ok, main-%s and a request id", word, resp.StatusCode, got, resp.Header.Get("X-V"), id, word)
		}
		// The client has its answer once the main request's backend had
		// all three requests: the mirrors are done or about to be.
		var seen []string
		deadline := time.Now().Add(5 * time.Second)
		for len(seen) < 3 && time.Now().Before(deadline) {
			seen = append(seen, meet.take()...)
			time.Sleep(5 * time.Millisecond)
		}
		slices.Sort(seen)
		want := []string{
			fmt.Sprintf("/m1?a=%[1]s x-v=m1-%[1]s-%[2]s x-t=%[1]s body=body-%[1]s", word, id),
			fmt.Sprintf("/m2?a=%[1]s x-v=m2-%[1]s-%[2]s x-t=%[1]s body=body-%[1]s", word, id),
			fmt.Sprintf("/race/%[1]s?a=%[1]s x-v=main-%[1]s-%[2]s x-t=%[1]s body=body-%[1]s", word, id),
		}
		if !slices.Equal(seen, want) {
			t.Errorf("%s: the backend saw\n%q\nwant\n%q", word, seen, want)
		}
		lines := waitLogLines(t, filepath.Join(dir, "race.log"), i+1)
		if want := fmt.Sprintf("/race/%s main-%s %s 200", word, word, id); lines[i] != want {
			t.Errorf("%s: logged %q, want %q", word, lines[i], want)
		}
	}
}

// waitLogLines polls the file at path until it has n lines and returns them.
func waitLogLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %q, want %d lines", path, b, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMirrorBodyOffAnnounced checks what a mirror gets with
// mirror_request_body off, as nginx 1.22.1 sends it (recorded with a
// backend that prints the request head, through an upstream with
// keepalive): the client's "Content-Length: 20000" and no body, a chunked
// body neither a length nor chunked framing; and the connection is closed
// after the answer, never reused, as the server may still wait for the
// body (nginx closed it too, keepalive or not); a request without a
// length leaves it reusable.
func TestMirrorBodyOffAnnounced(t *testing.T) {
	rec, shadow := startHeadRecorder(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	main := httptest.NewServer(&recordingBackend{name: "main"})
	t.Cleanup(main.Close)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    upstream shadow { server %[2]s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; mirror_request_body off; proxy_pass http://%[1]s; }
        location = /m { internal; proxy_pass http://shadow; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }`, main.Listener.Addr(), shadow))
	post := func(path string, chunked bool) {
		t.Helper()
		var body io.Reader = strings.NewReader("hello")
		if chunked {
			body = io.MultiReader(body)
		}
		req, err := http.NewRequest("POST", "http://"+addr+path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != "ok-main" {
			t.Fatalf("answer %d %q, want 200 ok-main", resp.StatusCode, got)
		}
	}
	post("/a", false)
	post("/b", false)
	post("/c", true)
	got := rec.wait(3)
	// The mirrors run beside the main requests: in the order of want.
	slices.SortFunc(got, func(a, b announcedHead) int {
		return cmp.Or(strings.Compare(a.line, b.line), -strings.Compare(a.length, b.length))
	})
	want := []announcedHead{
		{line: "POST /m", length: "5"},
		{line: "POST /m", length: "5"},
		{line: "POST /m"},
	}
	if len(got) != len(want) {
		t.Fatalf("the mirror's backend saw %+v, want 3 requests", got)
	}
	seen := map[int]bool{}
	for i, h := range got {
		if h.open {
			t.Errorf("request %d: %q announced Content-Length %q and its connection stayed open", i, h.line, h.length)
		}
		if h.line != want[i].line || h.length != want[i].length || h.te != "" || h.after != "" {
			t.Errorf("request %d: %q, Content-Length %q, Transfer-Encoding %q, then %q on its connection; want %q, %q, none, nothing (closed)",
				i, h.line, h.length, h.te, h.after, want[i].line, want[i].length)
		}
		if seen[h.conn] {
			t.Errorf("request %d came on connection %d again: a connection whose body was announced and not sent was reused", i, h.conn)
		}
		seen[h.conn] = true
	}
}

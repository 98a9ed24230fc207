package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
            mirror /m;
            mirror_request_body off;
            proxy_pass http://%[1]s;
            location /off/nested/ { mirror off; proxy_pass http://%[1]s; }
        }
        location /dead/ { mirror /dead; proxy_pass http://%[1]s; }
        location /slow/ { mirror /slow; proxy_pass http://%[1]s; }
        location = /m { internal; proxy_pass http://%[2]s; }
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
			shadow: []string{"POST /m?z body= x-t=1"}},
		{name: "mirror off nested", method: "POST", path: "/off/nested/q", body: "hello",
			main: "POST /off/nested/q body=hello x-t=1"},
		{name: "dead shadow", method: "GET", path: "/dead/x",
			main: "GET /dead/x body= x-t=1"},
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

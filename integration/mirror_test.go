package integration

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// mirrorConf shadows the traffic of a site to a test backend (APP and
// SHADOW are the backends' addresses). nginx 1.22.1 with the same
// configuration sent the backends what the test expects.
const mirrorConf = `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / {
            mirror /shadow;
            proxy_pass http://APP;
        }
        location /static/ { mirror off; proxy_pass http://APP; }
        location = /shadow {
            internal;
            proxy_read_timeout 2s;
            proxy_set_header X-Mirrored yes;
            proxy_pass http://SHADOW$request_uri;
        }
    }
}
`

func TestMirrorShadowTraffic(t *testing.T) {
	var mu sync.Mutex
	var shadowed []string
	shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		shadowed = append(shadowed, fmt.Sprintf("%s %s mirrored=%s body=%s", r.Method, r.RequestURI, r.Header.Get("X-Mirrored"), body))
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError) // discarded
	}))
	t.Cleanup(shadow.Close)
	app := startBackend(t, "app")
	conf := strings.NewReplacer("APP", app.addr(), "SHADOW", strings.TrimPrefix(shadow.URL, "http://")).Replace(mirrorConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	tests := []struct {
		name, method, target, extra, body string
		want, shadowed                    string // a line of the answer; what the shadow got ("" nothing)
	}{
		{"GET", "GET", "/page?x=1", "", "", "app GET /page?x=1", "GET /page?x=1 mirrored=yes body="},
		{"chunked POST", "POST", "/form", "Transfer-Encoding: chunked\r\n", "7\r\nfoo=bar\r\n0\r\n\r\n", "body: foo=bar", "POST /form mirrored=yes body=foo=bar"},
		{"mirror off", "GET", "/static/a.css", "", "", "app GET /static/a.css", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			shadowed = nil
			mu.Unlock()
			status, lines, body := rawExchange(t, addr, tt.method, tt.target, tt.extra, tt.body)
			if status != 200 {
				t.Fatalf("%s %s: %d, want 200 whatever the shadow answers (%s)", tt.method, tt.target, status, body)
			}
			all := append(lines, strings.Split(body, "\n")...)
			if !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, tt.want) }) {
				t.Errorf("no %q in %q", tt.want, all)
			}
			// rawExchange read until fulcrum closed the connection, which
			// it does once the mirror is done.
			var got []string
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				got = slices.Clone(shadowed)
				mu.Unlock()
				if len(got) > 0 || tt.shadowed == "" || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			want := []string{}
			if tt.shadowed != "" {
				want = []string{tt.shadowed}
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("the shadow got %q, want %q", got, want)
			}
		})
	}
}

// mirrorGateConf has two mirrors, each to its own backend (APP, SHADOW1,
// SHADOW2 are the backends' addresses), and logs each request at once.
const mirrorGateConf = `
events {}
http {
    log_format short "$request $status";
    access_log %DIR%/access.log short buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { mirror /m1; mirror /m2; proxy_pass http://APP; }
        location = /static.txt { mirror /m1; mirror /m2; root %DIR%; }
        location = /m1 { internal; proxy_read_timeout 10s; proxy_pass http://SHADOW1$request_uri; }
        location = /m2 { internal; proxy_read_timeout 10s; proxy_pass http://SHADOW2$request_uri; }
    }
}
`

// eventLog is what happened, in order: the backends' arrivals and the
// test's releases.
type eventLog struct {
	mu   sync.Mutex // guards list
	list []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.list = append(l.list, s)
	l.mu.Unlock()
}

// index is the position of the first event s, -1 when there is none.
func (l *eventLog) index(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Index(l.list, s)
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%q", l.list)
}

// gateBackend logs "NAME TARGET" when a request arrives and "NAME TARGET
// done" once it answered it, and holds the requests for a target the test
// gated until it releases them.
type gateBackend struct {
	name   string
	events *eventLog
	srv    *httptest.Server
	mu     sync.Mutex // guards gates
	gates  map[string]chan struct{}
}

func startGateBackend(t *testing.T, name string, events *eventLog) *gateBackend {
	t.Helper()
	b := &gateBackend{name: name, events: events, gates: map[string]chan struct{}{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		events.add(name + " " + r.RequestURI)
		b.mu.Lock()
		gate := b.gates[r.RequestURI]
		b.mu.Unlock()
		if gate != nil {
			<-gate
		}
		fmt.Fprintf(w, "%s %s %s\n", name, r.Method, r.RequestURI)
		w.(http.Flusher).Flush()
		events.add(name + " " + r.RequestURI + " done")
	}))
	t.Cleanup(func() {
		b.mu.Lock()
		for target, gate := range b.gates {
			close(gate)
			delete(b.gates, target)
		}
		b.mu.Unlock()
		b.srv.Close()
	})
	return b
}

func (b *gateBackend) addr() string { return b.srv.Listener.Addr().String() }

// hold gates the requests for target.
func (b *gateBackend) hold(target string) {
	b.mu.Lock()
	b.gates[target] = make(chan struct{})
	b.mu.Unlock()
}

// release lets the requests for target go, logging "release NAME TARGET".
func (b *gateBackend) release(target string) {
	b.events.add("release " + b.name + " " + target)
	b.mu.Lock()
	close(b.gates[target])
	delete(b.gates, target)
	b.mu.Unlock()
}

// readAnswer reads one response from br, its body whole.
func readAnswer(t *testing.T, c net.Conn, br *bufio.Reader) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read the body: %v", err)
	}
	return resp.StatusCode, string(body)
}

// nothingFor asserts that fulcrum sends nothing on c for a while: what a
// request that must wait (for its mirrors) looks like from the client.
func nothingFor(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := br.Peek(1); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: got %q (%v), want nothing yet", what, b, err)
	}
}

// TestMirrorsBesideTheRequest: as in nginx 1.22.1 (checked with the same
// configuration and gated backends), the mirrors start beside the main
// request's content handler and beside each other; the client has its
// whole answer while they are still held; the next request on the
// keep-alive connection and the request's access log line wait for them.
func TestMirrorsBesideTheRequest(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	events := &eventLog{}
	app := startGateBackend(t, "app", events)
	shadow1 := startGateBackend(t, "shadow1", events)
	shadow2 := startGateBackend(t, "shadow2", events)
	conf := strings.NewReplacer("APP", app.addr(), "SHADOW1", shadow1.addr(), "SHADOW2", shadow2.addr()).Replace(mirrorGateConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	logPath := filepath.Join(in.dir, "access.log")
	dial := func(t *testing.T) (net.Conn, *bufio.Reader) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	send := func(t *testing.T, c net.Conn, target string) {
		if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	arrived := func(t *testing.T, ev ...string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%q in %s", ev, events), func() bool {
			for _, e := range ev {
				if events.index(e) < 0 {
					return false
				}
			}
			return true
		})
	}

	t.Run("slow mirrors", func(t *testing.T) {
		shadow1.hold("/first")
		shadow2.hold("/first")
		c, br := dial(t)
		send(t, c, "/first")
		// Both mirrors are in before either is released: they run at once.
		arrived(t, "shadow1 /first", "shadow2 /first")
		// The client has its whole answer while both are held.
		if code, body := readAnswer(t, c, br); code != 200 || body != "app GET /first\n" {
			t.Fatalf("answer %d %q while the mirrors are held, want 200 from app", code, body)
		}
		// The next request on the connection waits for the mirrors, and
		// so does the first request's log line.
		send(t, c, "/second")
		nothingFor(t, c, br, "the second request while both mirrors are held")
		shadow1.release("/first")
		arrived(t, "shadow1 /first done")
		nothingFor(t, c, br, "the second request while a mirror is held")
		if lines := readLines(logPath); len(lines) != 0 {
			t.Fatalf("logged %q before the mirrors ended", lines)
		}
		if i := events.index("app /second"); i >= 0 {
			t.Fatalf("app had the second request before the mirrors ended: %s", events)
		}
		shadow2.release("/first")
		if code, body := readAnswer(t, c, br); code != 200 || body != "app GET /second\n" {
			t.Fatalf("second answer %d %q, want 200 from app", code, body)
		}
		if events.index("app /second") < events.index("release shadow2 /first") {
			t.Errorf("app had the second request before the last mirror was released: %s", events)
		}
		lines := waitLines(t, logPath, 2)
		if want := []string{"GET /first HTTP/1.1 200", "GET /second HTTP/1.1 200"}; !slices.Equal(lines[:2], want) {
			t.Errorf("access log %q, want %q", lines, want)
		}
	})

	t.Run("slow main request", func(t *testing.T) {
		app.hold("/third")
		c, br := dial(t)
		send(t, c, "/third")
		// The mirrors reach their backends while the main request's is
		// held: they start beside the content handler, not after it.
		arrived(t, "app /third", "shadow1 /third", "shadow2 /third")
		app.release("/third")
		if code, body := readAnswer(t, c, br); code != 200 || body != "app GET /third\n" {
			t.Fatalf("answer %d %q, want 200 from app", code, body)
		}
	})
}

// TestMirrorUpgrade: an upgrade request is mirrored too, as nginx 1.22.1
// does (the mirror reaches its backend while the upgraded connection is
// open), but the mirror does not ask for the upgrade: it could not take
// the client's connection over (nginx's subrequest sends no Upgrade
// either). $http_upgrade still reads the client's field there.
func TestMirrorUpgrade(t *testing.T) {
	switched := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	mainHeads, shadowHeads := make(chan []string, 4), make(chan []string, 4)
	app := upgradeBackend(t, switched, mainHeads)
	shadow := upgradeBackend(t, switched, shadowHeads)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; proxy_pass http://%[1]s; }
        location = /m { internal; proxy_set_header X-Up $http_upgrade; proxy_pass http://%[2]s$request_uri; }
    }
}`, app, shadow), 1)
	c, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("answer %v (%v), want 101", resp, err)
	}
	<-mainHeads
	var head []string
	select {
	case head = <-shadowHeads:
	case <-time.After(5 * time.Second):
		t.Fatal("the mirror never reached its backend")
	}
	if slices.ContainsFunc(head, func(l string) bool { return strings.HasPrefix(strings.ToLower(l), "upgrade:") }) {
		t.Errorf("the mirror asked for an upgrade: %q", head)
	}
	if !slices.Contains(head, "X-Up: websocket") {
		t.Errorf("the mirror's head %q has no X-Up: websocket", head)
	}
	if in.logged("cannot take over") {
		t.Errorf("fulcrum logged an upgrade failure: %q", in.logLines())
	}
}

// TestMirrorHTTP2: on HTTP/2 too the mirrors run beside each other, and the
// stream ends while they are held, as nginx 1.22.1's does (checked with curl
// --http2 and a chunked answer): the client has its whole answer, END_STREAM
// included; the request is logged once the mirrors are done.
func TestMirrorHTTP2(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	certDir := t.TempDir()
	cert, key := testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	events := &eventLog{}
	app := startGateBackend(t, "app", events)
	shadow1 := startGateBackend(t, "shadow1", events)
	shadow2 := startGateBackend(t, "shadow2", events)
	conf := strings.NewReplacer("APP", app.addr(), "SHADOW1", shadow1.addr(), "SHADOW2", shadow2.addr(),
		"listen 127.0.0.1:0;", fmt.Sprintf("listen 127.0.0.1:0 ssl http2; ssl_certificate %s; ssl_certificate_key %s;", cert, key)).Replace(mirrorGateConf)
	in := startFulcrum(t, conf, 1)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}

	if err := os.WriteFile(filepath.Join(in.dir, "static.txt"), []byte("a static file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(in.dir, "access.log")
	tests := []struct{ target, want string }{
		{"/h2", "app GET /h2\n"},           // proxied
		{"/static.txt", "a static file\n"}, // fulcrum's own answer
	}
	for i, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			shadow1.hold(tt.target)
			shadow2.hold(tt.target)
			resp, err := client.Get("https://" + in.listening()[0] + tt.target)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(resp.Body, got); err != nil || resp.ProtoMajor != 2 || string(got) != tt.want {
				t.Fatalf("%s answer %q (%v) while the mirrors are held, want %q", resp.Proto, got, err, tt.want)
			}
			waitFor(t, "both mirrors to arrive", func() bool {
				return events.index("shadow1 "+tt.target) >= 0 && events.index("shadow2 "+tt.target) >= 0
			})
			if lines := readLines(logPath); len(lines) != i {
				t.Fatalf("logged %q before the mirrors ended", lines)
			}
			if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
				t.Errorf("after the body, with the mirrors held: %q, %v; want the end of the stream", rest, err)
			}
			if lines := readLines(logPath); len(lines) != i {
				t.Fatalf("logged %q before the mirrors ended", lines)
			}
			shadow1.release(tt.target)
			shadow2.release(tt.target)
			if lines := waitLines(t, logPath, i+1); lines[i] != "GET "+tt.target+" HTTP/2.0 200" {
				t.Errorf("access log %q", lines)
			}
		})
	}
}

// TestMirrorStop: a stop with a mirror subrequest in flight, as nginx 1.22.1
// does it (recorded with a mirror backend that answers after 3 s): a fast
// stop (SIGTERM) ends the process at once (nginx: 0.02 s) and cuts the
// mirror's upstream connection; a graceful stop (SIGQUIT) waits for the
// mirror to finish (nginx exited 2.6 s after the signal, once the mirror's
// backend answered).
func TestMirrorStop(t *testing.T) {
	tests := []struct {
		name     string
		sig      syscall.Signal
		graceful bool
	}{
		{"fast", syscall.SIGTERM, false},
		{"graceful", syscall.SIGQUIT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived, cut := make(chan struct{}, 1), make(chan struct{}, 1)
			release := make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-release:
					io.WriteString(w, "mirrored\n")
				case <-r.Context().Done():
					cut <- struct{}{} // fulcrum closed the mirror's connection
				}
			}))
			t.Cleanup(shadow.Close)
			t.Cleanup(free)
			app := startBackend(t, "app")
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; proxy_pass http://%s; }
        location = /m { internal; proxy_pass http://%s$request_uri; }
    }
}`, app.addr(), shadow.Listener.Addr()), 1)
			c, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /x HTTP/1.1\r\nHost: test\r\n\r\n")
			// The answer comes while the mirror is held.
			if code, body := readAnswer(t, c, bufio.NewReader(c)); code != 200 || !strings.HasPrefix(body, "app GET /x") {
				t.Fatalf("answer %d %q, want 200 from app", code, body)
			}
			select {
			case <-arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("the mirror never reached its backend")
			}
			in.signal(tt.sig)
			if !tt.graceful {
				select {
				case <-in.exited:
				case <-time.After(time.Second):
					t.Fatal("a fast stop waited for the mirror in flight")
				}
				select {
				case <-cut:
				case <-time.After(time.Second):
					t.Error("the mirror's upstream connection was not cut")
				}
				return
			}
			waitFor(t, "graceful shutdown to start", func() bool { return in.logged("gracefully shutting down") })
			select {
			case <-in.exited:
				t.Fatal("a graceful stop did not wait for the mirror in flight")
			case <-time.After(300 * time.Millisecond):
			}
			free()
			select {
			case <-in.exited:
			case <-time.After(2 * time.Second):
				t.Fatal("fulcrum did not exit once the mirror finished")
			}
		})
	}
}

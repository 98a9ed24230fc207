package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// includeBackend is an upstream for SSI includes: each request to
// /NAME answers "<NAME>" once its handler lets it (hold), and the backend
// keeps the order in which requests came and were answered.
type includeBackend struct {
	addr string
	// hold decides when the request to name may answer: it returns when
	// it may, or false to answer "late" (the barrier did not open).
	hold func(name string) bool

	mu      sync.Mutex // guards events and arrived
	events  []string   // "arrive NAME", "answer NAME", "gone NAME"
	arrived map[string]chan struct{}
}

// newIncludeBackend starts an includeBackend.
func newIncludeBackend(t *testing.T, hold func(b *includeBackend, name string, r *http.Request) bool) *includeBackend {
	t.Helper()
	b := &includeBackend{arrived: map[string]chan struct{}{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		b.event("arrive " + name)
		close(b.arrival(name))
		if !hold(b, name, r) {
			if r.Context().Err() != nil {
				b.event("gone " + name)
				return
			}
			fmt.Fprintf(w, "<late %s>", name)
			return
		}
		b.event("answer " + name)
		defer close(b.arrival("answered " + name))
		w.Header().Set("Content-Type", "text/plain")
		if name == "big" {
			w.Write(bytes.Repeat([]byte("b"), 1<<20))
			return
		}
		fmt.Fprintf(w, "<%s>", name)
	}))
	t.Cleanup(srv.Close)
	b.addr = srv.Listener.Addr().String()
	return b
}

func (b *includeBackend) event(e string) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

// arrival is the channel closed when the request to name arrived (once
// per name in these tests), or, for "answered NAME", was answered.
func (b *includeBackend) arrival(name string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.arrived[name]
	if !ok {
		c = make(chan struct{})
		b.arrived[name] = c
	}
	return c
}

// waitArrived waits for the requests to names, up to the barrier's
// deadline: false when one did not come.
func (b *includeBackend) waitArrived(names ...string) bool {
	deadline := time.After(5 * time.Second)
	for _, n := range names {
		select {
		case <-b.arrival(n):
		case <-deadline:
			return false
		}
	}
	return true
}

// log returns the backend's events so far.
func (b *includeBackend) log() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.events...)
}

// ssiPages writes pages into dir/root and starts fulcrum serving them with
// ssi on, /b/ proxied to the backend, /down/ to a closed port.
func ssiPages(t *testing.T, backend string, pages map[string]string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range pages {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	return startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location / { ssi on; }
        location /b/ { proxy_pass http://%s/; proxy_read_timeout 20s; }
        location /down/ { proxy_pass http://%s/; }
        %s
    }`, root, backend, down, extra))
}

// TestSSIIncludesRunAtOnce: a page's includes without wait run at once,
// as nginx 1.22.1 starts every include's subrequest as it parses the page
// (recorded: two includes of a location whose backend answers after 1 s
// take 1.0 s, three 1.0 s), and their output goes out in the page's
// order whatever order they end in. The backend answers only once every
// include's request arrived, and the later one first: one at a time (as
// fulcrum ran them before), the first waits for a second that never comes
// and answers "late".
func TestSSIIncludesRunAtOnce(t *testing.T) {
	cases := []struct {
		name  string
		page  string
		names []string // the requests the barrier waits for
		want  string
	}{
		{"two", `A<!--#include virtual="/b/one" -->B<!--#include virtual="/b/two" -->C`,
			[]string{"one", "two"}, "A<one>B<two>C"},
		{"three", `<!--#include virtual="/b/one" -->|<!--#include virtual="/b/two" -->|<!--#include virtual="/b/three" -->|`,
			[]string{"one", "two", "three"}, "<one>|<two>|<three>|"},
		// nginx: a waited include runs beside the includes before it
		// (recorded: /a without wait, then /b with wait="yes", both
		// arrived at once)
		{"waited after", `<!--#include virtual="/b/one" -->|<!--#include virtual="/b/two" wait="yes" -->|`,
			[]string{"one", "two"}, "<one>|<two>|"},
		// set= too (recorded)
		{"set after", `<!--#include virtual="/b/one" -->|<!--#include virtual="/b/two" set="v" -->[<!--#echo var="v" -->]`,
			[]string{"one", "two"}, "<one>|[&lt;two&gt;]"},
		// nested: the included page's includes run beside the page's
		// next one (recorded: all three at once)
		{"nested", `<!--#include virtual="/inner.html" -->|<!--#include virtual="/b/three" -->|`,
			[]string{"one", "two", "three"}, "(<one>-<two>)|<three>|"},
		// if/elif around includes: the branch taken's include and the
		// one after it at once (recorded)
		{"if", `<!--#if expr="$arg_x" --><!--#include virtual="/b/one" --><!--#else -->no<!--#endif -->|<!--#include virtual="/b/two" -->`,
			[]string{"one", "two"}, "<one>|<two>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b *includeBackend
			b = newIncludeBackend(t, func(b *includeBackend, name string, r *http.Request) bool {
				if !b.waitArrived(c.names...) {
					return false
				}
				// the first include answers last
				if name == c.names[0] {
					return b.waitAnswered(c.names[1])
				}
				return true
			})
			addr := ssiPages(t, b.addr, map[string]string{
				"page.html":  c.page,
				"inner.html": `(<!--#include virtual="/b/one" -->-<!--#include virtual="/b/two" -->)`,
			}, "")
			if got := getBody(t, addr, "/page.html?x=1"); got != c.want {
				t.Errorf("got %q, want %q (backend: %v)", got, c.want, b.log())
			}
		})
	}
}

// waitAnswered waits until the request to name was answered (its
// handler returned), up to the barrier's deadline.
func (b *includeBackend) waitAnswered(name string) bool {
	return b.waitArrived("answered " + name)
}

// TestSSIWaitedIncludeRunsAlone: an include with wait="yes" (and file=,
// which waits too) holds the page until it ended: the include after it
// starts only then, as nginx 1.22.1's (recorded: the second request
// arrived 0.5 s after the first, when the first was answered).
func TestSSIWaitedIncludeRunsAlone(t *testing.T) {
	for _, page := range []string{
		`<!--#include virtual="/b/one" wait="yes" -->|<!--#include virtual="/b/two" -->|`,
		`<!--#include file="/b/one" -->|<!--#include virtual="/b/two" -->|`,
		`<!--#include virtual="/b/one" set="v" --><!--#echo var="v" encoding="none" -->|<!--#include virtual="/b/two" -->|`,
	} {
		b := newIncludeBackend(t, func(b *includeBackend, name string, r *http.Request) bool { return true })
		addr := ssiPages(t, b.addr, map[string]string{"page.html": page}, "")
		if got, want := getBody(t, addr, "/page.html"), "<one>|<two>|"; got != want {
			t.Errorf("%s: got %q, want %q", page, got, want)
		}
		want := []string{"arrive one", "answer one", "arrive two", "answer two"}
		if got := b.log(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: backend saw %v, want %v", page, got, want)
		}
	}
}

// TestSSIIncludeErrorsInOrder: includes that fail (a missing file, an
// upstream that refuses the connection, an upstream's 502) put their
// error pages in their places while the others still run at once, as
// nginx 1.22.1 (recorded, with nginx's name in the pages), and a stub
// replaces a failed one.
func TestSSIIncludeErrorsInOrder(t *testing.T) {
	b := newIncludeBackend(t, func(b *includeBackend, name string, r *http.Request) bool {
		return b.waitArrived("one", "two")
	})
	addr := ssiPages(t, b.addr, map[string]string{
		"page.html": `1<!--#include virtual="/missing" -->2<!--#include virtual="/down/x" -->3<!--#include virtual="/b/one" -->` +
			`<!--#block name="s" -->STUB<!--#endblock -->4<!--#include virtual="/nothere" stub="s" -->5<!--#include virtual="/b/two" stub="s" -->6`,
	}, "")
	got := getBody(t, addr, "/page.html")
	for _, want := range []string{"1<html>", "404 Not Found", "2<html>", "502 Bad Gateway", "3<one>4STUB5<two>6"} {
		if !strings.Contains(got, want) {
			t.Errorf("page %q lacks %q", got, want)
		}
	}
	if i, j := strings.Index(got, "404"), strings.Index(got, "502"); i < 0 || j < i {
		t.Errorf("error pages out of order: %q", got)
	}
}

// TestSSIBigIncludeKeptInOrder: an include whose output is larger than
// what is kept in memory (1 MiB), ending before the one before it, goes
// out whole after it: its bytes wait in a temporary file, as nginx's
// upstream buffers it to a temporary file (recorded: "an upstream
// response is buffered to a temporary file", the page whole).
func TestSSIBigIncludeKeptInOrder(t *testing.T) {
	b := newIncludeBackend(t, func(b *includeBackend, name string, r *http.Request) bool {
		if name == "one" {
			return b.waitAnswered("big")
		}
		return true
	})
	addr := ssiPages(t, b.addr, map[string]string{
		"page.html": `<!--#include virtual="/b/one" -->|<!--#include virtual="/b/big" -->|`,
	}, "")
	want := "<one>|" + strings.Repeat("b", 1<<20) + "|"
	if got := getBody(t, addr, "/page.html"); got != want {
		t.Errorf("got %d bytes (starting %.20q), want %d", len(got), got, len(want))
	}
}

// TestSSIClientGoneEndsIncludes: a client that goes away while a page's
// includes run ends them: their upstream requests are closed, and no
// include's goroutine is left, as nginx closes the subrequests' upstream
// connections (recorded: "epoll_wait() reported that client prematurely
// closed connection, so upstream connection is closed too"), and the page
// is logged 499 as nginx logs it (fulcrum logged 200 before).
func TestSSIClientGoneEndsIncludes(t *testing.T) {
	b := newIncludeBackend(t, func(b *includeBackend, name string, r *http.Request) bool {
		<-r.Context().Done() // never answers: the proxy must give up
		return false
	})
	accessLog := filepath.Join(t.TempDir(), "access.log")
	addr := ssiPages(t, b.addr, map[string]string{
		"page.html": `A<!--#include virtual="/b/one" -->B<!--#include virtual="/b/two" -->C`,
	}, "access_log "+accessLog+";")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/page.html", nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	if !b.waitArrived("one", "two") {
		t.Fatalf("the includes did not both start: %v", b.log())
	}
	cancel()
	<-done
	deadline := time.Now().Add(10 * time.Second)
	for {
		gone := 0
		for _, e := range b.log() {
			if strings.HasPrefix(e, "gone ") {
				gone++
			}
		}
		running := includeGoroutines()
		logged, _ := os.ReadFile(accessLog)
		if gone == 2 && running == 0 && strings.Contains(string(logged), `"GET /page.html HTTP/1.1" 499 `) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the client left: backend %v, %d include goroutines left, access log %q (want the page logged 499)", b.log(), running, logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// includeGoroutines counts the goroutines running an SSI include.
func includeGoroutines() int {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 2)
	return strings.Count(buf.String(), "(*startedInclude).run(")
}

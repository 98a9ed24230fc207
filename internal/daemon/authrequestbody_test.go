package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestAuthRequestAnnouncesLength checks what an auth_request subrequest of
// a request with a body sends, as nginx 1.22.1 does (recorded with a
// backend that prints the request head, through an upstream with
// keepalive): "GET" with the client's "Content-Length: 20" and no body; a
// chunked body announces no length and no framing. The connection of an
// announced length is closed after the answer, never reused (nginx kept it
// alive: the server could take the next request for the body); one without
// stays reusable.
func TestAuthRequestAnnouncesLength(t *testing.T) {
	rec, auth := startHeadRecorder(t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	main := httptest.NewServer(&recordingBackend{name: "main"})
	t.Cleanup(main.Close)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    upstream auth { server %[2]s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / { auth_request /auth; proxy_pass http://%[1]s; }
        location = /auth { internal; proxy_pass http://auth; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }`, main.Listener.Addr(), auth))
	send := func(method, path string, body io.Reader) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, body)
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
			t.Fatalf("%s %s: answer %d %q, want 200 ok-main", method, path, resp.StatusCode, got)
		}
	}
	send("POST", "/a", strings.NewReader("01234567890123456789"))
	send("POST", "/b", io.MultiReader(strings.NewReader("01234567890123456789"))) // chunked
	send("GET", "/c", nil)
	send("POST", "/d", strings.NewReader("abc"))
	got := rec.wait(4)
	want := []announcedHead{
		{line: "GET /auth", length: "20"},
		{line: "GET /auth"},
		{line: "GET /auth"},
		{line: "GET /auth", length: "3"},
	}
	if len(got) != len(want) {
		t.Fatalf("the auth backend saw %+v, want %d requests", got, len(want))
	}
	byConn := map[int][]int{}
	for i, h := range got {
		if h.open {
			t.Errorf("request %d: %q announced Content-Length %q and its connection stayed open", i, h.line, h.length)
		}
		if h.line != want[i].line || h.length != want[i].length || h.te != "" || h.after != "" {
			t.Errorf("request %d: %q, Content-Length %q, Transfer-Encoding %q, then %q on its connection; want %q, %q, none, nothing",
				i, h.line, h.length, h.te, h.after, want[i].line, want[i].length)
		}
		byConn[h.conn] = append(byConn[h.conn], i)
	}
	for _, reqs := range byConn {
		if len(reqs) > 1 && slices.ContainsFunc(reqs[:len(reqs)-1], func(i int) bool { return got[i].length != "" }) {
			t.Errorf("requests %v shared a connection after an announced length: it must close", reqs)
		}
	}
}

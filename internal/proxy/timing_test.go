package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/vars"
)

// TestBodyWithHeadEndsAtHeadTime: a body that arrived with the head ends
// when the head did, without another clock reading, so its
// $upstream_response_time is its $upstream_header_time (nginx's cached
// clock gives the two equal too). The clock here moves a millisecond per
// reading (from the real time: the connection deadlines follow it): any
// reading after the head's would show.
func TestBodyWithHeadEndsAtHeadTime(t *testing.T) {
	body := []byte("Hello, World!")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body) // buffered with the head: one write
	}))
	t.Cleanup(backend.Close)
	clock := time.Now()
	now := func() time.Time {
		clock = clock.Add(time.Millisecond)
		return clock
	}
	h := handlerWithClock(t, backend.Listener.Addr().String(), now)
	for i := range 2 { // a new connection, then a reused one
		in := httptest.NewRequest(http.MethodGet, "http://test.example/small", nil)
		in.RemoteAddr = "127.0.0.1:40000"
		w := &discardWriter{}
		st := &vars.State{}
		fillState(st, in)
		h.ServeHTTP(w, in, st)
		if w.status != http.StatusOK || w.n != len(body) {
			t.Fatalf("request %d: got %d with %d bytes, want 200 with %d", i, w.status, w.n, len(body))
		}
		if len(st.Upstreams) != 1 {
			t.Fatalf("request %d: %d attempts, want 1", i, len(st.Upstreams))
		}
		a := st.Upstreams[0]
		if a.HeaderTime <= 0 || a.ResponseTime != a.HeaderTime {
			t.Errorf("request %d: response time %v, header time %v: want equal and positive", i, a.ResponseTime, a.HeaderTime)
		}
	}
}

package memcached

import (
	"io"
	"net"
	"testing"
)

// TestIdleBytesDropConnection: a kept connection on which the server sent
// bytes while it was idle (a reply nobody asked for) is closed, not used:
// those bytes would be read as the next request's reply. nginx's keepalive
// close handler closes it on the read event (recorded with nginx 1.22.1
// and a server that sent a second reply 100 ms after each: every request
// got its own value).
func TestIdleBytesDropConnection(t *testing.T) {
	answered, sent := make(chan struct{}), make(chan struct{})
	srv := serve(t, func(key string, c net.Conn) bool {
		_, err := io.WriteString(c, "VALUE "+key+" 0 4\r\nreal\r\nEND\r\n")
		<-answered // the reply was read and the connection kept
		if err == nil {
			_, err = io.WriteString(c, "VALUE "+key+" 0 8\r\npoisoned\r\nEND\r\n")
		}
		sent <- struct{}{}
		return err == nil
	})
	f := newFixture(t, defaults(), 2, srv.settings())
	for i := range 3 {
		w, _ := f.do("GET", "/k", []byte("k"))
		answered <- struct{}{}
		<-sent // the unasked reply is in the kept connection's socket
		if w.Code != 200 || w.Body.String() != "real" {
			t.Errorf("request %d: %d %q, want 200 \"real\"", i, w.Code, w.Body)
		}
	}
	if got := srv.conns.Load(); got != 3 {
		t.Errorf("%d connections, want 3 (none reused after the unasked bytes)", got)
	}
}

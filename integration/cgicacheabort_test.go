package integration

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// startGatedCGI is startGatedBackend for a FastCGI, SCGI or uwsgi
// application (proto "fastcgi", "scgi" or "uwsgi"): it reads a request,
// tells its path's kind on arrived ("/body" or another), and answers a
// cacheable 10-byte 200 once the gate opens; a path ending in /body gets
// its head and 2 bytes first.
func startGatedCGI(t *testing.T, proto string) *gatedBackend {
	t.Helper()
	return newGatedBackend(t, func(b *gatedBackend, c net.Conn) { b.serveCGI(c, proto) })
}

// serveCGI answers one request of startGatedCGI's.
func (b *gatedBackend) serveCGI(c net.Conn, proto string) {
	defer c.Close()
	br := bufio.NewReader(c)
	raw, id, err := readCGIRequest(br, proto)
	if err != nil {
		return
	}
	out := func(p string) {
		if proto != "fastcgi" {
			io.WriteString(c, p)
			return
		}
		rec := []byte{1, 6, byte(id >> 8), byte(id), byte(len(p) >> 8), byte(len(p)), 0, 0}
		c.Write(append(rec, p...))
	}
	const head = "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nCache-Control: max-age=60\r\n\r\n"
	body := strings.Contains(raw, "/body")
	if body {
		out(head + "ab")
	}
	b.arrived <- raw
	<-b.gate
	if body {
		out("cdefghij")
	} else {
		out(head + "abcdefghij")
	}
	if proto == "fastcgi" {
		out("")
		c.Write([]byte{1, 3, byte(id >> 8), byte(id), 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	}
}

// readCGIRequest reads a request's parameters (and FastCGI's empty STDIN)
// and returns their bytes and FastCGI's request id.
func readCGIRequest(br *bufio.Reader, proto string) (string, uint16, error) {
	switch proto {
	case "scgi":
		var n int
		if _, err := fmt.Fscanf(br, "%d:", &n); err != nil {
			return "", 0, err
		}
		p := make([]byte, n+1)
		_, err := io.ReadFull(br, p)
		return string(p), 0, err
	case "uwsgi":
		var h [4]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return "", 0, err
		}
		p := make([]byte, binary.LittleEndian.Uint16(h[1:3]))
		_, err := io.ReadFull(br, p)
		return string(p), 0, err
	}
	var all []byte
	for {
		var h [8]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return "", 0, err
		}
		p := make([]byte, int(binary.BigEndian.Uint16(h[4:6]))+int(h[6]))
		if _, err := io.ReadFull(br, p); err != nil {
			return "", 0, err
		}
		all = append(all, p...)
		if h[1] == 5 && len(p) == 0 { // the empty STDIN ends the request
			return string(all), binary.BigEndian.Uint16(h[2:4]), nil
		}
	}
}

// TestCGICacheClientAbortLog: a client that goes away while fastcgi_cache
// (scgi_cache, uwsgi_cache) fetches a response to store does not stop the
// fetch, as nginx 1.22.1's upstream module (u->cacheable) and
// TestCacheClientAbortLog's proxy_cache. Recorded with nginx 1.22.1, a
// python FastCGI responder that answers after 2 s (or sends its head and
// half its body, then pauses 2 s) and a client that closes after 0.5 s:
// gone before the head, the request is logged 200 with no body and
// nothing is stored (the next request is a MISS), with "epoll_wait()
// reported that client prematurely closed connection while sending request
// to upstream" (no "so upstream connection is closed too"); gone while the
// body streams, the body is read whole and stored (the next request is a
// HIT), with "... while reading upstream". A client gone while waiting on
// the cache lock is not watched: no line, the entry answers the next one.
func TestCGICacheClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, proto := range []string{"fastcgi", "scgi", "uwsgi"} {
		for _, tt := range cacheAborts {
			t.Run(proto+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				b := startGatedCGI(t, proto)
				in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status $body_bytes_sent $upstream_cache_status';
    access_log %%DIR%%/access.log st buffer=0;
    %[1]s_cache_path %%DIR%%/cache keys_zone=c:1m;
    server {
        listen 127.0.0.1:0;
        location /p/ {
            %[1]s_cache c;
            %[1]s_cache_key $uri;
            %[1]s_cache_lock on;
            %[1]s_param REQUEST_URI $request_uri;
            %[1]s_pass %[2]s;
        }
    }
}`, proto, b.ln.Addr()), 1)
				cacheAbortCase(t, in, b, tt, proto+"://"+b.ln.Addr().String())
			})
		}
	}
}

package daemon_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestResponseHeadLimit checks proxy_buffer_size, fastcgi_buffer_size,
// scgi_buffer_size and uwsgi_buffer_size against what nginx 1.22.1 did with
// the same backends (a head of exactly N bytes, N from the request's
// "/hN"): a head that fits the buffer passes, one byte more is "upstream
// sent too big header while reading response header from upstream" at
// error, a 502, and an invalid_header failure: it disables the server
// (max_fails=1) and goes to the next one only when *_next_upstream lists
// invalid_header ($upstream_status "502, 502"). FastCGI's records share
// nginx's buffer: their 8-byte headers and padding count, so one record
// holds a head of 4088 bytes and two records 4080 (4073 with 7 bytes of
// padding between them); a STDERR record that came before, alone, does not
// count (nginx empties its buffer after logging it).
func TestResponseHeadLimit(t *testing.T) {
	dir := t.TempDir()
	p := [2]string{headBackend(t, "http"), headBackend(t, "http")}
	f := [2]string{headBackend(t, "fastcgi"), headBackend(t, "fastcgi")}
	s := [2]string{headBackend(t, "scgi"), headBackend(t, "scgi")}
	w := [2]string{headBackend(t, "uwsgi"), headBackend(t, "uwsgi")}
	var ups strings.Builder
	for _, g := range []struct {
		name string
		addr [2]string
	}{{"p", p}, {"f", f}, {"s", s}, {"w", w}} {
		// One server that never fails for the limits, two that fail
		// for the retries (with and without invalid_header).
		fmt.Fprintf(&ups, "upstream %s_one { server %s max_fails=0; }\n", g.name, g.addr[0])
		fmt.Fprintf(&ups, "upstream %s_next { server %s; server %s; }\n", g.name, g.addr[0], g.addr[1])
		fmt.Fprintf(&ups, "upstream %s_stop { server %s; server %s; }\n", g.name, g.addr[0], g.addr[1])
	}
	addr := startDaemon(t, dir, ups.String()+`
    log_format t 'uri=$request_uri status=$status us=$upstream_status';
    access_log `+filepath.Join(dir, "access.log")+` t buffer=0;
    fastcgi_param REQUEST_URI $request_uri;
    scgi_param REQUEST_URI $request_uri;
    uwsgi_param REQUEST_URI $request_uri;
    server {
        listen 127.0.0.1:0;
        location /p/ { proxy_pass http://p_one; }
        location /p8/ { proxy_pass http://p_one; proxy_buffer_size 8k; }
        location /p64/ { proxy_pass http://p_one; proxy_buffer_size 64k; proxy_buffers 8 64k; }
        location /pn/ { proxy_pass http://p_next; proxy_next_upstream invalid_header; }
        location /ps/ { proxy_pass http://p_stop; }
        location /f/ { fastcgi_pass f_one; }
        location /f8/ { fastcgi_pass f_one; fastcgi_buffer_size 8k; }
        location /fn/ { fastcgi_pass f_next; fastcgi_next_upstream invalid_header; }
        location /fs/ { fastcgi_pass f_stop; }
        location /s/ { scgi_pass s_one; }
        location /s8/ { scgi_pass s_one; scgi_buffer_size 8k; }
        location /sn/ { scgi_pass s_next; scgi_next_upstream invalid_header; }
        location /w/ { uwsgi_pass w_one; }
        location /w8/ { uwsgi_pass w_one; uwsgi_buffer_size 8k; }
        location /wn/ { uwsgi_pass w_next; uwsgi_next_upstream invalid_header; }
    }`)
	tests := []struct {
		uri      string
		status   int
		upstream string // the upstream's part of the log line, "" for a 200
		us       string // $upstream_status
		tries    int    // how many attempts failed, each logged
		disabled int    // how many of them disabled their server (max_fails=1)
	}{
		{"/p/h4096", 200, "", "200", 0, 0},
		{"/p/h4097", 502, `http://` + p[0] + `/p/h4097`, "502", 1, 0},
		{"/p8/h8192", 200, "", "200", 0, 0},
		{"/p8/h8193", 502, `http://` + p[0] + `/p8/h8193`, "502", 1, 0},
		{"/p64/h65536", 200, "", "200", 0, 0},
		{"/p64/h65537", 502, `http://` + p[0] + `/p64/h65537`, "502", 1, 0},
		{"/pn/h4097", 502, `http://127.0.0.1:`, "502, 502", 2, 2},
		{"/ps/h4097", 502, `http://127.0.0.1:`, "502", 1, 1},
		{"/f/h4088", 200, "", "200", 0, 0},
		{"/f/h4089", 502, `fastcgi://` + f[0], "502", 1, 0},
		{"/f/h4080r2000", 200, "", "200", 0, 0},
		{"/f/h4081r2000", 502, `fastcgi://` + f[0], "502", 1, 0},
		{"/f/h4073r2000p7", 200, "", "200", 0, 0},
		{"/f/h4074r2000p7", 502, `fastcgi://` + f[0], "502", 1, 0},
		{"/f/h4088e100", 200, "", "200", 0, 0},
		{"/f/h4089e100", 502, `fastcgi://` + f[0], "502", 1, 0},
		{"/f8/h8184", 200, "", "200", 0, 0},
		{"/f8/h8185", 502, `fastcgi://` + f[0], "502", 1, 0},
		{"/fn/h4089", 502, `fastcgi://127.0.0.1:`, "502, 502", 2, 2},
		{"/fs/h4089", 502, `fastcgi://127.0.0.1:`, "502", 1, 1},
		{"/s/h4096", 200, "", "200", 0, 0},
		{"/s/h4097", 502, `scgi://` + s[0], "502", 1, 0},
		{"/s8/h8192", 200, "", "200", 0, 0},
		{"/s8/h8193", 502, `scgi://` + s[0], "502", 1, 0},
		{"/sn/h4097", 502, `scgi://127.0.0.1:`, "502, 502", 2, 2},
		{"/w/h4096", 200, "", "200", 0, 0},
		{"/w/h4097", 502, `uwsgi://` + w[0], "502", 1, 0},
		{"/w8/h8192", 200, "", "200", 0, 0},
		{"/w8/h8193", 502, `uwsgi://` + w[0], "502", 1, 0},
		{"/wn/h4097", 502, `uwsgi://127.0.0.1:`, "502, 502", 2, 2},
	}
	errorLog, accessLog := filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	for _, tt := range tests {
		resp, body := fetchWith(t, "GET", "http://"+addr+tt.uri)
		if resp.StatusCode != tt.status || tt.status == 200 && string(body) != "ok" {
			t.Errorf("%s: %d %q, want %d", tt.uri, resp.StatusCode, body, tt.status)
		}
		logs, _ := os.ReadFile(errorLog)
		request := fmt.Sprintf(`client: 127.0.0.1, server: , request: "GET %s HTTP/1.1", upstream: "%s`, tt.uri, tt.upstream)
		tooBig := `\[error\] .* upstream sent too big header while reading response header from upstream, ` + regexp.QuoteMeta(request)
		disabled := `\[warn\] .* upstream server temporarily disabled while reading response header from upstream, ` + regexp.QuoteMeta(request)
		if tt.status == 200 {
			tooBig = `too big header.*` + regexp.QuoteMeta(fmt.Sprintf(`request: "GET %s HTTP/1.1"`, tt.uri))
		}
		if n := countLines(logs, tooBig); n != tt.tries {
			t.Errorf("%s: %d lines with %q, want %d:\n%s", tt.uri, n, tooBig, tt.tries, logs)
		}
		if n := countLines(logs, disabled); tt.status != 200 && n != tt.disabled {
			t.Errorf("%s: %d lines with %q, want %d", tt.uri, n, disabled, tt.disabled)
		}
	}
	// The access log is written in batches: its lines are checked at the end.
	lines := waitLogLines(t, accessLog, len(tests))
	for i, tt := range tests {
		if want := fmt.Sprintf("uri=%s status=%d us=%s", tt.uri, tt.status, tt.us); lines[i] != want {
			t.Errorf("access log line %d: %q, want %q", i, lines[i], want)
		}
	}
}

// countLines counts the lines of logs that match the regular expression re.
func countLines(logs []byte, re string) int {
	return len(regexp.MustCompile(re).FindAll(logs, -1))
}

// headURI finds "/hN" in a request, and for FastCGI "rM" (the head split
// into two STDOUT records after M bytes), "pP" (P bytes of padding after the
// first) and "eE" (a STDERR record of E bytes before them).
var headURI = regexp.MustCompile(`/h(\d+)(?:r(\d+))?(?:p(\d+))?(?:e(\d+))?`)

// headBackend is a backend of protocol proto ("http", "fastcgi", "scgi",
// "uwsgi") that answers every request with a response head of exactly N
// bytes (its padding in one X-Fill field) and the body "ok", N taken from the
// "/hN" in the request, and closes the connection.
func headBackend(t *testing.T, proto string) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		m := readHeadRequest(c, proto)
		if m == nil {
			return
		}
		n, _ := strconv.Atoi(string(m[1]))
		first := "Status: 200 OK\r\n"
		if proto == "http" {
			first = "HTTP/1.1 200 OK\r\n"
		}
		const tail = "Content-Length: 2\r\nConnection: close\r\n\r\n"
		pad := n - len(first) - len(tail) - len("X-Fill: \r\n")
		out := []byte(first + "X-Fill: " + strings.Repeat("a", pad) + "\r\n" + tail + "ok")
		if proto == "fastcgi" {
			out = fcgiStdout(out, atoi(m[2]), atoi(m[3]), atoi(m[4]))
		}
		c.Write(out)
	})
}

// readHeadRequest reads one whole request of proto from c and returns the
// match of headURI in it (nil when the connection ended first).
func readHeadRequest(c net.Conn, proto string) [][]byte {
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if whole(buf, proto) {
			return headURI.FindSubmatch(buf)
		}
		if err != nil {
			return nil
		}
	}
}

// whole reports whether b holds a whole request of proto without a body.
func whole(b []byte, proto string) bool {
	switch proto {
	case "http":
		return bytes.Contains(b, []byte("\r\n\r\n"))
	case "fastcgi": // the empty STDIN record ends it
		return bytes.Contains(b, []byte{1, 5, 0, 1, 0, 0})
	case "scgi": // a netstring: "LEN:" LEN bytes ","
		i := bytes.IndexByte(b, ':')
		n, err := strconv.Atoi(string(b[:max(i, 0)]))
		return i > 0 && err == nil && len(b) >= i+1+n+1
	case "uwsgi": // a 4-byte header with the size of the variables
		return len(b) >= 4 && len(b) >= 4+int(binary.LittleEndian.Uint16(b[1:3]))
	}
	return false
}

// fcgiStdout frames out as FastCGI records: a STDERR record of stderr bytes
// first when stderr > 0, STDOUT (two records when split > 0, the first of
// split bytes and pad bytes of padding), the stream's end and END_REQUEST.
func fcgiStdout(out []byte, split, pad, stderr int) []byte {
	rec := func(typ byte, content []byte, pad int) []byte {
		h := []byte{1, typ, 0, 1, 0, 0, byte(pad), 0}
		binary.BigEndian.PutUint16(h[4:], uint16(len(content)))
		return append(append(h, content...), make([]byte, pad)...)
	}
	var b []byte
	if stderr > 0 {
		b = rec(7, bytes.Repeat([]byte("e"), stderr), 0)
	}
	if split > 0 {
		b = append(b, rec(6, out[:split], pad)...)
		b = append(b, rec(6, out[split:], 0)...)
	} else {
		b = append(b, rec(6, out, 0)...)
	}
	b = append(b, rec(6, nil, 0)...)
	return append(b, rec(3, make([]byte, 8), 0)...)
}

// atoi reads a number matched in a request; none is 0.
func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

// TestCachedBigHead: a head the location's proxy_buffer_size let through is
// served again from the cache, its long field line included.
func TestCachedBigHead(t *testing.T) {
	dir := t.TempDir()
	backend := headBackend(t, "http")
	addr := startDaemon(t, dir, `
    proxy_cache_path `+filepath.Join(dir, "cache")+` keys_zone=big:1m;
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://`+backend+`;
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_cache big;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
        }
    }`)
	for _, want := range []string{"MISS", "HIT"} {
		resp, body := fetchWith(t, "GET", "http://"+addr+"/h12000")
		if resp.StatusCode != 200 || string(body) != "ok" || resp.Header.Get("X-Cache") != want || len(resp.Header.Get("X-Fill")) < 11000 {
			t.Errorf("%d %q %q, want 200 ok %s with X-Fill", resp.StatusCode, body, resp.Header.Get("X-Cache"), want)
		}
	}
}

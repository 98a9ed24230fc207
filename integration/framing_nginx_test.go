package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// This file checks how fulcrum frames a response body (Content-Length,
// chunked, or the connection's close) for each kind of handler, with rows
// recorded from nginx 1.22.1 on the same configuration and backends. nginx
// sends a Content-Length only when the handler knew the length before the
// head went out (headers_out.content_length_n), else chunked to an HTTP/1.1
// client and up to the close to an HTTP/1.0 one, however short the body.
// The same table runs against nginx itself:
//
//	go test -tags nginxdiff -count=1 -run TestFramingLikeNginx ./integration/

// framingBody is the body the framing backends send for a size: "small"
// fits one buffer, "big" takes several.
func framingBody(size string) []byte {
	n := 100
	if size == "big" {
		n = 100000
	}
	return []byte(strings.Repeat("0123456789", n/10))
}

// framingPath finds the framing a backend is asked for in what it read:
// "cl" (with a length), "nocl" (without), "ch" (HTTP chunked), "close"
// (HTTP/1.0, up to the close), "gz" (gzip-compressed, with a length), and
// the size.
var framingPath = regexp.MustCompile(`/(nocl|cl|ch|close|gz)/(small|big)`)

// startFramingHTTP starts an HTTP backend answering /KIND/SIZE as
// framingPath says; a Range header on a "cl" path gets a 206 with that range
// (for slice).
func startFramingHTTP(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			m := framingPath.FindStringSubmatch(req.URL.Path)
			if m == nil {
				io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
				continue
			}
			body := framingBody(m[2])
			head := req.Method == http.MethodHead
			switch m[1] {
			case "cl", "nocl":
				status := "200 OK"
				if r := req.Header.Get("Range"); r != "" {
					var from, to int
					fmt.Sscanf(r, "bytes=%d-%d", &from, &to)
					to = min(to, len(body)-1)
					status = fmt.Sprintf("206 Partial Content\r\nContent-Range: bytes %d-%d/%d", from, to, len(body))
					body = body[from : to+1]
				}
				fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", status, len(body))
				if !head {
					c.Write(body)
				}
			case "gz":
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write(body)
				zw.Close()
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", z.Len())
				if !head {
					c.Write(z.Bytes())
				}
			case "ch":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
				if head {
					continue
				}
				for len(body) > 0 {
					n := min(len(body), 8192)
					fmt.Fprintf(c, "%x\r\n%s\r\n", n, body[:n])
					body = body[n:]
				}
				io.WriteString(c, "0\r\n\r\n")
			case "close":
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
				if !head {
					c.Write(body)
				}
				return
			}
		}
	})
}

// framingHead is the CGI-style head the FastCGI, SCGI and uwsgi backends
// send: a Content-Length for "cl", none for "nocl".
func framingHead(kind string, body []byte) string {
	h := "Content-Type: text/plain\r\n"
	if kind == "cl" {
		h += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	return h + "\r\n"
}

// startFramingFCGI starts a FastCGI backend: one request per connection,
// answered as framingPath says in records of at most 8000 bytes.
func startFramingFCGI(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var params []byte
		for {
			var hdr [8]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint16(hdr[4:6])) + int(hdr[6])
			content := make([]byte, n)
			if _, err := io.ReadFull(br, content); err != nil {
				return
			}
			params = append(params, content...)
			if hdr[1] == 5 && n == 0 { // the empty FCGI_STDIN
				break
			}
		}
		m := framingPath.FindSubmatch(params)
		if m == nil {
			return
		}
		body := framingBody(string(m[2]))
		out := append([]byte(framingHead(string(m[1]), body)), body...)
		w := bufio.NewWriter(c)
		for len(out) > 0 {
			n := min(len(out), 8000)
			w.Write([]byte{1, 6, 0, 1, byte(n >> 8), byte(n), 0, 0})
			w.Write(out[:n])
			out = out[n:]
		}
		w.Write([]byte{1, 6, 0, 1, 0, 0, 0, 0})
		w.Write([]byte{1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
		w.Flush()
	})
}

// startFramingCGI starts an SCGI or uwsgi backend: it reads the request's
// variables (a netstring, or uwsgi's 4-byte header and block), answers as
// framingPath says and closes, which ends a body without a length.
func startFramingCGI(t *testing.T, uwsgi bool) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var vars []byte
		if uwsgi {
			var hdr [4]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			vars = make([]byte, binary.LittleEndian.Uint16(hdr[1:3]))
		} else {
			size, err := br.ReadString(':')
			if err != nil {
				return
			}
			n, _ := strconv.Atoi(strings.TrimSuffix(size, ":"))
			vars = make([]byte, n+1) // and the ','
		}
		if _, err := io.ReadFull(br, vars); err != nil {
			return
		}
		m := framingPath.FindSubmatch(vars)
		if m == nil {
			return
		}
		body := framingBody(string(m[2]))
		status := "Status: 200 OK\r\n"
		if uwsgi {
			status = "HTTP/1.1 200 OK\r\n"
		}
		c.Write(append([]byte(status+framingHead(string(m[1]), body)), body...))
	})
}

// startFramingMC starts a memcached backend whose values are framingBody's
// for the size the key names.
func startFramingMC(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			key := strings.TrimSuffix(strings.TrimPrefix(line, "get "), "\r\n")
			size := "small"
			if strings.HasSuffix(key, "big") {
				size = "big"
			}
			v := framingBody(size)
			fmt.Fprintf(c, "VALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(v), v)
		}
	})
}

// startFramingGRPC starts an h2c backend for grpc_pass answering as
// framingPath says ("cl" with a content-length, "nocl" without), with a
// grpc-status trailer.
func startFramingGRPC(t *testing.T) string {
	return testutil.H2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := framingPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		body := framingBody(m[2])
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		if m[1] == "cl" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(http.StatusOK)
		if m[1] == "nocl" {
			w.(http.Flusher).Flush() // else Go's server counts a short body
		}
		if r.Method != http.MethodHead {
			w.Write(body)
		}
		w.Header().Set("Grpc-Status", "0")
	}))
}

// framingOf sends one raw request (proto is the version, then "ka" for
// "Connection: keep-alive", "gz" for "Accept-Encoding: gzip", "r" for a
// range, "mr" for two) and describes the answer's framing:
// "STATUS FRAMING CONNECTION BODYBYTES", FRAMING being len=N, chunked, or
// "none" (neither: the body, if any, ends with the connection), plus
// "hit"/"miss" for the cache status the config sends as X-Cache.
func framingOf(t *testing.T, addr, method, uri, proto string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	version, extra, _ := strings.Cut(proto, " ")
	var fields string
	switch extra {
	case "ka":
		fields = "Connection: keep-alive\r\n"
	case "gz":
		fields = "Accept-Encoding: gzip\r\n"
	case "r":
		fields = "Range: bytes=10-19\r\n"
	case "mr":
		fields = "Range: bytes=0-4999,10000-15000\r\n"
	}
	fmt.Fprintf(c, "%s %s %s\r\nHost: framing.test\r\n%s\r\n", method, uri, version, fields)
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		return "no answer: " + err.Error()
	}
	statusLine := strings.Fields(status)
	if len(statusLine) < 2 {
		return "bad status line " + status
	}
	framing, conn, cache := "none", "-", ""
	chunked, length := false, -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "head cut: " + err.Error()
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(value)
			framing = "len=" + value
		case "transfer-encoding":
			chunked, framing = true, value
		case "connection":
			conn = value
		case "x-cache":
			cache = " " + strings.ToLower(value)
		}
	}
	var n int64
	switch {
	case method == http.MethodHead:
	case chunked:
		body, err := io.ReadAll(httpChunked(br))
		if err != nil {
			return "chunked body: " + err.Error()
		}
		n = int64(len(body))
	case length >= 0:
		n, _ = io.CopyN(io.Discard, br, int64(length))
	default:
		n, _ = io.Copy(io.Discard, br)
	}
	return fmt.Sprintf("%s %s %s %d%s", statusLine[1], framing, conn, n, cache)
}

// httpChunked reads a chunked body from br (net/http's reader, through a
// response it parses).
func httpChunked(br *bufio.Reader) io.Reader {
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(
		strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), br)), nil)
	if err != nil {
		return strings.NewReader("")
	}
	return resp.Body
}

func TestFramingLikeNginx(t *testing.T) {
	t.Parallel()
	web := startFramingHTTP(t)
	fcgi := startFramingFCGI(t)
	scgi := startFramingCGI(t, false)
	uwsgi := startFramingCGI(t, true)
	mc := startFramingMC(t)
	grpc := startFramingGRPC(t)
	root := t.TempDir()
	for _, f := range []struct{ name, body string }{
		{"static/small.txt", string(framingBody("small"))},
		{"static/big.txt", string(framingBody("big"))},
		{"auto/a.txt", "a"},
		{"ssi/small.html", "<p><!--# echo var=\"uri\" --></p>\n"},
		{"sub/small.html", "<p>hello</p>\n"},
		{"sub/small.bin", "<p>hello</p>\n"},
		{"errpage.html", "error page\n"},
	} {
		p := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := startUpstreamTarget(t, `
events {}
http {
    access_log off;
    default_type text/plain;
    proxy_cache_path %DIR%/cache keys_zone=framing:1m;
    fastcgi_cache_path %DIR%/fcache keys_zone=fcgicache:1m;
    server {
        listen 127.0.0.1:0;
        root `+root+`;
        location /px/ { proxy_pass http://`+web+`/; }
        location /pxnb/ { proxy_buffering off; proxy_pass http://`+web+`/; }
        location /fcgi/ { fastcgi_pass `+fcgi+`; fastcgi_param REQUEST_URI $request_uri; }
        location /fcginb/ { fastcgi_buffering off; fastcgi_pass `+fcgi+`; fastcgi_param REQUEST_URI $request_uri; }
        location /fcgioff/ { chunked_transfer_encoding off; fastcgi_pass `+fcgi+`; fastcgi_param REQUEST_URI $request_uri; }
        location /scgi/ { scgi_pass `+scgi+`; scgi_param REQUEST_URI $request_uri; }
        location /uwsgi/ { uwsgi_pass `+uwsgi+`; uwsgi_param REQUEST_URI $request_uri; }
        location /grpc/ { grpc_pass grpc://`+grpc+`; }
        location /mc/ { set $memcached_key $uri; memcached_pass `+mc+`; }
        location /static/ { }
        location = /ret { return 200 "text\n"; }
        location = /e404 { return 404; }
        location = /epage { error_page 404 /errpage.html; return 404; }
        location /auto/ { autoindex on; }
        location = /gif { empty_gif; }
        location = /status { stub_status; }
        location /ssi/ { ssi on; }
        location /sub/ { sub_filter hello bye; types { text/html html; application/octet-stream bin; } }
        location /cache/ { proxy_cache framing; proxy_cache_valid 200 1m; add_header X-Cache $upstream_cache_status; proxy_pass http://`+web+`/; }
        location /fcache/ { fastcgi_cache fcgicache; fastcgi_cache_key $request_uri; fastcgi_cache_valid 200 1m; add_header X-Cache $upstream_cache_status; fastcgi_pass `+fcgi+`; fastcgi_param REQUEST_URI $request_uri; }
        location /gunzip/ { gunzip on; proxy_pass http://`+web+`/; }
        location /slice/ { slice 1000; proxy_set_header Range $slice_range; proxy_pass http://`+web+`/; }
        location /auth/ { auth_request /authsub; proxy_pass http://`+web+`/; }
        location = /authsub { internal; proxy_pass http://`+web+`/cl/small; }
        location /pxoff/ { chunked_transfer_encoding off; proxy_pass http://`+web+`/; }
        location /gzip/ { gzip on; gzip_min_length 1; gzip_types text/plain; proxy_pass http://`+web+`/; }
        location /add/ { alias `+root+`/static/; add_after_body /ret; addition_types text/plain; }
        location /intercept/ { proxy_intercept_errors on; error_page 404 /errpage.html; proxy_pass http://`+web+`/; }
        location = /redirect { return 302 /ret; }
        location /mirror/ { mirror /mirrorsub; proxy_pass http://`+web+`/; }
        location = /mirrorsub { internal; proxy_pass http://`+web+`/cl/small; }
    }
}`)
	addr := in.listening()[0]
	const h11, h10, h10ka, h11gz = "HTTP/1.1", "HTTP/1.0", "HTTP/1.0 ka", "HTTP/1.1 gz"
	const h11r, h11mr = "HTTP/1.1 r", "HTTP/1.1 mr"
	// Each kind of handler, with a length known or not, small (one buffer)
	// and big (several), to an HTTP/1.1 client, an HTTP/1.0 one and a HEAD.
	tests := []struct {
		method, uri, proto string
		want               string // recorded from nginx 1.22.1 ("*": any number)
	}{
		{"GET", "/px/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/px/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/px/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/px/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/px/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/px/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/px/ch/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/px/ch/small", h10, "200 none close 100"},
		{"HEAD", "/px/ch/small", h11, "200 none keep-alive 0"},
		{"GET", "/px/ch/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/px/ch/big", h10, "200 none close 100000"},
		{"HEAD", "/px/ch/big", h11, "200 none keep-alive 0"},
		{"GET", "/px/close/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/px/close/small", h10, "200 none close 100"},
		{"HEAD", "/px/close/small", h11, "200 none keep-alive 0"},
		{"GET", "/px/close/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/px/close/big", h10, "200 none close 100000"},
		{"HEAD", "/px/close/big", h11, "200 none keep-alive 0"},
		{"GET", "/pxnb/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/pxnb/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/pxnb/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/pxnb/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/pxnb/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/pxnb/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/pxnb/ch/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/pxnb/ch/small", h10, "200 none close 100"},
		{"HEAD", "/pxnb/ch/small", h11, "200 none keep-alive 0"},
		{"GET", "/pxnb/ch/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/pxnb/ch/big", h10, "200 none close 100000"},
		{"HEAD", "/pxnb/ch/big", h11, "200 none keep-alive 0"},
		{"GET", "/pxnb/close/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/pxnb/close/small", h10, "200 none close 100"},
		{"HEAD", "/pxnb/close/small", h11, "200 none keep-alive 0"},
		{"GET", "/pxnb/close/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/pxnb/close/big", h10, "200 none close 100000"},
		{"HEAD", "/pxnb/close/big", h11, "200 none keep-alive 0"},
		{"GET", "/fcgi/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/fcgi/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/fcgi/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/fcgi/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/fcgi/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/fcgi/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/fcgi/nocl/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/fcgi/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/fcgi/nocl/small", h11, "200 none keep-alive 0"},
		{"GET", "/fcgi/nocl/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/fcgi/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/fcgi/nocl/big", h11, "200 none keep-alive 0"},
		{"GET", "/fcginb/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/fcginb/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/fcginb/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/fcginb/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/fcginb/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/fcginb/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/fcginb/nocl/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/fcginb/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/fcginb/nocl/small", h11, "200 none keep-alive 0"},
		{"GET", "/fcginb/nocl/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/fcginb/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/fcginb/nocl/big", h11, "200 none keep-alive 0"},
		{"GET", "/fcgioff/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/fcgioff/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/fcgioff/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/fcgioff/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/fcgioff/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/fcgioff/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/fcgioff/nocl/small", h11, "200 none close 100"},
		{"GET", "/fcgioff/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/fcgioff/nocl/small", h11, "200 none keep-alive 0"},
		{"GET", "/fcgioff/nocl/big", h11, "200 none close 100000"},
		{"GET", "/fcgioff/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/fcgioff/nocl/big", h11, "200 none keep-alive 0"},
		{"GET", "/scgi/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/scgi/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/scgi/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/scgi/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/scgi/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/scgi/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/scgi/nocl/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/scgi/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/scgi/nocl/small", h11, "200 none keep-alive 0"},
		{"GET", "/scgi/nocl/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/scgi/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/scgi/nocl/big", h11, "200 none keep-alive 0"},
		{"GET", "/uwsgi/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/uwsgi/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/uwsgi/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/uwsgi/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/uwsgi/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/uwsgi/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/uwsgi/nocl/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/uwsgi/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/uwsgi/nocl/small", h11, "200 none keep-alive 0"},
		{"GET", "/uwsgi/nocl/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/uwsgi/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/uwsgi/nocl/big", h11, "200 none keep-alive 0"},
		{"GET", "/grpc/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/grpc/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/grpc/cl/small", h11, "200 len=0 keep-alive 0"},
		{"GET", "/grpc/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/grpc/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/grpc/cl/big", h11, "200 len=0 keep-alive 0"},
		{"GET", "/grpc/nocl/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/grpc/nocl/small", h10, "200 none close 100"},
		{"HEAD", "/grpc/nocl/small", h11, "200 len=0 keep-alive 0"},
		{"GET", "/grpc/nocl/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/grpc/nocl/big", h10, "200 none close 100000"},
		{"HEAD", "/grpc/nocl/big", h11, "200 len=0 keep-alive 0"},
		{"GET", "/mc/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/mc/small", h10, "200 len=100 close 100"},
		{"HEAD", "/mc/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/mc/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/mc/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/mc/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/static/small.txt", h11, "200 len=100 keep-alive 100"},
		{"GET", "/static/small.txt", h10, "200 len=100 close 100"},
		{"HEAD", "/static/small.txt", h11, "200 len=100 keep-alive 0"},
		{"GET", "/static/big.txt", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/static/big.txt", h10, "200 len=100000 close 100000"},
		{"HEAD", "/static/big.txt", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/ret", h11, "200 len=5 keep-alive 5"},
		{"GET", "/ret", h10, "200 len=5 close 5"},
		{"HEAD", "/ret", h11, "200 len=5 keep-alive 0"},
		// The built-in page names the server (nginx/1.22.1, 153 bytes;
		// fulcrum/VERSION here, server_tokens): its length is not checked.
		{"GET", "/e404", h11, "404 len=* keep-alive *"},
		{"GET", "/e404", h10, "404 len=* close *"},
		{"HEAD", "/e404", h11, "404 len=* keep-alive 0"},
		{"GET", "/epage", h11, "404 len=11 keep-alive 11"},
		{"GET", "/epage", h10, "404 len=11 close 11"},
		{"HEAD", "/epage", h11, "404 len=11 keep-alive 0"},
		{"GET", "/auto/", h11, "200 chunked keep-alive 255"},
		{"GET", "/auto/", h10, "200 none close 255"},
		{"HEAD", "/auto/", h11, "200 none keep-alive 0"},
		{"GET", "/gif", h11, "200 len=43 keep-alive 43"},
		{"GET", "/gif", h10, "200 len=43 close 43"},
		{"HEAD", "/gif", h11, "200 len=43 keep-alive 0"},
		{"GET", "/status", h11, "200 len=103 keep-alive 103"},
		{"GET", "/status", h10, "200 len=103 close 103"},
		{"HEAD", "/status", h11, "200 len=103 keep-alive 0"},
		{"GET", "/ssi/small.html", h11, "200 chunked keep-alive 23"},
		{"GET", "/ssi/small.html", h10, "200 none close 23"},
		{"HEAD", "/ssi/small.html", h11, "200 none keep-alive 0"},
		{"GET", "/sub/small.html", h11, "200 chunked keep-alive 11"},
		{"GET", "/sub/small.html", h10, "200 none close 11"},
		{"HEAD", "/sub/small.html", h11, "200 none keep-alive 0"},
		{"GET", "/sub/small.bin", h11, "200 len=13 keep-alive 13"},
		{"GET", "/sub/small.bin", h10, "200 len=13 close 13"},
		{"HEAD", "/sub/small.bin", h11, "200 len=13 keep-alive 0"},
		{"GET", "/cache/cl/small", h11, "200 len=100 keep-alive 100 miss"},
		{"GET", "/cache/cl/small", h11, "200 len=100 keep-alive 100 hit"},
		{"GET", "/cache/cl/small", h10, "200 len=100 close 100 hit"},
		{"HEAD", "/cache/cl/small", h11, "200 len=100 keep-alive 0 hit"},
		{"GET", "/cache/ch/small", h11, "200 chunked keep-alive 100 miss"},
		{"GET", "/cache/ch/small", h11, "200 chunked keep-alive 100 hit"},
		{"GET", "/cache/ch/small", h10, "200 none close 100 hit"},
		{"HEAD", "/cache/ch/small", h11, "200 none keep-alive 0 hit"},
		{"GET", "/cache/close/big", h11, "200 chunked keep-alive 100000 miss"},
		{"GET", "/cache/close/big", h11, "200 chunked keep-alive 100000 hit"},
		{"GET", "/cache/close/big", h10, "200 none close 100000 hit"},
		{"HEAD", "/cache/close/big", h11, "200 none keep-alive 0 hit"},
		{"GET", "/fcache/cl/small", h11, "200 len=100 keep-alive 100 miss"},
		{"GET", "/fcache/cl/small", h11, "200 len=100 keep-alive 100 hit"},
		{"GET", "/fcache/cl/small", h10, "200 len=100 close 100 hit"},
		{"HEAD", "/fcache/cl/small", h11, "200 len=100 keep-alive 0 hit"},
		{"GET", "/fcache/nocl/small", h11, "200 chunked keep-alive 100 miss"},
		{"GET", "/fcache/nocl/small", h11, "200 chunked keep-alive 100 hit"},
		{"GET", "/fcache/nocl/small", h10, "200 none close 100 hit"},
		{"HEAD", "/fcache/nocl/small", h11, "200 none keep-alive 0 hit"},
		{"GET", "/fcache/nocl/big", h11, "200 chunked keep-alive 100000 miss"},
		{"GET", "/fcache/nocl/big", h11, "200 chunked keep-alive 100000 hit"},
		{"GET", "/fcache/nocl/big", h10, "200 none close 100000 hit"},
		{"HEAD", "/fcache/nocl/big", h11, "200 none keep-alive 0 hit"},
		{"GET", "/gunzip/gz/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/gunzip/gz/small", h10, "200 none close 100"},
		{"HEAD", "/gunzip/gz/small", h11, "200 none keep-alive 0"},
		{"GET", "/gunzip/gz/big", h11, "200 chunked keep-alive 100000"},
		{"GET", "/gunzip/gz/big", h10, "200 none close 100000"},
		{"HEAD", "/gunzip/gz/big", h11, "200 none keep-alive 0"},
		{"GET", "/slice/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/slice/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/slice/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/slice/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/slice/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/slice/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/auth/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/auth/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/auth/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/auth/ch/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/auth/ch/small", h10, "200 none close 100"},
		{"HEAD", "/auth/ch/small", h11, "200 none keep-alive 0"},
		{"GET", "/mirror/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/mirror/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/mirror/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/mirror/ch/small", h11, "200 chunked keep-alive 100"},
		{"GET", "/mirror/ch/small", h10, "200 none close 100"},
		{"HEAD", "/mirror/ch/small", h11, "200 none keep-alive 0"},
		// More filters and handlers, and HTTP/1.0 clients that ask for
		// keep-alive. A gzipped body's size is zlib's in nginx, Go's
		// here, and the built-in pages name the server: not checked.
		{"GET", "/pxoff/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/pxoff/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/pxoff/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/pxoff/ch/small", h11, "200 none close 100"},
		{"GET", "/pxoff/ch/small", h10, "200 none close 100"},
		{"HEAD", "/pxoff/ch/small", h11, "200 none keep-alive 0"},
		{"GET", "/pxoff/close/big", h11, "200 none close 100000"},
		{"GET", "/pxoff/close/big", h10, "200 none close 100000"},
		{"HEAD", "/pxoff/close/big", h11, "200 none keep-alive 0"},
		{"GET", "/gzip/cl/small", h11gz, "200 chunked keep-alive *"},
		{"GET", "/gzip/cl/small", h11, "200 len=100 keep-alive 100"},
		{"GET", "/gzip/cl/small", h10, "200 len=100 close 100"},
		{"HEAD", "/gzip/cl/small", h11, "200 len=100 keep-alive 0"},
		{"GET", "/gzip/cl/big", h11gz, "200 chunked keep-alive *"},
		{"GET", "/gzip/cl/big", h11, "200 len=100000 keep-alive 100000"},
		{"GET", "/gzip/cl/big", h10, "200 len=100000 close 100000"},
		{"HEAD", "/gzip/cl/big", h11, "200 len=100000 keep-alive 0"},
		{"GET", "/add/small.txt", h11, "200 chunked keep-alive 105"},
		{"GET", "/add/small.txt", h10, "200 none close 105"},
		{"HEAD", "/add/small.txt", h11, "200 none keep-alive 0"},
		{"GET", "/intercept/none/small", h11, "404 len=11 keep-alive 11"},
		{"GET", "/intercept/none/small", h10, "404 len=11 close 11"},
		{"HEAD", "/intercept/none/small", h11, "404 len=11 keep-alive 0"},
		{"GET", "/redirect", h11, "302 len=* keep-alive *"},
		{"GET", "/redirect", h10, "302 len=* close *"},
		{"HEAD", "/redirect", h11, "302 len=* keep-alive 0"},
		{"GET", "/px/cl/small", h10ka, "200 len=100 keep-alive 100"},
		{"GET", "/px/ch/small", h10ka, "200 none close 100"},
		{"GET", "/fcgi/cl/small", h10ka, "200 len=100 keep-alive 100"},
		{"GET", "/fcgi/nocl/small", h10ka, "200 none close 100"},
		{"GET", "/static/small.txt", h10ka, "200 len=100 keep-alive 100"},
		{"GET", "/auto/", h10ka, "200 none close 255"},
		{"GET", "/ssi/small.html", h10ka, "200 none close 23"},
		{"GET", "/e404", h10ka, "404 len=* keep-alive *"},
		// Ranges: cut from a response with a length only.
		{"GET", "/static/small.txt", h11r, "206 len=10 keep-alive 10"},
		{"GET", "/static/big.txt", h11r, "206 len=10 keep-alive 10"},
		{"GET", "/static/big.txt", h11mr, "206 len=10214 keep-alive 10214"},
		{"GET", "/px/cl/big", h11r, "206 len=10 keep-alive 10"},
		{"GET", "/px/cl/big", h11mr, "206 len=5000 keep-alive 5000"},
		{"GET", "/px/ch/big", h11r, "200 chunked keep-alive 100000"},
		{"GET", "/fcgi/cl/big", h11r, "200 len=100000 keep-alive 100000"},
		{"GET", "/fcgi/nocl/big", h11r, "200 chunked keep-alive 100000"},
		{"GET", "/fcgi/nocl/small", h11r, "200 chunked keep-alive 100"},
		{"GET", "/cache/cl/small", h11r, "200 len=100 keep-alive 100 hit"},
		{"GET", "/cache/ch/small", h11r, "200 chunked keep-alive 100 hit"},
		{"GET", "/fcache/nocl/small", h11r, "200 chunked keep-alive 100 hit"},
		{"GET", "/fcache/cl/small", h11mr, "200 len=100 keep-alive 100 hit"},
	}
	// FRAMING_RECORD=1 prints the rows with what the server answered
	// instead of checking them (with -tags nginxdiff: nginx's answers).
	record := os.Getenv("FRAMING_RECORD") != ""
	var out strings.Builder
	for _, tt := range tests {
		got := framingOf(t, addr, tt.method, tt.uri, tt.proto)
		if record {
			fmt.Fprintf(&out, "\t\t{%q, %q, %s, %q},\n", tt.method, tt.uri, map[string]string{h11: "h11", h10: "h10", h10ka: "h10ka", h11gz: "h11gz", h11r: "h11r", h11mr: "h11mr"}[tt.proto], got)
		} else if !framingMatches(got, tt.want) {
			t.Errorf("%s %s %s: %s, nginx %s", tt.method, tt.uri, tt.proto, got, tt.want)
		}
	}
	if record {
		t.Log("\n" + out.String())
	}
}

// framingMatches reports whether got is want, a "*" in want standing for a
// number.
func framingMatches(got, want string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(want), `\*`, `\d+`) + "$"
	return regexp.MustCompile(re).MatchString(got)
}

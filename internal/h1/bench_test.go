package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// browserRequest is a typical browser GET with ten header fields.
const browserRequest = "GET /static/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://www.example.com/index.html\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"If-None-Match: \"5f2b-1234abcd\"\r\n" +
	"\r\n"

func BenchmarkParseRequest(b *testing.B) {
	data := []byte(browserRequest)
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rd.Reset(data)
		br.Reset(rd)
		if err := ReadRequest(br, &r, Limits{}); err != nil {
			b.Fatal(err)
		}
		r.Reset()
	}
}

func BenchmarkParseRequestBytes(b *testing.B) {
	data := []byte(browserRequest)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseRequest(data, &r, Limits{}); err != nil {
			b.Fatal(err)
		}
		r.Reset()
	}
}

// BenchmarkNetHTTPReadRequest is the reference point.
func BenchmarkNetHTTPReadRequest(b *testing.B) {
	data := []byte(browserRequest)
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rd.Reset(data)
		br.Reset(rd)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	data := []byte("HTTP/1.1 200 OK\r\nServer: backend\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Content-Type: application/javascript\r\nContent-Length: 1234\r\nCache-Control: max-age=3600\r\n" +
		"ETag: \"5f2b-1234abcd\"\r\nVary: Accept-Encoding\r\n\r\n")
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	method := []byte("GET")
	var r Response
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		br.Reset(rd)
		if err := ReadResponse(br, &r, method, Limits{}); err != nil {
			b.Fatal(err)
		}
		r.Reset()
	}
}

func BenchmarkAppendRequestHead(b *testing.B) {
	var r Request
	if _, err := ParseRequest([]byte(browserRequest), &r, Limits{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		out := AppendRequestLine(buf[:0], r.Method, r.Target, HTTP11)
		for _, h := range r.Headers {
			if !r.Headers.HopByHop(h.Name) {
				out = AppendHeader(out, h.Name, h.Value)
			}
		}
		out = AppendHeader(out, "X-Forwarded-For", "192.0.2.1")
		buf = append(out, '\r', '\n')
	}
}

func BenchmarkChunkedRead(b *testing.B) {
	var enc bytes.Buffer
	var w ChunkedWriter
	w.Reset(&enc)
	chunk := []byte(strings.Repeat("x", 4096))
	for range 16 {
		w.Write(chunk)
	}
	w.Finish(nil)
	data := enc.Bytes()
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	var c ChunkedReader
	b.ReportAllocs()
	b.SetBytes(16 * 4096)
	for b.Loop() {
		rd.Reset(data)
		br.Reset(rd)
		c.Reset(br, BodyLimits{})
		if _, err := c.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseRequestZeroAllocs(t *testing.T) {
	data := []byte(browserRequest)
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	var r Request
	allocs := testing.AllocsPerRun(200, func() {
		rd.Reset(data)
		br.Reset(rd)
		if err := ReadRequest(br, &r, Limits{}); err != nil {
			t.Fatal(err)
		}
		r.Reset()
	})
	// sync.Pool may drop a buffer at a GC, so allow a fraction; a
	// per-request allocation would show as >= 1. Under the race detector
	// the pool drops a quarter of its buffers on purpose, and refilling
	// one costs 3 allocations.
	limit := 1.0
	if raceEnabled {
		limit = 3
	}
	if allocs >= limit {
		t.Fatalf("%v allocations per parsed request", allocs)
	}
}

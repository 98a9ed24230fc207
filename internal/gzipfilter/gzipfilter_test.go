package gzipfilter

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// on is nginx's defaults with gzip on.
func on() config.Gzip {
	return config.Gzip{On: true, Level: 1, MinLength: 20, Proxied: config.GzipProxiedOff}
}

// hdr builds a header from "Name: value" lines.
func hdr(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		h.Add(k, v)
	}
	return h
}

// TestEligible: the first step of nginx's header filter, checked against
// nginx 1.22.1 (statuses, Content-Type quirks, lengths).
func TestEligible(t *testing.T) {
	css := on()
	css.Types = []string{"text/css"}
	any := on()
	any.AnyType = true
	off := on()
	off.On = false
	tests := []struct {
		name   string
		g      config.Gzip
		status int
		h      http.Header
		want   bool
	}{
		{"html 200", on(), 200, hdr("Content-Type: text/html", "Content-Length: 614"), true},
		{"gzip off", off, 200, hdr("Content-Type: text/html"), false},
		{"403", on(), 403, hdr("Content-Type: text/html"), true},
		{"404", on(), 404, hdr("Content-Type: text/html"), true},
		{"500", on(), 500, hdr("Content-Type: text/html"), false},
		{"206", on(), 206, hdr("Content-Type: text/html"), false},
		{"304", on(), 304, hdr("Content-Type: text/html"), false},
		{"short", on(), 200, hdr("Content-Type: text/html", "Content-Length: 19"), false},
		{"min length", on(), 200, hdr("Content-Type: text/html", "Content-Length: 20"), true},
		{"no length", on(), 200, hdr("Content-Type: text/html"), true},
		{"encoded", on(), 200, hdr("Content-Type: text/html", "Content-Encoding: br"), false},
		{"empty encoding", on(), 200, hdr("Content-Type: text/html", "Content-Encoding: "), true},
		{"css by default", on(), 200, hdr("Content-Type: text/css"), false},
		{"css listed", css, 200, hdr("Content-Type: text/css"), true},
		{"html always", css, 200, hdr("Content-Type: text/html"), true},
		{"charset", on(), 200, hdr("Content-Type: TEXT/HTML; charset=utf-8"), true},
		{"other parameter", on(), 200, hdr("Content-Type: text/html; foo=bar"), false},
		{"space before ;", on(), 200, hdr("Content-Type: text/html ;charset=utf-8"), false},
		{"no type", on(), 200, hdr(), false},
		{"star, no type", any, 200, hdr(), true},
		{"star", any, 200, hdr("Content-Type: image/png"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Eligible(&tt.g, tt.status, tt.h); got != tt.want {
				t.Errorf("Eligible = %t, want %t", got, tt.want)
			}
		})
	}
}

// TestAcceptsGzip: nginx's Accept-Encoding parsing, each case checked
// against nginx 1.22.1.
func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		ae   string
		want bool
	}{
		{"gzip", true}, {"GZIP", true}, {"gzip, deflate", true}, {"deflate, gzip", true},
		{"deflate,gzip", true}, {"gzip;q=0", false}, {"gzip; q=0.5", true}, {"gzip;q=1", true},
		{"gzip;q=1.0001", false}, {"gzip ;q=0.001", true}, {"gzip;q=", false}, {"gzip;q=0.000", false},
		{"x-gzip", false}, {"gzipx", false}, {"br;q=1, gzip;q=0", false}, {"*", false}, {"", false},
		{"gzi", false}, {"identity", false}, {"gzip;", true}, {"gzip;level=1", false}, {"gzip;q=1.1", false},
	}
	for _, tt := range tests {
		if got := AcceptsGzip(tt.ae); got != tt.want {
			t.Errorf("AcceptsGzip(%q) = %t, want %t", tt.ae, got, tt.want)
		}
	}
}

// TestMSIE6: what "gzip_disable msie6" refuses.
func TestMSIE6(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", true},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false},
		{"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", true},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", false},
		{"Opera/9.0 (compatible; MSIE 6.0)", false},
		{"MSIE 6.", false},
		{"curl/8.0", false},
	}
	for _, tt := range tests {
		if got := MSIE6(tt.ua); got != tt.want {
			t.Errorf("MSIE6(%q) = %t, want %t", tt.ua, got, tt.want)
		}
	}
}

// TestClientOK: ngx_http_gzip_ok, with the gzip_proxied cases checked
// against nginx 1.22.1 behind a Via field.
func TestClientOK(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	gz := hdr("Accept-Encoding: gzip")
	via := hdr("Accept-Encoding: gzip", "Via: 1.1 proxy")
	viaAuth := hdr("Accept-Encoding: gzip", "Via: 1.1 proxy", "Authorization: Basic x")
	with := func(f func(*config.Gzip)) config.Gzip {
		g := on()
		f(&g)
		return g
	}
	proxied := func(p config.GzipProxied) config.Gzip { return with(func(g *config.Gzip) { g.Proxied = p }) }
	px := proxied(config.GzipProxiedExpired | config.GzipProxiedNoCache | config.GzipProxiedNoLastModified)
	tests := []struct {
		name string
		g    config.Gzip
		req  Request
		resp http.Header
		lm   bool // the Last-Modified is an upstream's
		want bool
	}{
		{"accepts", on(), Request{Header: gz}, nil, false, true},
		{"no Accept-Encoding", on(), Request{Header: hdr()}, nil, false, false},
		{"q=0", on(), Request{Header: hdr("Accept-Encoding: gzip;q=0")}, nil, false, false},
		{"HTTP/1.0", on(), Request{Header: gz, HTTP10: true}, nil, false, false},
		{"HTTP/1.0 allowed", with(func(g *config.Gzip) { g.HTTP10 = true }), Request{Header: gz, HTTP10: true}, nil, false, true},
		{"msie6", with(func(g *config.Gzip) { g.DisableMSIE6 = true }), Request{Header: hdr("Accept-Encoding: gzip", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)")}, nil, false, false},
		{"disable regex", with(func(g *config.Gzip) { g.Disable = []*pcre.Regexp{pcre.MustCompile("(?i)^curl", false)} }), Request{Header: hdr("Accept-Encoding: gzip", "User-Agent: Curl/8")}, nil, false, false},
		{"disable no match", with(func(g *config.Gzip) { g.Disable = []*pcre.Regexp{pcre.MustCompile("(?i)^curl", false)} }), Request{Header: hdr("Accept-Encoding: gzip", "User-Agent: wget")}, nil, false, true},
		{"via, proxied off", on(), Request{Header: via}, nil, false, false},
		{"via, any", proxied(config.GzipProxiedAny), Request{Header: via}, nil, false, true},
		{"via, auth without", proxied(config.GzipProxiedAuth), Request{Header: via}, hdr("Expires: 0"), false, false},
		{"via, auth", proxied(config.GzipProxiedAuth), Request{Header: viaAuth}, nil, false, true},
		{"via, nothing to judge", px, Request{Header: via}, hdr(), false, true},
		{"via, upstream Last-Modified", px, Request{Header: via}, hdr("Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT"), true, false},
		{"via, a file's Last-Modified", px, Request{Header: via}, hdr("Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT"), false, true},
		{"via, expired", px, Request{Header: via}, hdr("Expires: Mon, 01 Jan 2024 00:00:00 GMT"), false, true},
		{"via, expires later", px, Request{Header: via}, hdr("Expires: Mon, 01 Jan 2035 00:00:00 GMT"), false, false},
		{"via, expires bad", px, Request{Header: via}, hdr("Expires: 0"), false, false},
		{"via, expires before Date", px, Request{Header: via}, hdr("Expires: Mon, 01 Jan 2035 00:00:00 GMT", "Date: Tue, 01 Jan 2036 00:00:00 GMT"), false, true},
		{"via, expires unlisted", proxied(config.GzipProxiedNoCache), Request{Header: via}, hdr("Expires: Mon, 01 Jan 2024 00:00:00 GMT", "Cache-Control: no-cache"), false, false},
		{"via, no-cache", px, Request{Header: via}, hdr("Cache-Control: max-age=0, No-Cache"), false, true},
		{"via, no-cache=x", px, Request{Header: via}, hdr(`Cache-Control: no-cache="x"`), false, false},
		{"via, private unlisted", px, Request{Header: via}, hdr("Cache-Control: private"), false, false},
		{"via, private", proxied(config.GzipProxiedPrivate), Request{Header: via}, hdr("Cache-Control: public", "Cache-Control: private"), false, true},
		{"via, no-store", proxied(config.GzipProxiedNoStore), Request{Header: via}, hdr("Cache-Control: no-store ;x"), false, false},
		{"via, no_etag", proxied(config.GzipProxiedNoETag), Request{Header: via}, hdr(`Etag: "e"`), false, false},
		{"via, etag allowed", px, Request{Header: via}, hdr(`Etag: "e"`), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.resp == nil {
				tt.resp = http.Header{}
			}
			if got := ClientOK(&tt.g, tt.req, tt.resp, tt.lm, now); got != tt.want {
				t.Errorf("ClientOK = %t, want %t", got, tt.want)
			}
		})
	}
}

// TestClientCheckMatchLimit: a gzip_disable regex whose match hits the
// backtracking engine's bound refuses compression with the error, as
// nginx 1.22.1's ngx_http_gzip_ok does when ngx_regex_exec_array fails
// (recorded: the response went out uncompressed, "[alert] ...
// pcre2_match() failed: -47 on ... while sending response to client").
func TestClientCheckMatchLimit(t *testing.T) {
	g := config.Gzip{On: true, Disable: []*pcre.Regexp{pcre.MustCompile(`^(a|aa)+(?!x)$`, false)}}
	req := Request{Header: hdr("Accept-Encoding: gzip", "User-Agent: "+strings.Repeat("a", 40)+"c")}
	ok, err := ClientCheck(&g, req, http.Header{}, false, time.Now())
	if ok || !errors.Is(err, pcre.ErrMatchLimit) {
		t.Errorf("ClientCheck = %t, %v; want false and pcre.ErrMatchLimit", ok, err)
	}
	if ClientOK(&g, req, http.Header{}, false, time.Now()) {
		t.Error("ClientOK = true, want false")
	}
	req = Request{Header: hdr("Accept-Encoding: gzip", "User-Agent: b")}
	if ok, err := ClientCheck(&g, req, http.Header{}, false, time.Now()); !ok || err != nil {
		t.Errorf("a User-Agent the regex settles: %t, %v", ok, err)
	}
}

// TestPrepare: the compressed response's head, as nginx 1.22.1 sends it
// (ETag weakened or dropped, no Content-Length or Accept-Ranges).
func TestPrepare(t *testing.T) {
	tests := []struct {
		etag, want string // "" for none
	}{
		{`"6b140dd2-266"`, `W/"6b140dd2-266"`},
		{`W/"x"`, `W/"x"`},
		{"abc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		h := hdr("Content-Length: 614", "Accept-Ranges: bytes", "Content-Type: text/html")
		if tt.etag != "" {
			h.Set("Etag", tt.etag)
		}
		Prepare(h)
		if got := h.Get("Etag"); got != tt.want {
			t.Errorf("ETag %q became %q, want %q", tt.etag, got, tt.want)
		}
		if h.Get("Content-Encoding") != "gzip" || h.Get("Content-Length") != "" || h.Get("Accept-Ranges") != "" || h.Get("Content-Type") != "text/html" {
			t.Errorf("head %v", h)
		}
	}
}

// TestWriter compresses at every level, with a flush in the middle, and
// reads the original back; Out counts what reached dst.
func TestWriter(t *testing.T) {
	body := strings.Repeat("<p>hello, world</p>\n", 500)
	var w Writer
	for level := 0; level <= 10; level++ {
		var dst bytes.Buffer
		w.Reset(&dst, level)
		if !w.Active() {
			t.Fatal("not active after Reset")
		}
		_, _ = w.Write([]byte(body[:100]))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body[100:]))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if w.Active() || w.In() != int64(len(body)) || w.Out() != int64(dst.Len()) {
			t.Fatalf("level %d: active %t in %d out %d, dst %d", level, w.Active(), w.In(), w.Out(), dst.Len())
		}
		zr, err := gzip.NewReader(&dst)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != body {
			t.Fatalf("level %d: read back %d bytes, %v", level, len(got), err)
		}
		if zr.Header.OS != 3 {
			t.Errorf("OS %d, want 3 (unix, as nginx)", zr.Header.OS)
		}
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// BenchmarkWriter measures one pooled 16 KiB response at levels 1 and 9:
// with the pool warm a response allocates (almost) nothing; without it,
// every response would allocate a compressor (BenchmarkNewWriter).
func BenchmarkWriter(b *testing.B) {
	body := []byte(strings.Repeat("<p>hello, world</p>\n", 800))
	for _, level := range []int{1, 9} {
		b.Run("level"+string(rune('0'+level)), func(b *testing.B) {
			b.ReportAllocs()
			var w Writer
			for b.Loop() {
				w.Reset(io.Discard, level)
				_, _ = w.Write(body)
				_ = w.Close()
			}
		})
	}
}

// BenchmarkNewWriter is the cost of a compressor per response, which the
// pool avoids: its B/op is the memory a gzip.Writer holds.
func BenchmarkNewWriter(b *testing.B) {
	for _, level := range []int{1, 9} {
		b.Run("level"+string(rune('0'+level)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				zw, _ := gzip.NewWriterLevel(io.Discard, level)
				_, _ = zw.Write([]byte("x"))
				_ = zw.Close()
			}
		})
	}
}

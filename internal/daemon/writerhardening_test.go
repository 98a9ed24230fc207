package daemon

import (
	"bufio"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/proxy"
)

// TestWriterHeadHardening: whatever a handler puts in the header map (a
// FastCGI or gRPC application's fields, passed on), the head a client gets
// has one Content-Length of digits alone, the one the body is framed by, no
// field value with a NUL, and no status line cut by a CR, LF or NUL in a
// reason phrase. Read on a raw socket, byte for byte.
func TestWriterHeadHardening(t *testing.T) {
	tests := []struct {
		name    string
		set     func(w http.ResponseWriter)
		status  string   // the status line
		want    []string // lines the head must have
		notWant []string // substrings the head must not have
	}{
		{"two lengths: the first, once", func(w http.ResponseWriter) {
			w.Header()["Content-Length"] = []string{"5", "6"}
		}, "HTTP/1.1 200 OK", []string{"Content-Length: 5"}, []string{"Content-Length: 6"}},
		{"a signed length is none: chunked", func(w http.ResponseWriter) {
			w.Header()["Content-Length"] = []string{"+5"}
		}, "HTTP/1.1 200 OK", []string{"Transfer-Encoding: chunked"}, []string{"Content-Length"}},
		{"a NUL in a value drops it", func(w http.ResponseWriter) {
			w.Header()["X-A"] = []string{"a\x00b", "ok"}
		}, "HTTP/1.1 200 OK", []string{"X-A: ok"}, []string{"\x00"}},
		{"a CR in the reason: fulcrum's phrase", func(w http.ResponseWriter) {
			w.(proxy.ReasonSetter).SetReason(200, []byte("O\rK"))
		}, "HTTP/1.1 200 OK", nil, []string{"O\rK"}},
		{"a NUL in the reason: fulcrum's phrase", func(w http.ResponseWriter) {
			w.(proxy.ReasonSetter).SetReason(200, []byte("O\x00K"))
		}, "HTTP/1.1 200 OK", nil, []string{"\x00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
				tc.set(w)
				w.WriteHeader(200)
				w.Write([]byte("body\n"))
			})
			rc := dialEngine(t, ts.addr)
			rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			head := readRawHead(t, rc.br)
			lines := strings.Split(head, "\r\n")
			if lines[0] != tc.status {
				t.Errorf("status line %q, want %q", lines[0], tc.status)
			}
			for _, want := range tc.want {
				if !strings.Contains(head, "\r\n"+want+"\r\n") {
					t.Errorf("head %q lacks %q", head, want)
				}
			}
			for _, bad := range tc.notWant {
				if strings.Contains(head, bad) {
					t.Errorf("head %q has %q", head, bad)
				}
			}
			if n := strings.Count(strings.ToLower(head), "content-length:"); n > 1 {
				t.Errorf("head %q has %d Content-Length fields", head, n)
			}
		})
	}
}

// readRawHead reads a response head up to its empty line, as bytes.
func readRawHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "\r\n\r\n") {
		c, err := br.ReadByte()
		if err != nil {
			t.Fatalf("reading the head %q: %v", b.String(), err)
		}
		b.WriteByte(c)
	}
	return b.String()
}

// TestH2WriterOneLength: a stream's head gets one Content-Length of digits
// alone too (Go's HTTP/2 server would send every value the map holds).
func TestH2WriterOneLength(t *testing.T) {
	tests := []struct {
		set  []string
		want []string
	}{
		{[]string{"5", "6"}, []string{"5"}},
		{[]string{"+5"}, nil},
		{[]string{"5"}, []string{"5"}},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		w := &h2Writer{w: rec}
		w.Header()["Content-Length"] = tc.set
		w.WriteHeader(200)
		if got := rec.Header()["Content-Length"]; !slices.Equal(got, tc.want) {
			t.Errorf("%q: Content-Length %q, want %q", tc.set, got, tc.want)
		}
	}
}

// TestOneLength: the length a head keeps, spelt as digits alone, and no
// allocation for the usual one (every response with a length passes here).
func TestOneLength(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string // the field after
		n    int64
		ok   bool
	}{
		{[]string{"0"}, []string{"0"}, 0, true},
		{[]string{"1234"}, []string{"1234"}, 1234, true},
		{[]string{"007"}, []string{"7"}, 7, true},
		{[]string{"00"}, []string{"0"}, 0, true},
		{[]string{"5", "6"}, []string{"5"}, 5, true},
		{[]string{"+5"}, nil, 0, false},
		{[]string{"-1"}, nil, 0, false},
		{[]string{"5 "}, nil, 0, false},
		{[]string{"99999999999999999999"}, nil, 0, false},
		{[]string{""}, []string{""}, 0, false},
		{nil, nil, 0, false},
	} {
		h := http.Header{}
		if c.in != nil {
			h["Content-Length"] = append([]string(nil), c.in...)
		}
		n, ok := oneLength(h)
		if ok != c.ok || ok && n != c.n || !slices.Equal(h["Content-Length"], c.want) {
			t.Errorf("oneLength(%q) = %d, %v, field %q; want %d, %v, %q", c.in, n, ok, h["Content-Length"], c.n, c.ok, c.want)
		}
	}
	h := http.Header{"Content-Length": {"65536"}}
	if a := testing.AllocsPerRun(100, func() { oneLength(h) }); a != 0 {
		t.Errorf("oneLength of a canonical length allocates %.0f times", a)
	}
}

// TestSafeValue: CR, LF and NUL anywhere make a value unsafe; other
// control characters (a tab) and bytes past ASCII do not.
func TestSafeValue(t *testing.T) {
	for v, want := range map[string]bool{
		"":            true,
		"text/html":   true,
		"a\tb":        true,
		"caf\xc3\xa9": true,
		"a\rb":        false,
		"a\nb":        false,
		"a\x00b":      false,
		"\r":          false,
		"end\n":       false,
		"\x0bvt":      true,
	} {
		if got := safeValue(v); got != want {
			t.Errorf("safeValue(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestParseLength: digits alone up to the largest int64, leading zeros
// however many, as strconv.ParseInt reads the digits.
func TestParseLength(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"13", 13, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"09223372036854775807", math.MaxInt64, true},
		{"0000000000000000000000000000000000001", 1, true},
		{"9223372036854775808", 0, false},
		{"9223372036854775810", 0, false},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"/", 0, false},
		{":", 0, false},
	} {
		n, ok := parseLength(c.in)
		if n != c.n || ok != c.ok {
			t.Errorf("parseLength(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.ok)
		}
	}
}

// TestWriterReasonPhrase: an upstream's reason phrase goes out as it came,
// the last one set for the status sent; a "200 OK" is fulcrum's own
// phrase, which SetReason does not copy.
func TestWriterReasonPhrase(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		reasons []string // SetReason's, for status, in order
		want    string
	}{
		{"own", 200, []string{"Fine"}, "HTTP/1.1 200 Fine"},
		{"OK", 200, []string{"OK"}, "HTTP/1.1 200 OK"},
		{"OK after another", 200, []string{"Fine", "OK"}, "HTTP/1.1 200 OK"},
		{"another after OK", 200, []string{"OK", "Fine"}, "HTTP/1.1 200 Fine"},
		{"OK for a 201", 201, []string{"OK"}, "HTTP/1.1 201 OK"},
		{"empty", 200, []string{""}, "HTTP/1.1 200 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
				for _, reason := range tc.reasons {
					w.(proxy.ReasonSetter).SetReason(tc.status, []byte(reason))
				}
				w.WriteHeader(tc.status)
				w.Write([]byte("body\n"))
			})
			rc := dialEngine(t, ts.addr)
			rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			head := readRawHead(t, rc.br)
			if line, _, _ := strings.Cut(head, "\r\n"); line != tc.want {
				t.Errorf("status line %q, want %q", line, tc.want)
			}
		})
	}
}

package h1

import (
	"bufio"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// bufHead builds a request head as the recordings below sent it
// (testutil.SizedHead).
var bufHead = testutil.SizedHead

// TestHeaderBuffers checks Limits.HeaderBuffer against nginx 1.22.1's
// answers to the same heads on raw sockets (client_header_buffer_size and
// large_client_header_buffers as named; nginx's 400 "Request Header Or
// Cookie Too Large" is ErrHeaderTooLarge, its 414 ErrURITooLong). A head
// that fits the first buffer passes whatever its lines; a line crossing a
// buffer's end must have less than a large buffer's size read and a large
// buffer left, and fit one.
func TestHeaderBuffers(t *testing.T) {
	a := Limits{HeaderBuffer: 1024, LargeBuffers: 2, LargeBufferSize: 512}  // 1k; 2 512
	b := Limits{HeaderBuffer: 2048, LargeBuffers: 2, LargeBufferSize: 512}  // 2k; 2 512
	c := Limits{HeaderBuffer: 256, LargeBuffers: 3, LargeBufferSize: 600}   // 256; 3 600
	d := Limits{HeaderBuffer: 1024, LargeBuffers: 4, LargeBufferSize: 8192} // nginx's defaults
	rep := func(n, k int) []int {
		s := make([]int, k)
		for i := range s {
			s[i] = n
		}
		return s
	}
	tests := []struct {
		name   string
		lim    Limits
		lead   int
		rl     int
		fields []int
		want   error
	}{
		{"700-byte field in a 811-byte head", a, 0, 100, []int{700}, nil},
		{"906-byte field, head 1017", a, 0, 100, []int{906}, nil},
		{"1000-byte field crosses 1k", a, 0, 100, []int{1000}, ErrHeaderTooLarge},
		{"700-byte request line", a, 0, 700, nil, nil},
		{"1024-byte request line", a, 0, 1024, nil, nil},
		{"1025-byte request line", a, 0, 1025, nil, ErrURITooLong},
		{"1030-byte request line", a, 0, 1030, nil, ErrURITooLong},
		{"512-byte field moved whole", a, 0, 100, []int{500, 512}, nil},
		{"513-byte field moved", a, 0, 100, []int{500, 513}, ErrHeaderTooLarge},
		{"512-byte field fills the large buffer", a, 0, 100, []int{900, 512}, nil},
		{"six 300-byte fields need a third buffer", a, 0, 100, rep(300, 6), ErrHeaderTooLarge},
		{"eight 200-byte fields fit two", a, 0, 100, rep(200, 8), nil},
		{"511-byte request line, head over 1k", a, 0, 511, []int{300, 300}, nil},
		{"leading CRLFs push the line over", a, 4, 1020, nil, ErrURITooLong},
		{"leading CRLFs, 1030-byte line", a, 4, 1030, nil, ErrURITooLong},
		{"request line ends the first buffer", a, 0, 1015, []int{100}, nil},
		{"two full large buffers, then the end", a, 0, 1015, []int{512, 512}, ErrHeaderTooLarge},
		{"two full large buffers, then more", a, 0, 1015, []int{512, 512, 100}, ErrHeaderTooLarge},
		{"400+510+510", a, 0, 100, []int{400, 510, 510}, nil},
		{"big first buffer: 1500-byte line", b, 0, 1500, nil, nil},
		{"big first buffer: 2048-byte line", b, 0, 2048, nil, nil},
		{"big first buffer: 2049-byte line", b, 0, 2049, nil, ErrURITooLong},
		{"big first buffer: 1800-byte field", b, 0, 100, []int{1800}, nil},
		{"big first buffer: 1000-byte field crosses", b, 0, 100, []int{1000, 1000}, ErrHeaderTooLarge},
		{"big first buffer: 511 after 1500", b, 0, 100, []int{1500, 511}, nil},
		{"big first buffer: 600 after 1500", b, 0, 100, []int{1500, 600}, ErrHeaderTooLarge},
		{"small first buffer: 600-byte line", c, 0, 600, nil, nil},
		{"small first buffer: 601-byte line", c, 0, 601, nil, ErrURITooLong},
		{"small first buffer: 590-byte field", c, 0, 100, []int{590}, nil},
		{"small first buffer: 600-byte field", c, 0, 100, []int{100, 600}, nil},
		{"small first buffer: 601-byte field", c, 0, 100, []int{100, 601}, ErrHeaderTooLarge},
		{"small first buffer: three 500s", c, 0, 100, rep(500, 3), nil},
		{"small first buffer: four 500s", c, 0, 100, rep(500, 4), ErrHeaderTooLarge},
		{"defaults: 8192-byte line", d, 0, 8192, nil, nil},
		{"defaults: 8193-byte line", d, 0, 8193, nil, ErrURITooLong},
		{"defaults: 8192-byte field", d, 0, 100, []int{8192}, nil},
		{"defaults: 8193-byte field", d, 0, 100, []int{8193}, ErrHeaderTooLarge},
		{"defaults: six 5000s", d, 0, 100, rep(5000, 6), ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			lim.MaxHeaderBytes = lim.HeaderBuffer + lim.LargeBuffers*lim.LargeBufferSize
			if _, err := parseAll(t, bufHead(tt.lead, tt.rl, tt.fields...), lim); err != tt.want {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestBufferRoom: the room after a head in the nginx buffer it ended in,
// the body bytes nginx reads with it: the first buffer's rest, or the rest
// of the large buffer its last line moved to; zero without HeaderBuffer.
func TestBufferRoom(t *testing.T) {
	lim := Limits{HeaderBuffer: 1024, LargeBuffers: 4, LargeBufferSize: 8192}
	line := func(target string) string { return "POST " + target + " HTTP/1.1\r\nHost: a\r\n\r\n" }
	tests := []struct {
		name, head string
		lim        Limits
		want       int
	}{
		{"first buffer", line("/p"), lim, 1024 - len(line("/p"))},
		{"after CRLFs", "\r\n" + line("/p"), lim, 1024 - 2 - len(line("/p"))},
		// The request line crossed the first buffer: it moved to a large
		// buffer, which takes the rest of the head.
		{"large buffer", line("/" + strings.Repeat("x", 4000)), lim, 8192 - len(line("/"+strings.Repeat("x", 4000)))},
		{"no buffers", line("/p"), Limits{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			defer r.Reset()
			if err := ReadRequest(bufio.NewReader(strings.NewReader(tt.head+"3\r\nabc\r\n0\r\n\r\n")), &r, tt.lim); err != nil {
				t.Fatal(err)
			}
			if got := r.BufferRoom(); got != tt.want {
				t.Errorf("BufferRoom() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestRequestLineFaultWithin: where nginx's left-to-right parser refuses a
// request line, against a cut at n bytes.
func TestRequestLineFaultWithin(t *testing.T) {
	z := strings.Repeat("z", 40)
	tests := []struct {
		line string
		n    int
		want bool
	}{
		{"GET /" + z + " HTTP/1.1", 10, false},      // good line
		{"G1 /" + z + " HTTP/1.1", 10, true},        // method
		{"GET", 2, false},                           // a method cut short
		{"get /" + z + " HTTP/1.1", 2, true},        // method, cut in it
		{"PATCH ?x" + z + " HTTP/1.1", 10, true},    // target form
		{"GET /a\tb" + z + " HTTP/1.1", 10, true},   // control byte in the target
		{"GET /" + z + "\tb HTTP/1.1", 10, false},   // ... past the cut
		{"GET http:h/" + z + " HTTP/1.1", 20, true}, // absolute form without "//"
		{"GET /%zz" + z + " HTTP/1.1", 20, false},   // escapes are checked after the line
		{"GET /" + z + " HTTP/1.x", 54, true},       // version, cut after its bad byte
		{"GET /" + z + " HTTP/1.x", 53, false},      // ... before it
		{"GET /" + z + " HTXP/1.1", 49, true},
		{"GET /a HTTP/1.1", 100, true}, // fits: refused within, if at all
	}
	for _, tt := range tests {
		if got := RequestLineFaultWithin([]byte(tt.line), tt.n); got != tt.want {
			t.Errorf("RequestLineFaultWithin(%q, %d) = %v, want %v", tt.line, tt.n, got, tt.want)
		}
	}
}

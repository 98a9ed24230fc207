package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// decodeChunked decodes raw three ways (Read with a large buffer, Read one
// byte at a time over a tiny bufio buffer, WriteTo) and fails unless they
// agree. It returns the data, the kept trailers as "name: value\n" lines and
// the error (nil for a complete body).
func decodeChunked(t *testing.T, raw string, lim BodyLimits) (string, string, error) {
	t.Helper()
	type result struct {
		data, trailers string
		err            error
	}
	run := func(size int, how string) result {
		var c ChunkedReader
		c.Reset(bufio.NewReaderSize(strings.NewReader(raw), size), lim)
		var out bytes.Buffer
		var err error
		switch how {
		case "read":
			_, err = io.Copy(&out, struct{ io.Reader }{&c}) // hide WriteTo
		case "byte":
			p := make([]byte, 1)
			for {
				var n int
				n, err = c.Read(p)
				out.Write(p[:n])
				if err != nil {
					break
				}
			}
			if err == io.EOF {
				err = nil
			}
		case "writeto":
			_, err = c.WriteTo(&out)
		}
		var tr strings.Builder
		for _, h := range c.Trailers() {
			fmt.Fprintf(&tr, "%s: %s\n", h.Name, h.Value)
		}
		return result{out.String(), tr.String(), err}
	}
	want := run(4096, "read")
	for _, alt := range []struct {
		size int
		how  string
	}{{4096, "byte"}, {4096, "writeto"}, {2048, "byte"}, {2048, "writeto"}} {
		got := run(alt.size, alt.how)
		if got.err != want.err || (want.err == nil && got != want) {
			t.Fatalf("%s (bufio %d): %+v, Read gave %+v", alt.how, alt.size, got, want)
		}
	}
	return want.data, want.trailers, want.err
}

func TestChunkedValid(t *testing.T) {
	tests := []struct {
		name, raw, data, trailers string
		lim                       BodyLimits
	}{
		{"empty body", "0\r\n\r\n", "", "", BodyLimits{}},
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", "", BodyLimits{}},
		{"several chunks, hex case", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n1\r\n!\r\n0\r\n\r\n", "0123456789abcdefghij!", "", BodyLimits{}},
		{"leading zeros up to 16 digits", "0000000000000003\r\nabc\r\n0000\r\n\r\n", "abc", "", BodyLimits{}},
		{"extensions", "3;a\r\nabc\r\n2;a=b;c=\"d e\\\"f\"\r\nde\r\n1; x = y ;z\r\nf\r\n0;last\r\n\r\n", "abcdef", "", BodyLimits{}},
		{"trailers kept and dropped", "1\r\nx\r\n0\r\nX-Checksum: abc\r\nContent-Length: 9\r\nHost: evil\r\nAuthorization: t\r\nCookie: c\r\nContent-Type: a/b\r\nx-forwarded-for: 1.2.3.4\r\nX_Under: 1\r\nServer-Timing: db;dur=5\r\n\r\n",
			"x", "X-Checksum: abc\nServer-Timing: db;dur=5\n", BodyLimits{}},
		{"underscore trailer kept on request", "0\r\nX_Under: 1\r\n\r\n", "", "X_Under: 1\n", BodyLimits{KeepUnderscoreTrailers: true}},
		{"body exactly at max", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde", "", BodyLimits{MaxBytes: 5}},
		{"big chunk", "1000\r\n" + strings.Repeat("z", 4096) + "\r\n0\r\n\r\n", strings.Repeat("z", 4096), "", BodyLimits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, trailers, err := decodeChunked(t, tt.raw, tt.lim)
			if err != nil || data != tt.data || trailers != tt.trailers {
				t.Fatalf("got %q trailers %q err %v, want %q trailers %q", data, trailers, err, tt.data, tt.trailers)
			}
		})
	}
}

func TestChunkedInvalid(t *testing.T) {
	longExt := "1;" + strings.Repeat("e", 1100) + "\r\nx\r\n0\r\n\r\n"
	manyExt := strings.Repeat("1;"+strings.Repeat("e", 100)+"\r\nx\r\n", 11) + "0\r\n\r\n"
	bigTrailer := "0\r\nX: " + strings.Repeat("t", 5000) + "\r\n\r\n"
	tests := []struct {
		name, raw string
		lim       BodyLimits
		want      error
	}{
		{"not hex", "g\r\n", BodyLimits{}, ErrChunkSize},
		{"empty size", "\r\nabc\r\n", BodyLimits{}, ErrChunkSize},
		{"17 digits", "00000000000000001\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkSize},
		{"overflow int64", "8000000000000000\r\n", BodyLimits{}, ErrChunkSize},
		{"sign", "+5\r\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrChunkSize},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrChunkSize},
		{"space after size", "5 \r\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrChunkSize},
		{"space before extension", "5 ;a\r\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrChunkSize},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrBareLF},
		{"bare CR in size line", "5\r;a\r\nhello\r\n0\r\n\r\n", BodyLimits{}, ErrBareCR},
		{"bare LF after last chunk", "0\n\r\n", BodyLimits{}, ErrBareLF},
		{"bare LF ending trailers", "0\r\n\n", BodyLimits{}, ErrBareLF},
		{"data longer than size", "3\r\nabcd\r\n0\r\n\r\n", BodyLimits{}, ErrChunkData},
		{"data shorter than size", "5\r\nabc\r\n0\r\n\r\n", BodyLimits{}, ErrChunkData},
		{"data then bare LF", "3\r\nabc\n0\r\n\r\n", BodyLimits{}, ErrChunkData},
		{"data then bare CR", "3\r\nabc\r0\r\n\r\n", BodyLimits{}, ErrChunkData},
		{"empty extension", "1;\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"extension without value", "1;a=\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"extension unterminated quote", "1;a=\"b\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"extension trailing space", "1;a \r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"extension bad name", "1;(a)\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"extension control in quotes", "1;a=\"\x01\"\r\nx\r\n0\r\n\r\n", BodyLimits{}, ErrChunkExtension},
		{"one long extension", longExt, BodyLimits{}, ErrChunkExtension},
		{"extensions over the total cap", manyExt, BodyLimits{}, ErrChunkExtension},
		{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", BodyLimits{}, ErrObsFold},
		{"trailer without colon", "0\r\nX\r\n\r\n", BodyLimits{}, ErrMissingColon},
		{"trailer leading whitespace", "0\r\n X: a\r\n\r\n", BodyLimits{}, ErrLeadingWhitespace},
		{"trailer NUL", "0\r\nX: a\x00\r\n\r\n", BodyLimits{}, ErrControlChar},
		{"trailer too large", bigTrailer, BodyLimits{}, ErrTrailerTooLarge},
		{"over max bytes", "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", BodyLimits{MaxBytes: 5}, ErrBodyTooLarge},
		{"truncated in data", "5\r\nhel", BodyLimits{}, io.ErrUnexpectedEOF},
		{"truncated in size", "5", BodyLimits{}, io.ErrUnexpectedEOF},
		{"truncated before CRLF", "3\r\nabc", BodyLimits{}, io.ErrUnexpectedEOF},
		{"truncated after CR", "3\r\nabc\r", BodyLimits{}, io.ErrUnexpectedEOF},
		{"truncated in trailers", "0\r\nX: a\r\n", BodyLimits{}, io.ErrUnexpectedEOF},
		{"no trailer section", "0\r\n", BodyLimits{}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeChunked(t, tt.raw, tt.lim)
			if err != tt.want {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var e Error
			if errors.As(err, &e) && !e.Close() {
				t.Fatalf("%v does not close", e)
			}
		})
	}
}

// TestChunkedSizeFaultBeforeLineEnd checks that a chunk-size line fails at
// its first impossible byte, as nginx's parser does, while the client still
// holds the connection open and the line's LF has not come: the reader must
// not wait for more.
func TestChunkedSizeFaultBeforeLineEnd(t *testing.T) {
	tests := []struct {
		name, sent string
		want       error
	}{
		{"not hex", "zz", ErrChunkSize},
		{"after a chunk", "3\r\nabc\r\nq", ErrChunkSize},
		{"space after size", "5 ", ErrChunkSize},
		{"sign", "+5", ErrChunkSize},
		{"17 digits", "00000000000000001", ErrChunkSize},
		{"CR then not LF", "5\rx", ErrBareCR},
		{"empty size", "\rx", ErrChunkSize},
		// nginx 1.22.1 refuses a chunk's data followed by another byte than
		// CR at that byte (recorded: "3\r\nabcX", then nothing: 400 at once).
		{"data end not CR", "3\r\nabcX", ErrChunkData},
		{"second data end not CR", "3\r\nabc\r\n3\r\nabcX", ErrChunkData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pr.Close()
			go pw.Write([]byte(tt.sent)) // and nothing more: the pipe stays open
			var c ChunkedReader
			c.Reset(bufio.NewReader(pr), BodyLimits{})
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, &c)
				done <- err
			}()
			select {
			case err := <-done:
				if err != tt.want {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the reader waits for the line's end")
			}
		})
	}
}

// TestChunkedReady checks Ready, which says whether a Read returns without
// reading from the source: the discard before an answer relies on it.
func TestChunkedReady(t *testing.T) {
	tests := []struct {
		name, buffered string
		reads          int // one-byte Reads done first
		want           bool
	}{
		{"nothing buffered", "", 0, false},
		{"size line incomplete", "5", 0, false},
		{"size line whole", "5\r\n", 0, true},
		{"bad size line without LF", "zz", 0, true},
		{"data buffered", "5\r\nhe", 1, true},
		{"data all read", "5\r\nhe", 2, false},
		{"CR of the data CRLF alone", "2\r\nhe\r", 2, false},
		{"a data end that is not CR", "2\r\nheX", 2, true},
		{"body done", "0\r\n\r\n", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pr.Close()
			br := bufio.NewReader(pr)
			go pw.Write([]byte(tt.buffered))
			if tt.buffered != "" {
				if _, err := br.Peek(len(tt.buffered)); err != nil {
					t.Fatal(err)
				}
			}
			var c ChunkedReader
			c.Reset(br, BodyLimits{})
			p := make([]byte, 1)
			for range tt.reads {
				c.Read(p)
			}
			if got := c.Ready(); got != tt.want {
				t.Fatalf("Ready() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestChunkedReadBuffered checks ReadBuffered, the discard before an
// answer: it decodes what is buffered and returns where Read would wait for
// the source (after a size line, after the last chunk's, inside the trailer
// section), with the fault or the end when they are buffered.
func TestChunkedReadBuffered(t *testing.T) {
	tests := []struct {
		name, buffered, data string
		err                  error
	}{
		{"size line only", "5\r\n", "", nil},
		{"part of the data", "5\r\nab", "ab", nil},
		{"data without its CRLF", "5\r\nabcde", "abcde", nil},
		{"last chunk only", "0\r\n", "", nil},
		{"inside the trailer section", "0\r\nX: y\r\n", "", nil},
		{"trailer section whole", "0\r\nX: y\r\n\r\n", "", io.EOF},
		{"body whole", "3\r\nabc\r\n0\r\n\r\n", "abc", io.EOF},
		{"bad size line", "zz", "", ErrChunkSize},
		{"a good chunk then a bad one", "3\r\nabc\r\nzz\r\n", "abc", ErrChunkSize},
		{"bad data end", "3\r\nabcXY", "abc", ErrChunkData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pr.Close()
			br := bufio.NewReader(pr)
			go pw.Write([]byte(tt.buffered))
			if _, err := br.Peek(len(tt.buffered)); err != nil {
				t.Fatal(err)
			}
			var c ChunkedReader
			c.Reset(br, BodyLimits{})
			type result struct {
				data string
				err  error
			}
			done := make(chan result, 1)
			go func() {
				var got []byte
				p := make([]byte, 2)
				for {
					n, err := c.ReadBuffered(p)
					got = append(got, p[:n]...)
					if err != nil || n == 0 {
						done <- result{string(got), err}
						return
					}
				}
			}()
			select {
			case r := <-done:
				if r.data != tt.data || !errors.Is(r.err, tt.err) {
					t.Fatalf("got %q, %v; want %q, %v", r.data, r.err, tt.data, tt.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadBuffered waits for the source")
			}
		})
	}
}

func TestChunkedReadDoesNotBlockForNextChunk(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		pw.Write([]byte("3\r\nabc\r\n"))
		// The rest comes only after the reader returned the first chunk;
		// the test would deadlock if Read waited for it.
	}()
	var c ChunkedReader
	c.Reset(bufio.NewReader(pr), BodyLimits{})
	p := make([]byte, 64)
	n, err := c.Read(p)
	if err != nil || string(p[:n]) != "abc" {
		t.Fatalf("Read = %q, %v", p[:n], err)
	}
	go func() {
		pw.Write([]byte("0\r\n\r\n"))
		pw.Close()
	}()
	n, err = c.Read(p)
	if n != 0 || err != io.EOF {
		t.Fatalf("second Read = %d, %v", n, err)
	}
}

func TestLengthReader(t *testing.T) {
	tests := []struct {
		name, raw string
		n         int64
		want      string
		err       error
	}{
		{"exact", "hello", 5, "hello", nil},
		{"stops at length", "hello world", 5, "hello", nil},
		{"zero", "x", 0, "", nil},
		{"truncated", "hel", 5, "hel", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, how := range []string{"read", "writeto"} {
				br := bufio.NewReaderSize(strings.NewReader(tt.raw), 16)
				var l LengthReader
				l.Reset(br, tt.n)
				var out bytes.Buffer
				var err error
				if how == "read" {
					_, err = io.Copy(&out, struct{ io.Reader }{&l})
				} else {
					_, err = l.WriteTo(&out)
				}
				if out.String() != tt.want || err != tt.err {
					t.Fatalf("%s: %q %v, want %q %v", how, out.String(), err, tt.want, tt.err)
				}
				if tt.err == nil {
					rest, _ := io.ReadAll(br)
					if string(rest) != tt.raw[tt.n:] {
						t.Fatalf("%s: left %q", how, rest)
					}
				}
			}
		})
	}
}

func TestBody(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		framing  Framing
		length   int64
		lim      BodyLimits
		resetErr error
		want     string
		readErr  error
		done     bool
	}{
		{"none", "GET", NoBody, 0, BodyLimits{}, nil, "", nil, true},
		{"length", "abcdef", LengthBody, 3, BodyLimits{}, nil, "abc", nil, true},
		{"length over max", "abcdef", LengthBody, 6, BodyLimits{MaxBytes: 5}, ErrBodyTooLarge, "", nil, true},
		{"chunked", "3\r\nabc\r\n0\r\n\r\n", ChunkedBody, -1, BodyLimits{}, nil, "abc", nil, true},
		{"chunked over max", "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", ChunkedBody, -1, BodyLimits{MaxBytes: 4}, nil, "abc", ErrBodyTooLarge, false},
		{"until close", "all of it", CloseBody, -1, BodyLimits{}, nil, "all of it", nil, true},
		{"until close over max", "all of it", CloseBody, -1, BodyLimits{MaxBytes: 3}, nil, "all", ErrBodyTooLarge, false},
		{"length truncated", "ab", LengthBody, 3, BodyLimits{}, nil, "ab", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Body
			err := b.Reset(bufio.NewReader(strings.NewReader(tt.raw)), tt.framing, tt.length, tt.lim)
			if err != tt.resetErr {
				t.Fatalf("Reset: %v, want %v", err, tt.resetErr)
			}
			if err != nil {
				if n, rerr := b.Read(make([]byte, 8)); n != 0 || rerr != err || b.Done() {
					t.Fatalf("after a failed Reset: Read %d %v, Done %v", n, rerr, b.Done())
				}
				return
			}
			var out bytes.Buffer
			_, err = io.Copy(&out, &b)
			if out.String() != tt.want || err != tt.readErr || b.Done() != tt.done {
				t.Fatalf("got %q %v done=%v, want %q %v done=%v", out.String(), err, b.Done(), tt.want, tt.readErr, tt.done)
			}
		})
	}
}

// TestChunkedFraming checks that Framing plus the data is every byte of a
// chunked body read (nginx's $request_length counts them all), and Declared
// the sum of the chunk sizes (its $content_length after a chunked body).
func TestChunkedFraming(t *testing.T) {
	tests := []struct {
		raw      string
		declared int64
	}{
		{"0\r\n\r\n", 0},
		{"3\r\nabc\r\n0\r\n\r\n", 3},
		{"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 5},
		{"3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", 3},
		{"00a\r\n0123456789\r\n0\r\n\r\n", 10},
	}
	for _, tt := range tests {
		var c ChunkedReader
		c.Reset(bufio.NewReader(strings.NewReader(tt.raw)), BodyLimits{})
		data, err := io.ReadAll(&c)
		if err != nil {
			t.Fatalf("%q: %v", tt.raw, err)
		}
		if got := int64(len(data)) + c.Framing(); got != int64(len(tt.raw)) || c.Declared() != tt.declared {
			t.Errorf("%q: data+framing %d, declared %d; want %d, %d", tt.raw, got, c.Declared(), len(tt.raw), tt.declared)
		}
	}
}

// TestChunkedConsumed checks that Consumed counts the wire bytes of a
// chunked body read so far, midway through a chunk too.
func TestChunkedConsumed(t *testing.T) {
	raw := "3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"
	var c ChunkedReader
	c.Reset(bufio.NewReader(strings.NewReader(raw)), BodyLimits{})
	p := make([]byte, 2)
	n, err := io.ReadFull(&c, p) // "ab": the size line and 2 bytes of data
	if err != nil || n != 2 || c.Consumed() != 5 {
		t.Fatalf("after %q: Consumed %d (%v), want 5", p[:n], c.Consumed(), err)
	}
	if _, err := io.ReadAll(&c); err != nil {
		t.Fatal(err)
	}
	if c.Consumed() != int64(len(raw)) {
		t.Errorf("at the end Consumed %d, want %d", c.Consumed(), len(raw))
	}
}

// TestBodyLimitChunkedAndBuffered: LimitChunked caps a chunked body set up
// without a limit at the size line of the chunk that goes past it (none of
// that chunk's data is read, as nginx's client_max_body_size check), and
// Buffered counts the bytes of a length-delimited body already in the
// buffer, never more than the body's rest.
func TestBodyLimitChunkedAndBuffered(t *testing.T) {
	var b Body
	if err := b.Reset(bufio.NewReader(strings.NewReader("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")), ChunkedBody, -1, BodyLimits{}); err != nil {
		t.Fatal(err)
	}
	b.LimitChunked(8)
	var out bytes.Buffer
	if _, err := io.Copy(&out, &b); out.String() != "hello" || err != ErrBodyTooLarge {
		t.Fatalf("chunked limited to 8: %q %v, want %q %v", out.String(), err, "hello", ErrBodyTooLarge)
	}
	if b.Buffered() != 0 {
		t.Fatalf("Buffered of a chunked body: %d", b.Buffered())
	}
	br := bufio.NewReader(strings.NewReader("helloworld and the next request"))
	br.Peek(1) // fill the buffer, as a head read does
	if err := b.Reset(br, LengthBody, 10, BodyLimits{}); err != nil {
		t.Fatal(err)
	}
	b.LimitChunked(4) // not chunked: no effect
	for _, step := range []struct{ want, read int }{{10, 3}, {7, 7}, {0, 0}} {
		if got := b.Buffered(); got != step.want {
			t.Fatalf("Buffered %d, want %d", got, step.want)
		}
		if _, err := io.ReadFull(&b, make([]byte, step.read)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChunkedPrefixFault: the first bytes of a chunked body are refused
// for the fault ChunkedReader would refuse them for, and a well-formed
// beginning, cut anywhere, is not.
func TestChunkedPrefixFault(t *testing.T) {
	whole := "3\r\nabc\r\n3;x=y\r\ndef\r\n0\r\nT: v\r\n\r\n"
	for i := 0; i <= len(whole); i++ {
		if err := ChunkedPrefixFault([]byte(whole[:i])); err != nil {
			t.Errorf("ChunkedPrefixFault(%q) = %v, want nil", whole[:i], err)
		}
	}
	tests := []struct {
		in   string
		want error
	}{
		{"zz\r\n", ErrChunkSize},
		{"3\r\nabc\r\nz", ErrChunkSize},
		{"3\r\nabcX", ErrChunkData},
		{"3\r\nabc\n", ErrChunkData},
		{"3\r\nabc\r\n0\r\nT v\r\n\r\n", ErrMissingColon}, // found at the section's end
	}
	for _, tt := range tests {
		if err := ChunkedPrefixFault([]byte(tt.in)); err != tt.want {
			t.Errorf("ChunkedPrefixFault(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// TestChunkedPrefixEnd: ChunkedPrefix gives the length of a body that ends
// within its bytes, trailer section included, and -1 for one cut short.
func TestChunkedPrefixEnd(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"3\r\nabc\r\n0\r\n\r\n", 13},
		{"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 13},
		{"3\r\nabc\r\n0\r\nT: v\r\n\r\n", 19},
		{"3\r\nabc\r\n0\r\n", -1},
		{"3\r\nabc\r\n", -1},
		{"", -1},
	}
	for _, tt := range tests {
		if end, err := ChunkedPrefix([]byte(tt.in)); end != tt.want || err != nil {
			t.Errorf("ChunkedPrefix(%q) = %d, %v; want %d, nil", tt.in, end, err, tt.want)
		}
	}
}

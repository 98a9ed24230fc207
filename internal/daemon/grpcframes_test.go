package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Field is one HPACK field of a raw HTTP/2 head.
type h2Field struct{ name, value string }

// h2Block HPACK-codes fields.
func h2Block(fields ...h2Field) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f.name, Value: f.value})
	}
	return buf.Bytes()
}

// rawGRPCUpstream is an h2c gRPC server that speaks frames itself: for
// each request it sends whether the request's HEADERS frame ended the
// stream on heads, and once the request has ended (END_STREAM on its
// HEADERS or DATA) it answers with the frames answer writes.
func rawGRPCUpstream(t *testing.T, answer func(fr *http2.Framer, sid uint32)) (addr string, heads <-chan bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan bool, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRawGRPC(c, ch, answer)
		}
	}()
	return ln.Addr().String(), ch
}

func serveRawGRPC(c net.Conn, heads chan<- bool, answer func(fr *http2.Framer, sid uint32)) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	_ = fr.WriteSettings()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			heads <- f.StreamEnded()
			if f.StreamEnded() {
				answer(fr, f.StreamID)
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				answer(fr, f.StreamID)
			}
		}
	}
}

// h2cFrame is what a raw client saw of a frame of its stream.
type h2cFrame struct {
	typ   http2.FrameType
	flags http2.Flags
	len   int
}

func (f h2cFrame) String() string { return fmt.Sprintf("%v flags=%#x len=%d", f.typ, f.flags, f.len) }

// rawH2CStream sends one request over h2c to addr, its HEADERS frame
// ending the stream when body is nil, else followed by one DATA frame that
// ends it, and returns the frames of stream 1 up to the one that ends it.
func rawH2CStream(t *testing.T, addr, path string, body []byte) []h2cFrame {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	block := h2Block(h2Field{":method", "POST"}, h2Field{":scheme", "http"}, h2Field{":path", path},
		h2Field{":authority", "localhost"}, h2Field{"content-type", "application/grpc"}, h2Field{"te", "trailers"})
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block,
		EndHeaders: true, EndStream: body == nil}); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		_ = fr.WriteData(1, true, body)
	}
	var got []h2cFrame
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
			continue
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v after %v", f.ErrCode, got)
		}
		h := f.Header()
		if h.StreamID != 1 {
			continue
		}
		got = append(got, h2cFrame{h.Type, h.Flags, int(h.Length)})
		if h.Flags.Has(http2.FlagHeadersEndStream) || h.Type == http2.FrameRSTStream {
			return got
		}
	}
}

// TestGRPCTrailersOnlyEndsWithHead: a gRPC server that answers with its
// head alone, the stream ended there (a trailers-only answer, grpc-status
// in the head), is passed on to an HTTP/2 client as nginx does: one
// HEADERS frame with END_STREAM, no DATA frame after it (recorded with
// nginx 1.22.1, nginx-tests grpc.t "grpc error - HEADERS flags" 5 and "no
// DATA frame"). fulcrum flushed the head first, so the stream ended in an
// empty DATA frame of its own.
func TestGRPCTrailersOnlyEndsWithHead(t *testing.T) {
	up, _ := rawGRPCUpstream(t, func(fr *http2.Framer, sid uint32) {
		block := h2Block(h2Field{":status", "200"}, h2Field{"content-type", "application/grpc"},
			h2Field{"grpc-status", "12"}, h2Field{"grpc-message", "unknown service"})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: block, EndHeaders: true, EndStream: true})
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://%s; } }`, up))
	got := rawH2CStream(t, addr, "/SayHello", []byte("Hello"))
	if len(got) != 1 || got[0].typ != http2.FrameHeaders || got[0].flags != http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream {
		t.Errorf("frames %v, want one HEADERS with END_STREAM|END_HEADERS", got)
	}
}

// TestGRPCNoBodyEndsStreamOnHeaders: a request whose HEADERS frame ended
// its stream goes to the gRPC server in a HEADERS frame that ends the
// stream too, as nginx sends it (recorded with nginx 1.22.1, nginx-tests
// grpc.t "continuation - HEADERS flags": 1, END_STREAM); fulcrum sent the
// head alone and ended the stream in an empty DATA frame.
func TestGRPCNoBodyEndsStreamOnHeaders(t *testing.T) {
	up, heads := rawGRPCUpstream(t, func(fr *http2.Framer, sid uint32) {
		block := h2Block(h2Field{":status", "200"}, h2Field{"content-type", "application/grpc"}, h2Field{"grpc-status", "0"})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: block, EndHeaders: true, EndStream: true})
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://%s; } }`, up))
	rawH2CStream(t, addr, "/Empty", nil)
	select {
	case ended := <-heads:
		if !ended {
			t.Error("the upstream request's HEADERS frame did not end the stream")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the upstream")
	}
}

// TestGRPCInvalidEncodedHead: a gRPC server's head that HPACK cannot
// decode (a Huffman string padded with zero bits, RFC 7541 5.2) is an
// invalid header, 502, logged as nginx 1.22.1 logs it (recorded: "upstream
// sent invalid encoded header" and "upstream sent invalid header while
// reading response header from upstream"; Go's client tells no more than
// COMPRESSION_ERROR, so fulcrum logs the second), not as a head over
// grpc_buffer_size: over h2c fulcrum counts the head's bytes itself
// (grpcHeadConn), and this one is 30 bytes.
func TestGRPCInvalidEncodedHead(t *testing.T) {
	up, _ := rawGRPCUpstream(t, func(fr *http2.Framer, sid uint32) {
		block := h2Block(h2Field{":status", "200"}, h2Field{"content-type", "application/grpc"})
		// x-v: a literal without indexing, a new name, and a Huffman
		// value of one byte: "1" (00001) padded with 000, not 111.
		block = append(block, 0x00, 0x03, 'x', '-', 'v', 0x81, 0x08)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: block, EndHeaders: true, EndStream: true})
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://%s; } }`, up))
	resp, _ := h2Do(t, h2cClient(t, addr), "GET", "http://"+addr+"/x", "")
	if resp.StatusCode != 502 {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	waitLogged(t, filepath.Join(dir, "error.log"), "[error]",
		"upstream sent invalid header while reading response header from upstream", `request: "GET /x HTTP/2.0"`)
}

package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"fulcrum/internal/config"
)

// TestGRPCTooBig: a head over the bound is nginx's "upstream sent too big
// header", an invalid header, whichever way Go's client or grpcHeadConn
// reported it, and over h2c a COMPRESSION_ERROR that grpcHeadConn did not
// cause is "upstream sent invalid header"; other errors are left to
// classify.
func TestGRPCTooBig(t *testing.T) {
	const (
		big     = "upstream sent too big header while reading response header from upstream"
		invalid = "upstream sent invalid header while reading response header from upstream"
	)
	tests := []struct {
		err       error
		wireBound bool   // grpcHeadConn counted the head (h2c)
		want      string // "" for none
	}{
		{fmt.Errorf("read: %w", errGRPCHeadTooBig), true, big},
		{fmt.Errorf("read: %w", errGRPCHeadTooBig), false, big},
		{errors.New("net/http: HTTP/1.x transport connection broken: http2: response header list larger than advertised limit"), true, big},
		{errors.New("connection error: COMPRESSION_ERROR"), false, big},
		// over h2c a head over the bound is grpcHeadConn's: a
		// COMPRESSION_ERROR is a head HPACK cannot decode
		{errors.New("connection error: COMPRESSION_ERROR"), true, invalid},
		{errors.New("http2: client conn is closed: connection error: PROTOCOL_ERROR"), false, big},
		{errors.New("stream error: stream ID 1; PROTOCOL_ERROR; received from peer"), false, ""},
		{errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=PROTOCOL_ERROR, debug=""`), false, ""},
		{errors.New("connection error: FLOW_CONTROL_ERROR"), false, ""},
		{io.ErrUnexpectedEOF, false, ""},
	}
	for _, tt := range tests {
		f := grpcTooBig(tt.err, tt.wireBound)
		switch {
		case tt.want == "" && f != nil:
			t.Errorf("%q: %q, want none", tt.err, f.msg)
		case tt.want != "" && f == nil:
			t.Errorf("%q: none, want %q", tt.err, tt.want)
		case f != nil && (f.msg != tt.want || f.cond != config.NextInvalidHeader || f.status != 502):
			t.Errorf("%q (wire bound %v): %q cond %v status %d, want %q invalid_header 502", tt.err, tt.wireBound, f.msg, f.cond, f.status, tt.want)
		}
	}
}

// h2Frame is an HTTP/2 frame of type typ with flags on stream, its
// payload n bytes.
func h2Frame(typ, flags byte, stream uint32, n int) []byte {
	f := []byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}
	return append(f, bytes.Repeat([]byte{'x'}, n)...)
}

// TestGRPCHeadConn: grpcHeadConn counts each stream's first header block,
// frame headers included, across CONTINUATION frames and however the bytes
// are split between reads, and fails the read that takes it past the
// limit; other frames, trailers and a later stream's head as a new one
// are not added in.
func TestGRPCHeadConn(t *testing.T) {
	const limit = 100
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	settings := h2Frame(0x4, 0, 0, 30)
	tests := []struct {
		name   string
		stream []byte
		big    bool
	}{
		{"head at the limit", cat(settings, h2Frame(h2FrameHeaders, h2FlagEndHeaders, 1, limit-9), h2Frame(0x0, 1, 1, 500)), false},
		{"head a byte over", cat(settings, h2Frame(h2FrameHeaders, h2FlagEndHeaders, 1, limit-8)), true},
		{"continuation at the limit", cat(h2Frame(h2FrameHeaders, 0, 1, 40), h2Frame(h2FrameContinuation, h2FlagEndHeaders, 1, limit-58)), false},
		{"continuation over", cat(h2Frame(h2FrameHeaders, 0, 1, 40), h2Frame(h2FrameContinuation, 0, 1, 10), h2Frame(h2FrameContinuation, h2FlagEndHeaders, 1, limit-67)), true},
		{"trailers not bounded", cat(h2Frame(h2FrameHeaders, h2FlagEndHeaders, 1, 50), h2Frame(0x0, 0, 1, 10), h2Frame(h2FrameHeaders, h2FlagEndHeaders|1, 1, 500)), false},
		{"next stream's head", cat(h2Frame(h2FrameHeaders, h2FlagEndHeaders, 1, 80), h2Frame(0x0, 1, 1, 0), h2Frame(h2FrameHeaders, h2FlagEndHeaders, 3, 80)), false},
		{"next stream's head over", cat(h2Frame(h2FrameHeaders, h2FlagEndHeaders, 1, 80), h2Frame(h2FrameHeaders, h2FlagEndHeaders, 3, 200)), true},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 7, 4096} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, chunk), func(t *testing.T) {
				a, b := net.Pipe()
				defer a.Close()
				go func() {
					defer b.Close()
					for p := tt.stream; len(p) > 0; p = p[min(chunk, len(p)):] {
						if _, err := b.Write(p[:min(chunk, len(p))]); err != nil {
							return
						}
					}
				}()
				got, err := io.ReadAll(newGRPCHeadConn(a, limit))
				switch {
				case tt.big && !errors.Is(err, errGRPCHeadTooBig):
					t.Errorf("read %d bytes, %v; want errGRPCHeadTooBig", len(got), err)
				case !tt.big && (err != nil || !bytes.Equal(got, tt.stream)):
					t.Errorf("read %d of %d bytes, %v; want them all", len(got), len(tt.stream), err)
				}
			})
		}
	}
}

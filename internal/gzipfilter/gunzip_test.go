package gzipfilter

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"fulcrum/internal/config"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGunzip: a body decompressed whole, in every two pieces and byte by
// byte; a cut or foreign body is an error at Close or Write.
func TestGunzip(t *testing.T) {
	text := strings.Repeat("Hello gz world\n", 3000)
	body := gz(t, text)
	write := func(pieces [][]byte) (string, error) {
		var out bytes.Buffer
		var g Gunzip
		g.Reset(&out)
		for _, p := range pieces {
			if _, err := g.Write(p); err != nil {
				g.Abort()
				return out.String(), err
			}
		}
		err := g.Close()
		if g.Active() {
			t.Error("active after Close")
		}
		return out.String(), err
	}
	if got, err := write([][]byte{body}); got != text || err != nil {
		t.Fatalf("whole: %d bytes, %v", len(got), err)
	}
	for _, cut := range []int{0, 1, 5, 10, 11, len(body) / 2, len(body) - 8, len(body) - 1, len(body)} {
		if got, err := write([][]byte{body[:cut], body[cut:]}); got != text || err != nil {
			t.Fatalf("cut at %d: %d bytes, %v", cut, len(got), err)
		}
	}
	var bytewise [][]byte
	for i := range body {
		bytewise = append(bytewise, body[i:i+1])
	}
	if got, err := write(bytewise); got != text || err != nil {
		t.Fatalf("byte by byte: %d bytes, %v", len(got), err)
	}
	if _, err := write([][]byte{body[:len(body)-4]}); !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrGunzip) {
		t.Errorf("cut short: %v", err)
	}
	if _, err := write([][]byte{[]byte("plain text, not gzip")}); !errors.Is(err, ErrGunzip) {
		t.Errorf("plain text: %v", err)
	}
}

// TestGunzipStreams: what a piece of input yields goes out before the next
// piece comes, once the decompressor has it (a stored block here).
func TestGunzipStreams(t *testing.T) {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.NoCompression)
	_, _ = zw.Write([]byte("first part "))
	_ = zw.Flush()
	head := b.Len()
	_, _ = zw.Write([]byte("second part"))
	_ = zw.Close()
	var out bytes.Buffer
	var g Gunzip
	g.Reset(&out)
	defer g.Abort()
	if _, err := g.Write(b.Bytes()[:head]); err != nil {
		t.Fatal(err)
	}
	if out.String() != "first part " {
		t.Errorf("after the first piece: %q", out.String())
	}
	if _, err := g.Write(b.Bytes()[head:]); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil || out.String() != "first part second part" {
		t.Errorf("after Close: %q, %v", out.String(), err)
	}
}

// TestGunzipApplies: gunzip on and Content-Encoding gzip, without case, and
// nothing else; PrepareGunzip's head is nginx's.
func TestGunzipApplies(t *testing.T) {
	on := &config.Gzip{Gunzip: true}
	tests := []struct {
		g    *config.Gzip
		ce   []string
		want bool
	}{
		{on, []string{"gzip"}, true},
		{on, []string{"GZIP"}, true},
		{on, []string{"x-gzip"}, false},
		{on, []string{"gzip, br"}, false},
		{on, nil, false},
		{&config.Gzip{}, []string{"gzip"}, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.ce != nil {
			h["Content-Encoding"] = tt.ce
		}
		if got := GunzipApplies(tt.g, h); got != tt.want {
			t.Errorf("GunzipApplies(%v, %v) = %v", tt.g.Gunzip, tt.ce, got)
		}
	}
	h := http.Header{"Content-Encoding": {"gzip"}, "Content-Length": {"35"}, "Accept-Ranges": {"bytes"}, "Etag": {`"abc"`}, "Last-Modified": {"x"}}
	PrepareGunzip(h)
	want := http.Header{"Etag": {`W/"abc"`}, "Last-Modified": {"x"}}
	if len(h) != len(want) || h.Get("Etag") != want.Get("Etag") || h.Get("Last-Modified") != "x" {
		t.Errorf("PrepareGunzip: %v", h)
	}
}

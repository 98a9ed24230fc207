package imgfilter

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// TestLimiter: with every slot taken, a transform waits and gives up with
// its context, while the answers that decode nothing go on; a freed slot
// lets the transform run.
func TestLimiter(t *testing.T) {
	body := picture(t, PNG, 40, 30)
	l := NewLimiter(1)
	l.slots <- struct{}{} // a transform in progress
	tests := []struct {
		name string
		p    Params
		wait bool
	}{
		{"resize", Params{Op: Resize, Width: 20, Height: 20, JPEGQuality: 75, MaxPixels: 1 << 20}, true},
		{"rotate", Params{Op: Rotate, Angle: 90, JPEGQuality: 75, MaxPixels: 1 << 20}, true},
		{"size", Params{Op: Size}, false},
		{"test", Params{Op: Test}, false},
		{"resize that fits", Params{Op: Resize, Width: 100, Height: 100, MaxPixels: 1 << 20}, false},
		{"bad value", Params{Op: Resize, Width: 0, Height: 100, MaxPixels: 1 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := l.Process(ctx, body, tt.p)
			if waited := errors.Is(err, context.DeadlineExceeded); waited != tt.wait {
				t.Fatalf("waited %v (%v), want %v", waited, err, tt.wait)
			}
		})
	}
	<-l.slots
	res, err := l.Process(context.Background(), body, tests[0].p)
	if err != nil || res.AsIs {
		t.Fatalf("with a free slot: %v, as is %v", err, res.AsIs)
	}
	if len(l.slots) != 0 {
		t.Fatal("the slot was not released")
	}
}

// progressiveJPEG is a grey progressive JPEG of size x size whose DC scan
// is followed by scans more AC scans, each a few bytes that skip every
// block (end-of-band runs): what a decoding bomb is made of.
func progressiveJPEG(size, scans int) []byte {
	var f bytes.Buffer
	f.Write([]byte{0xff, 0xd8, 0xff, 0xdb, 0, 67, 0})
	f.Write(bytes.Repeat([]byte{1}, 64))
	f.Write([]byte{0xff, 0xc2, 0, 11, 8, byte(size >> 8), byte(size), byte(size >> 8), byte(size), 1, 1, 0x11, 0})
	for _, table := range [][2]byte{{0x00, 0x00}, {0x10, 0xe0}} { // one 1-bit code each: DC diff 0, EOBRUN of 2^14+
		f.Write([]byte{0xff, 0xc4, 0, 20, table[0], 1})
		f.Write(make([]byte, 15))
		f.WriteByte(table[1])
	}
	var bits []int
	flush := func() {
		for len(bits)%8 != 0 {
			bits = append(bits, 1)
		}
		for i := 0; i < len(bits); i += 8 {
			var c byte
			for _, b := range bits[i : i+8] {
				c = c<<1 | byte(b)
			}
			if f.WriteByte(c); c == 0xff {
				f.WriteByte(0)
			}
		}
		bits = bits[:0]
	}
	blocks := (size / 8) * (size / 8)
	f.Write([]byte{0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 0, 0})
	bits = make([]int, blocks)
	flush()
	for range scans {
		f.Write([]byte{0xff, 0xda, 0, 8, 1, 1, 0x00, 1, 63, 0})
		for left := blocks; left > 0; left -= 32767 {
			bits = append(bits, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
		}
		flush()
	}
	f.Write([]byte{0xff, 0xd9})
	return f.Bytes()
}

// TestJPEGScans: a JPEG of more scans than any encoder writes is refused
// before it is decoded (each scan walks the whole image); one of a usual
// progressive script decodes.
func TestJPEGScans(t *testing.T) {
	p := Params{Op: Resize, Width: 10, Height: 10, JPEGQuality: 75, MaxPixels: 1 << 24}
	for _, tt := range []struct {
		scans int
		err   error
	}{
		{9, nil},
		{maxJPEGScans - 1, nil},
		{maxJPEGScans + 50, ErrTooLarge},
	} {
		_, err := Process(progressiveJPEG(64, tt.scans), p)
		if !errors.Is(err, tt.err) {
			t.Errorf("%d scans: %v, want %v", tt.scans+1, err, tt.err)
		}
	}
}

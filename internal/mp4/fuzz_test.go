package mp4

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzRewrite cuts arbitrary files at arbitrary times: Rewrite must never
// panic, must answer with a Body, ErrDeclined or an *Error, and a Body
// must stay inside the file, be no larger than the file's atoms allow and
// read back whole.
func FuzzRewrite(f *testing.F) {
	for _, name := range fixtures {
		b := readFixture(f, name)
		f.Add(b, uint32(1500), uint32(0), false, false)
		f.Add(b, uint32(500), uint32(2500), true, true)
		f.Add(b, uint32(0), uint32(3000), true, false)
	}
	f.Add(synthetic(layout{wide: true, co64: true}), uint32(2000), uint32(4000), true, false)
	f.Add(mutate(f, "av.mp4,u32@7180=0"), uint32(1500), uint32(0), false, false)
	f.Fuzz(func(t *testing.T, file []byte, start, length uint32, keyFrame, small bool) {
		opt := Options{BufferSize: 4096, MaxBufferSize: 1 << 16, StartKeyFrame: keyFrame}
		if small {
			opt.BufferSize, opt.MaxBufferSize = 64, 2048
		}
		rng := Range{Start: uint64(start), Length: uint64(length)}
		body, err := Rewrite(bytes.NewReader(file), int64(len(file)), "f", rng, opt)
		var me *Error
		switch {
		case errors.Is(err, ErrDeclined), errors.As(err, &me):
			return
		case err != nil:
			t.Fatalf("error of another kind: %v", err)
		}
		if body.From < 0 || body.From > body.To || body.To > int64(len(file)) {
			t.Fatalf("data [%d, %d) outside a file of %d bytes", body.From, body.To, len(file))
		}
		// The new moov atom grows by an edit list and two stsc entries per
		// trak at most, and a trak takes more than that in the file.
		if len(body.Head) > 2*len(file)+1024 {
			t.Fatalf("head of %d bytes for a file of %d", len(body.Head), len(file))
		}
		out, err := io.ReadAll(io.NewSectionReader(body, 0, body.Size()))
		if err != nil || int64(len(out)) != body.Size() {
			t.Fatalf("read %d of %d bytes: %v", len(out), body.Size(), err)
		}
	})
}

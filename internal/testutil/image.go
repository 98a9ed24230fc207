package testutil

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// Image encodes a w x h gradient as format "jpeg", "png" or "gif", the
// test images of image_filter's tests.
func Image(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&buf, m, nil)
	case "png":
		err = png.Encode(&buf, m)
	case "gif":
		p := image.NewPaletted(m.Rect, palette.Plan9)
		for y := range h {
			for x := range w {
				p.Set(x, y, m.At(x, y))
			}
		}
		err = gif.Encode(&buf, p, nil)
	default:
		t.Fatalf("testutil.Image: no encoder for %q", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

package imgfilter

import "testing"

// FuzzImageFilter: no body, however crafted, panics the filter or has it
// decode more pixels than MaxPixels allows.
func FuzzImageFilter(f *testing.F) {
	for _, k := range []Type{JPEG, PNG, GIF} {
		f.Add(picture(f, k, 40, 30), uint8(Resize), 20, 20, 0)
		f.Add(picture(f, k, 40, 30), uint8(Crop), 10, 20, 90)
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff"), uint8(Size), 1, 1, 0)
	f.Fuzz(func(t *testing.T, body []byte, op uint8, w, h, angle int) {
		p := Params{Op: Op(op % 6), Width: w, Height: h, Angle: angle, JPEGQuality: 75, Transparency: true, MaxPixels: 1 << 16}
		res, err := Process(body, p)
		if err == nil && len(res.Body) == 0 {
			t.Fatal("an empty answer without an error")
		}
	})
}

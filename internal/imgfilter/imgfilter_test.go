package imgfilter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"testing"

	"fulcrum/internal/testutil"
)

// picture encodes a w x h gradient as an image of type kind.
func picture(t testing.TB, kind Type, w, h int) []byte {
	return testutil.Image(t, kind.String(), w, h)
}

// size decodes an answer's size.
func size(t *testing.T, b []byte) string {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	return fmt.Sprintf("%s %dx%d", format, cfg.Width, cfg.Height)
}

func params(op Op, w, h, angle int) Params {
	return Params{Op: op, Width: w, Height: h, Angle: angle, JPEGQuality: 75, Transparency: true, MaxPixels: 1 << 24}
}

// TestProcess holds nginx 1.22.1's answers (recorded with its image filter
// module over static files): the size of the image sent, or the status.
func TestProcess(t *testing.T) {
	tests := []struct {
		name       string
		kind       Type
		w, h       int
		p          Params
		want       string // the answer's size, or "415"
		asIs       bool
		wantLength bool // the answer is the original bytes
	}{
		{"resize jpeg wide", JPEG, 300, 200, params(Resize, 150, 150, 0), "jpeg 150x100", false, false},
		{"resize jpeg tall", JPEG, 200, 300, params(Resize, 150, 150, 0), "jpeg 100x150", false, false},
		{"resize png", PNG, 300, 200, params(Resize, 150, 150, 0), "png 150x100", false, false},
		{"resize gif", GIF, 300, 200, params(Resize, 150, 150, 0), "gif 150x100", false, false},
		{"resize fits", JPEG, 100, 100, params(Resize, 150, 150, 0), "jpeg 100x100", true, true},
		{"resize rounds down", PNG, 301, 7, params(Resize, 150, 150, 0), "png 150x3", false, false},
		{"resize fits bigger box", PNG, 300, 200, params(Resize, 400, 400, 0), "png 300x200", true, true},
		{"resize width only", PNG, 200, 300, params(Resize, 150, Unlimited, 0), "png 150x225", false, false},
		{"resize height only", JPEG, 300, 200, params(Resize, Unlimited, 50, 0), "jpeg 75x50", false, false},
		{"resize height only fits", GIF, 301, 7, params(Resize, Unlimited, 50, 0), "gif 301x7", true, true},
		{"resize 100 100", JPEG, 300, 200, params(Resize, 100, 100, 0), "jpeg 100x66", false, false},
		{"crop square", JPEG, 300, 200, params(Crop, 100, 100, 0), "jpeg 100x100", false, false},
		{"crop tall png", PNG, 200, 300, params(Crop, 100, 100, 0), "png 100x100", false, false},
		{"crop fits", GIF, 100, 100, params(Crop, 100, 100, 0), "gif 100x100", true, true},
		{"crop thin", JPEG, 301, 7, params(Crop, 100, 100, 0), "jpeg 100x7", false, false},
		{"crop 50x20 wide", JPEG, 300, 200, params(Crop, 50, 20, 0), "jpeg 50x20", false, false},
		{"crop 50x20 tall", JPEG, 200, 300, params(Crop, 50, 20, 0), "jpeg 50x20", false, false},
		{"crop bigger box", JPEG, 300, 200, params(Crop, 400, 400, 0), "jpeg 300x200", true, true},
		{"rotate 90", JPEG, 300, 200, params(Rotate, 0, 0, 90), "jpeg 200x300", false, false},
		{"rotate 90 png", PNG, 300, 200, params(Rotate, 0, 0, 90), "png 200x300", false, false},
		{"rotate 180 gif", GIF, 300, 200, params(Rotate, 0, 0, 180), "gif 300x200", false, false},
		{"rotate 45", JPEG, 300, 200, params(Rotate, 0, 0, 45), "415", false, false},
		{"rotate empty", JPEG, 300, 200, params(Rotate, 0, 0, 0), "415", false, false},
		{"rotate and resize", JPEG, 300, 200, params(Resize, 150, 150, 90), "jpeg 100x150", false, false},
		{"crop and rotate", JPEG, 300, 200, params(Crop, 100, 50, 90), "jpeg 66x50", false, false},
		{"width 0", JPEG, 300, 200, params(Resize, 0, 50, 0), "415", false, false},
		{"jpeg quality 0", JPEG, 300, 200, Params{Op: Resize, Width: 150, Height: 150, MaxPixels: 1 << 24}, "415", false, false},
		{"too many pixels", PNG, 300, 200, Params{Op: Resize, Width: 150, Height: 150, MaxPixels: 300*200 - 1}, "415", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := picture(t, tt.kind, tt.w, tt.h)
			res, err := Process(in, tt.p)
			if tt.want == "415" {
				if err == nil {
					t.Fatalf("Process = %s, want an error (415)", size(t, res.Body))
				}
				return
			}
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if got := size(t, res.Body); got != tt.want {
				t.Errorf("size = %s, want %s", got, tt.want)
			}
			if res.AsIs != tt.asIs || bytes.Equal(res.Body, in) != tt.wantLength {
				t.Errorf("AsIs = %v (same bytes %v), want %v", res.AsIs, bytes.Equal(res.Body, in), tt.asIs)
			}
			if res.ContentType != tt.kind.ContentType() {
				t.Errorf("Content-Type = %q, want %q", res.ContentType, tt.kind.ContentType())
			}
		})
	}
}

// TestSizeAndTest: nginx's JSON, byte for byte, and test's pass or 415.
func TestSizeAndTest(t *testing.T) {
	huge := picture(t, PNG, 100, 100)
	huge = append([]byte(nil), huge...)
	copy(huge[16:24], []byte{0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20})
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29])) // a valid IHDR
	tests := []struct {
		name string
		body []byte
		op   Op
		want string
		err  error
	}{
		{"jpeg", picture(t, JPEG, 300, 200), Size, "{ \"img\" : { \"width\": 300, \"height\": 200, \"type\": \"jpeg\" } }\r\n", nil},
		{"png", picture(t, PNG, 301, 7), Size, "{ \"img\" : { \"width\": 301, \"height\": 7, \"type\": \"png\" } }\r\n", nil},
		{"gif", picture(t, GIF, 300, 200), Size, "{ \"img\" : { \"width\": 300, \"height\": 200, \"type\": \"gif\" } }\r\n", nil},
		{"declared size", huge, Size, "{ \"img\" : { \"width\": 20000, \"height\": 20000, \"type\": \"png\" } }\r\n", nil},
		{"text", []byte("hello, this is not an image at all\n"), Size, "{}\r\n", nil},
		{"short png", []byte("\x89PNG\r\n\x1a\n"), Size, "{}\r\n", nil},
		{"test text", []byte("hello, this is not an image at all\n"), Test, "", ErrNotImage},
		{"huge resized", huge, Resize, "", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params(tt.op, 150, 150, 0)
			p.MaxPixels = 1 << 20
			res, err := Process(tt.body, p)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && string(res.Body) != tt.want {
				t.Errorf("body = %q, want %q", res.Body, tt.want)
			}
			if err == nil && tt.op == Size && res.ContentType != "application/json" {
				t.Errorf("Content-Type = %q", res.ContentType)
			}
		})
	}
	in := picture(t, JPEG, 30, 20)
	res, err := Process(in, params(Test, 0, 0, 0))
	if err != nil || !bytes.Equal(res.Body, in) || res.ContentType != "image/jpeg" {
		t.Errorf("test: %v %q", err, res.ContentType)
	}
}

// TestValue: "-" is unlimited, positive decimals are themselves, the rest 0.
func TestValue(t *testing.T) {
	for in, want := range map[string]int{"-": Unlimited, "150": 150, "0": 0, "": 0, "abc": 0, "-5": 0, "1x": 0, "99999999999999999999": 0} {
		if got := Value(in); got != want {
			t.Errorf("Value(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestRotatePixels: rotation is counter-clockwise, as nginx documents it.
func TestRotatePixels(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 2, 1))
	m.Set(0, 0, color.RGBA{255, 0, 0, 255}) // red left, black right
	r := rotate(m, 90)
	if got := r.RGBAAt(0, 1); got.R != 255 {
		t.Errorf("90: the left pixel went elsewhere: %v", r.Pix)
	}
	r = rotate(m, 270)
	if got := r.RGBAAt(0, 0); got.R != 255 {
		t.Errorf("270: %v", r.Pix)
	}
}

// TestSharpenAndTransparency: image_filter_sharpen changes a true-colour
// image, image_filter_transparency keeps (on) or drops (off) a GIF's
// transparent colour.
func TestSharpenAndTransparency(t *testing.T) {
	in := picture(t, PNG, 300, 200)
	plain, err := Process(in, params(Resize, 150, 150, 0))
	if err != nil {
		t.Fatal(err)
	}
	p := params(Resize, 150, 150, 0)
	p.Sharpen = 80
	sharp, err := Process(in, p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(plain.Body, sharp.Body) {
		t.Error("image_filter_sharpen 80 changed nothing")
	}

	pal := color.Palette{color.RGBA{}, color.RGBA{255, 0, 0, 255}}
	m := image.NewPaletted(image.Rect(0, 0, 40, 40), pal)
	for i := range m.Pix {
		m.Pix[i] = uint8(i / 40 % 2) // stripes: transparent, red
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{true, false} {
		p := params(Crop, 20, 20, 0)
		p.Transparency = keep
		res, err := Process(buf.Bytes(), p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := gif.Decode(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, a := out.At(0, 0).RGBA()
		if got := a == 0; got != keep {
			t.Errorf("transparency %v: pixel (0,0) transparent %v", keep, got)
		}
	}
}

// riff wraps a WebP chunk in its RIFF header.
func riff(chunk []byte) []byte {
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	return append(append(b, "WEBP"...), chunk...)
}

// TestWebP: the sizes nginx 1.22.1 read from the headers of VP8X, VP8L and
// VP8 files (recorded with image_filter size); test passes WebP, resize
// answers 415 (no WebP codec) unless the header says the image fits.
func TestWebP(t *testing.T) {
	pad := make([]byte, 20)
	vp8x := append([]byte("VP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x7f\x02\x00\xdf\x01\x00"), pad...)
	vp8l := append([]byte("VP8L\x0a\x00\x00\x00\x2f"), binary.LittleEndian.AppendUint32(nil, 99|49<<14)...)
	vp8l = append(vp8l, pad...)
	vp8 := append([]byte("VP8 \x14\x00\x00\x00\x00\x00\x00\x9d\x01\x2a"), binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 320), 240)...)
	vp8 = append(vp8, pad...)
	for _, tt := range []struct {
		body []byte
		want string
	}{
		{riff(vp8x), `{ "img" : { "width": 640, "height": 480, "type": "webp" } }` + "\r\n"},
		{riff(vp8l), `{ "img" : { "width": 100, "height": 50, "type": "webp" } }` + "\r\n"},
		{riff(vp8), `{ "img" : { "width": 320, "height": 240, "type": "webp" } }` + "\r\n"},
	} {
		res, err := Process(tt.body, params(Size, 0, 0, 0))
		if err != nil || string(res.Body) != tt.want {
			t.Errorf("size = %q, %v; want %q", res.Body, err, tt.want)
		}
	}
	if res, err := Process(riff(vp8x), params(Test, 0, 0, 0)); err != nil || res.ContentType != "image/webp" {
		t.Errorf("test: %q, %v", res.ContentType, err)
	}
	if _, err := Process(riff(vp8x), params(Resize, 150, 150, 0)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("resize: %v, want ErrUnsupported", err)
	}
	if res, err := Process(riff(vp8l), params(Resize, 150, 150, 0)); err != nil || !res.AsIs {
		t.Errorf("resize of a WebP that fits: %v, as is %v", err, res.AsIs)
	}
}

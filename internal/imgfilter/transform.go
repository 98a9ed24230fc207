package imgfilter

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
)

// maxJPEGScans bounds the scans of a JPEG the filter decodes: a baseline
// image has one per component, a progressive one about ten (libjpeg's
// default script), rarely more than twenty.
const maxJPEGScans = 100

// decode decodes the image after checking, from its header, that it has
// at most p.MaxPixels pixels: a small file may declare a huge canvas.
func decode(t Type, body []byte, p Params) (image.Image, error) {
	var (
		cfg image.Config
		err error
	)
	switch t {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(body))
	case GIF:
		cfg, err = gif.DecodeConfig(bytes.NewReader(body))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(body))
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("image filter: %s: %w", t, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > p.MaxPixels {
		return nil, fmt.Errorf("%w: %s of %d x %d pixels", ErrTooLarge, t, cfg.Width, cfg.Height)
	}
	if t == JPEG {
		// Each scan of a progressive JPEG walks every block of the image:
		// 70 KB of scans of a few bytes each took 15 s to decode. Entropy
		// coded data never holds FF DA (an FF there is followed by 00 or a
		// restart marker), so this counts the scans, and those of an
		// embedded thumbnail.
		if n := bytes.Count(body, []byte{0xff, 0xda}); n > maxJPEGScans {
			return nil, fmt.Errorf("%w: jpeg of %d scans", ErrTooLarge, n)
		}
	}
	var m image.Image
	switch t {
	case JPEG:
		m, err = jpeg.Decode(bytes.NewReader(body))
	case GIF:
		m, err = gif.Decode(bytes.NewReader(body))
	default:
		m, err = png.Decode(bytes.NewReader(body))
	}
	if err != nil {
		return nil, fmt.Errorf("image filter: %s: %w", t, err)
	}
	return m, nil
}

// transform decodes the image and resizes, rotates and crops it as
// nginx's ngx_http_image_resize; asIs reports that the decoded image fits
// after all and goes out unchanged.
func transform(t Type, body []byte, p Params) (out []byte, asIs bool, err error) {
	src, err := decode(t, body, p)
	if err != nil {
		return nil, false, err
	}
	b := src.Bounds()
	sx, sy := b.Dx(), b.Dy()
	force := false
	if t == JPEG {
		hd, _ := jpegSize(body)
		force = hd.force
	}
	if !force && p.Angle == 0 && sx <= p.Width && sy <= p.Height {
		return nil, true, nil
	}
	pal, _ := src.(*image.Paletted)
	dx, dy, resize := geometry(p, sx, sy)
	var dst *image.RGBA
	if resize {
		dst = resample(src, dx, dy, pal != nil && !p.Transparency)
	} else {
		dst = toRGBA(src, pal != nil && !p.Transparency)
	}
	switch p.Angle {
	case 90, 180, 270:
		dst = rotate(dst, p.Angle)
		if p.Angle != 180 {
			dx, dy = dy, dx
		}
	}
	if p.Op == Crop {
		dst = cropCentre(dst, dx, dy, p.Width, p.Height)
	}
	if p.Sharpen > 0 && pal == nil {
		dst = sharpen(dst, p.Sharpen)
	}
	out, err = encode(t, dst, pal, p)
	return out, false, err
}

// geometry is the size nginx scales the image to before rotating and
// cropping, and whether it scales at all.
func geometry(p Params, sx, sy int) (dx, dy int, resize bool) {
	dx, dy = sx, sy
	switch p.Op {
	case Resize:
		if dx > p.Width {
			dy = max(dy*p.Width/dx, 1)
			dx = p.Width
		}
		if dy > p.Height {
			dx = max(dx*p.Height/dy, 1)
			dy = p.Height
		}
		return dx, dy, true
	case Crop:
		if float64(dx)/float64(dy) < float64(p.Width)/float64(p.Height) {
			if dx > p.Width {
				return p.Width, max(dy*p.Width/dx, 1), true
			}
		} else if dy > p.Height {
			return max(dx*p.Height/dy, 1), p.Height, true
		}
	}
	return dx, dy, false
}

// cropCentre cuts the centre w x h of m (dx x dy), as nginx's crop: the
// offset is half the excess, rounded down.
func cropCentre(m *image.RGBA, dx, dy, w, h int) *image.RGBA {
	ox, oy := max(dx-w, 0), max(dy-h, 0)
	if ox == 0 && oy == 0 {
		return m
	}
	r := image.Rect(0, 0, dx-ox, dy-oy)
	out := image.NewRGBA(r)
	draw.Draw(out, r, m, image.Pt(ox/2, oy/2), draw.Src)
	return out
}

// toRGBA copies m into an RGBA image; opaque makes a transparent palette
// colour opaque (image_filter_transparency off).
func toRGBA(m image.Image, opaque bool) *image.RGBA {
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, m, b.Min, draw.Src)
	if opaque {
		for i := 3; i < len(out.Pix); i += 4 {
			out.Pix[i] = 0xff
		}
	}
	return out
}

// resample scales m to w x h by averaging the source pixels each target
// pixel covers (a box filter: nginx's gdImageCopyResampled averages too,
// with other weights).
func resample(m image.Image, w, h int, opaque bool) *image.RGBA {
	src := toRGBA(m, opaque)
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		y0, y1 := y*sh/h, max((y+1)*sh/h, y*sh/h+1)
		for x := 0; x < w; x++ {
			x0, x1 := x*sw/w, max((x+1)*sw/w, x*sw/w+1)
			var sum [4]int
			for yy := y0; yy < y1; yy++ {
				row := src.Pix[yy*src.Stride:]
				for xx := x0; xx < x1; xx++ {
					px := row[xx*4 : xx*4+4]
					sum[0] += int(px[0])
					sum[1] += int(px[1])
					sum[2] += int(px[2])
					sum[3] += int(px[3])
				}
			}
			n := (y1 - y0) * (x1 - x0)
			o := out.Pix[y*out.Stride+x*4:]
			for i := range 4 {
				o[i] = uint8(sum[i] / n)
			}
		}
	}
	return out
}

// rotate turns m counter-clockwise by angle (90, 180 or 270) degrees.
func rotate(m *image.RGBA, angle int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	r := image.Rect(0, 0, h, w)
	if angle == 180 {
		r = image.Rect(0, 0, w, h)
	}
	out := image.NewRGBA(r)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var nx, ny int
			switch angle {
			case 90:
				nx, ny = y, w-1-x
			case 180:
				nx, ny = w-1-x, h-1-y
			default:
				nx, ny = h-1-y, x
			}
			copy(out.Pix[ny*out.Stride+nx*4:ny*out.Stride+nx*4+4], m.Pix[y*m.Stride+x*4:])
		}
	}
	return out
}

// sharpen applies a 3x3 sharpening kernel of strength pct percent
// (gdImageSharpen's idea: the centre against its eight neighbours).
func sharpen(m *image.RGBA, pct int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	if w < 3 || h < 3 {
		return m
	}
	out := image.NewRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	s := float64(pct) / 100
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			for c := range 3 {
				centre := float64(m.Pix[y*m.Stride+x*4+c])
				var around float64
				for j := -1; j <= 1; j++ {
					for i := -1; i <= 1; i++ {
						if i != 0 || j != 0 {
							around += float64(m.Pix[(y+j)*m.Stride+(x+i)*4+c])
						}
					}
				}
				v := centre + s*(8*centre-around)/8
				out.Pix[y*out.Stride+x*4+c] = uint8(min(max(v, 0), 255))
			}
		}
	}
	return out
}

// encode writes m as an image of type t: a palette image (pal) keeps its
// palette, as nginx's gdImageTrueColorToPalette does with 256 colours.
func encode(t Type, m *image.RGBA, pal *image.Paletted, p Params) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	var out image.Image = m
	if pal != nil {
		pm := image.NewPaletted(m.Rect, paletteFor(pal, p.Transparency))
		draw.Draw(pm, pm.Rect, m, image.Point{}, draw.Src)
		out = pm
	}
	switch t {
	case JPEG:
		if p.JPEGQuality <= 0 {
			return nil, ErrBadValue
		}
		err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: min(p.JPEGQuality, 100)})
	case GIF:
		err = gif.Encode(&buf, out, nil)
	default:
		err = png.Encode(&buf, out)
	}
	if err != nil {
		return nil, fmt.Errorf("image filter: writing %s: %w", t, err)
	}
	return buf.Bytes(), nil
}

// paletteFor is the source palette, its transparent colours made opaque
// when transparency is off.
func paletteFor(pal *image.Paletted, transparency bool) color.Palette {
	cp := make(color.Palette, len(pal.Palette))
	for i, c := range pal.Palette {
		if !transparency {
			r, g, b, _ := c.RGBA()
			c = color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0xff}
		}
		cp[i] = c
	}
	return cp
}

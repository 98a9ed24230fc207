package config

import (
	"strconv"
	"strings"
)

// ImageFilterOp is what image_filter does (nginx's NGX_HTTP_IMAGE_*).
type ImageFilterOp int

// The image_filter operations.
const (
	ImageOff    ImageFilterOp = iota // no image_filter, or "image_filter off"
	ImageTest                        // image_filter test
	ImageSize                        // image_filter size
	ImageRotate                      // image_filter rotate angle, alone
	ImageResize                      // image_filter resize width height
	ImageCrop                        // image_filter crop width height
)

// ImageFilter is one level's ngx_http_image_filter_module settings. The
// image_filter lines of a level are read together and inherited together
// (Op, Width, Height, Angle), as nginx merges them; the other directives
// are inherited each on its own.
type ImageFilter struct {
	// Op is the operation; ImageOff costs nothing per request.
	Op ImageFilterOp
	// Width, Height and Angle are the arguments as written: a number, "-"
	// (any size) or a string with variables evaluated per request; ""
	// when not given. A constant one was checked at load time.
	Width, Height, Angle string
	// JPEGQuality is image_filter_jpeg_quality ("75"), Sharpen
	// image_filter_sharpen ("0") and WebPQuality image_filter_webp_quality
	// ("80"), as written (they may have variables).
	JPEGQuality, Sharpen, WebPQuality string
	// Transparency is image_filter_transparency (on), Interlace
	// image_filter_interlace (off: Go's encoders write no interlaced
	// images, so on has no effect).
	Transparency, Interlace bool
	// Buffer is image_filter_buffer (1m): the largest body read; a bigger
	// one answers 415.
	Buffer int64
	// Pos, QualityPos and SharpenPos are where the level's image_filter,
	// image_filter_jpeg_quality and image_filter_sharpen were written, for
	// the errors of their variables (zero for defaults).
	Pos, QualityPos, SharpenPos Pos
}

// defaultImageFilter is the settings of a level that writes none.
func defaultImageFilter() ImageFilter {
	return ImageFilter{JPEGQuality: "75", Sharpen: "0", WebPQuality: "80", Transparency: true, Buffer: 1 << 20}
}

// imageFilterRules read the image_filter_* directives.
func imageFilterRules() []settingRule {
	return []settingRule{
		{names: []string{"image_filter"}, apply: applyImageFilter},
		sizeRule("image_filter_buffer", func(s *Settings) *int64 { return &s.ImageFilter.Buffer }),
		flagRule("image_filter_transparency", func(s *Settings) *bool { return &s.ImageFilter.Transparency }),
		flagRule("image_filter_interlace", func(s *Settings) *bool { return &s.ImageFilter.Interlace }),
		{names: []string{"image_filter_jpeg_quality"}, apply: qualityRule(func(f *ImageFilter) (*string, *Pos) { return &f.JPEGQuality, &f.QualityPos }, false)},
		{names: []string{"image_filter_webp_quality"}, apply: qualityRule(func(f *ImageFilter) (*string, *Pos) { return &f.WebPQuality, nil }, false)},
		{names: []string{"image_filter_sharpen"}, apply: qualityRule(func(f *ImageFilter) (*string, *Pos) { return &f.Sharpen, &f.SharpenPos }, true)},
	}
}

// applyImageFilter reads a level's image_filter lines in order, as
// nginx's ngx_http_image_filter: off, test and size set the operation;
// rotate sets the angle, and the operation only when it is not resize or
// crop, so "rotate" and "resize" (in either order) rotate and resize.
func applyImageFilter(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	f := &st.ImageFilter
	f.Width, f.Height, f.Angle, f.Pos = "", "", "", dirs[0].Pos
	for _, d := range dirs {
		a := d.Args
		switch {
		case len(a) == 1:
			ops := map[string]ImageFilterOp{"off": ImageOff, "test": ImageTest, "size": ImageSize}
			op, ok := ops[a[0]]
			if !ok {
				return imageParamError(d, a[0])
			}
			f.Op = op
		case len(a) == 2:
			if a[0] != "rotate" {
				return imageParamError(d, a[0])
			}
			if n := imageValue(a[1]); !hasVariable(a[1]) && n != 90 && n != 180 && n != 270 {
				return imageParamError(d, a[1])
			}
			if f.Op != ImageResize && f.Op != ImageCrop {
				f.Op = ImageRotate
			}
			f.Angle = a[1]
		default:
			switch a[0] {
			case "resize":
				f.Op = ImageResize
			case "crop":
				f.Op = ImageCrop
			default:
				return imageParamError(d, a[0])
			}
			for _, v := range a[1:] {
				if !hasVariable(v) && imageValue(v) == 0 {
					return imageParamError(d, v)
				}
			}
			f.Width, f.Height = a[1], a[2]
		}
	}
	return nil
}

// imageParamError is nginx's message for a bad image_filter argument.
func imageParamError(d *Directive, arg string) error {
	return hintf(d.Pos, "image_filter off | test | size | rotate 90|180|270 | resize width height | crop width height", `invalid parameter "%s"`, arg)
}

// qualityRule reads image_filter_jpeg_quality, _webp_quality (a positive
// number) or _sharpen (zeroOK: any number, a word counting as 0), as
// nginx checks them when they have no variables.
func qualityRule(field func(*ImageFilter) (*string, *Pos), zeroOK bool) func(*builder, *Settings, []*Directive, *scope) error {
	return func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		d := dirs[len(dirs)-1] // nginx's handler takes a second line as the new value
		v := d.Args[0]
		if !hasVariable(v) && !zeroOK && (v == "-" || imageValue(v) == 0) {
			return hintf(d.Pos, "the quality is a number from 1 to 100", `invalid value "%s"`, v)
		}
		value, pos := field(&st.ImageFilter)
		*value = v
		if pos != nil {
			*pos = d.Pos
		}
		return nil
	}
}

// imageValue is nginx's ngx_http_image_filter_value: "-" is any size
// (math.MaxInt32 here), a positive decimal itself, anything else 0.
func imageValue(s string) int {
	if s == "-" {
		return 1<<31 - 1
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// hasVariable reports whether s is a complex value with variables: nginx
// compiles any "$" as one.
func hasVariable(s string) bool { return strings.Contains(s, "$") }

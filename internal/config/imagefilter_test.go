package config

import "testing"

// TestImageFilter checks the image filter module's settings as nginx 1.22.1
// reads them (its messages recorded with nginx -t): image_filter lines are
// read together and inherited together, rotate keeps a resize or crop, the
// other directives are inherited each on its own.
func TestImageFilter(t *testing.T) {
	def := defaultImageFilter()
	with := func(f func(*ImageFilter)) ImageFilter {
		v := defaultImageFilter()
		f(&v)
		return v
	}
	resize := with(func(f *ImageFilter) { f.Op, f.Width, f.Height = ImageResize, "150", "100" })
	tests := []struct {
		name, srv, loc string
		outer, inner   ImageFilter
		err            string
	}{
		{"none", "", "", def, def, ""},
		{"resize inherited", "", "image_filter resize 150 100;", resize, resize, ""},
		{"test", "", "image_filter test;", with(func(f *ImageFilter) { f.Op = ImageTest }), with(func(f *ImageFilter) { f.Op = ImageTest }), ""},
		{"rotate then resize", "", "image_filter rotate 90; image_filter resize 150 100;",
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height, f.Angle = ImageResize, "150", "100", "90" }),
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height, f.Angle = ImageResize, "150", "100", "90" }), ""},
		{"crop then rotate", "", "image_filter crop 10 - ; image_filter rotate $arg_a;",
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height, f.Angle = ImageCrop, "10", "-", "$arg_a" }),
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height, f.Angle = ImageCrop, "10", "-", "$arg_a" }), ""},
		{"rotate alone", "", "image_filter rotate 270;", with(func(f *ImageFilter) { f.Op, f.Angle = ImageRotate, "270" }), with(func(f *ImageFilter) { f.Op, f.Angle = ImageRotate, "270" }), ""},
		{"variables", "", "image_filter resize $arg_w $arg_h;",
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height = ImageResize, "$arg_w", "$arg_h" }),
			with(func(f *ImageFilter) { f.Op, f.Width, f.Height = ImageResize, "$arg_w", "$arg_h" }), ""},
		{"others inherited", "image_filter_buffer 2k; image_filter_jpeg_quality 50; image_filter_sharpen 20; image_filter_transparency off; image_filter_interlace on; image_filter_webp_quality 60;", "",
			with(func(f *ImageFilter) {
				f.Buffer, f.JPEGQuality, f.Sharpen, f.Transparency, f.Interlace, f.WebPQuality = 2048, "50", "20", false, true, "60"
			}),
			with(func(f *ImageFilter) {
				f.Buffer, f.JPEGQuality, f.Sharpen, f.Transparency, f.Interlace, f.WebPQuality = 2048, "50", "20", false, true, "60"
			}), ""},
		{"second quality wins", "", "image_filter_jpeg_quality 50; image_filter_jpeg_quality 60;", with(func(f *ImageFilter) { f.JPEGQuality = "60" }), with(func(f *ImageFilter) { f.JPEGQuality = "60" }), ""},
		{"sharpen word", "", "image_filter_sharpen abc;", with(func(f *ImageFilter) { f.Sharpen = "abc" }), with(func(f *ImageFilter) { f.Sharpen = "abc" }), ""},
		{"width 0", "", "image_filter resize 0 10;", def, def, `invalid parameter "0" in nginx.conf:3`},
		{"width word", "", "image_filter resize abc 10;", def, def, `invalid parameter "abc" in nginx.conf:3`},
		{"rotate 45", "", "image_filter rotate 45;", def, def, `invalid parameter "45" in nginx.conf:3`},
		{"unknown", "", "image_filter foo;", def, def, `invalid parameter "foo" in nginx.conf:3`},
		{"resize one size", "", "image_filter resize 10;", def, def, `invalid parameter "resize" in nginx.conf:3`},
		{"four arguments", "", "image_filter rotate 90 10 10;", def, def, `invalid number of arguments in "image_filter" directive in nginx.conf:3`},
		{"quality 0", "", "image_filter_jpeg_quality 0;", def, def, `invalid value "0" in nginx.conf:3`},
		{"quality dash", "", "image_filter_jpeg_quality -;", def, def, `invalid value "-" in nginx.conf:3`},
		{"webp quality 0", "", "image_filter_webp_quality 0;", def, def, `invalid value "0" in nginx.conf:3`},
		{"buffer", "", "image_filter_buffer 1x;", def, def, `"image_filter_buffer" directive invalid value in nginx.conf:3`},
		{"in server", "image_filter test;", "", def, def, `"image_filter" directive is not allowed here in nginx.conf:2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "http {\nserver { " + tt.srv + "\nlocation /v/ { " + tt.loc + "\nlocation /v/n/ { }\n} } }\n"
			outer, inner := loadNested(t, src, tt.err)
			if outer == nil {
				return
			}
			outer.ImageFilter.Pos, outer.ImageFilter.QualityPos, outer.ImageFilter.SharpenPos = Pos{}, Pos{}, Pos{}
			inner.ImageFilter.Pos, inner.ImageFilter.QualityPos, inner.ImageFilter.SharpenPos = Pos{}, Pos{}, Pos{}
			if got := outer.ImageFilter; got != tt.outer {
				t.Errorf("ImageFilter %+v, want %+v", got, tt.outer)
			}
			if got := inner.ImageFilter; got != tt.inner {
				t.Errorf("nested ImageFilter %+v, want %+v", got, tt.inner)
			}
		})
	}
}

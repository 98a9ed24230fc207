// Package imgfilter is nginx 1.22's image filter (ngx_http_image_filter_module)
// without the HTTP part: it recognises a JPEG, GIF, PNG or WebP body by its
// first bytes, reports its size as nginx's JSON, and resizes, crops and
// rotates JPEG, GIF and PNG images with Go's standard library.
//
// The sizes nginx decides are followed to the pixel (which images are sent
// as they are, the width and height of a resized or cropped image, where a
// crop cuts); the pixels themselves are not libgd's (another resampler,
// another JPEG encoder), so the bytes differ.
package imgfilter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Op is what the filter does, nginx's NGX_HTTP_IMAGE_* filter values.
type Op int

// The operations of the image_filter directive.
const (
	Off    Op = iota // no filtering
	Test             // pass an image unchanged, refuse anything else with 415
	Size             // answer the image's size as JSON
	Rotate           // rotate only
	Resize           // shrink to fit a box, keeping the aspect ratio
	Crop             // shrink to cover a box, then cut its centre
)

// Type is the kind of image a body holds.
type Type int

// The image types nginx knows by their magic bytes.
const (
	None Type = iota
	JPEG
	GIF
	PNG
	WebP
)

// Unlimited is a width or height of "-": any size fits.
const Unlimited = math.MaxInt32

// String is the type's name as nginx's JSON writes it ("jpeg").
func (t Type) String() string {
	switch t {
	case JPEG:
		return "jpeg"
	case GIF:
		return "gif"
	case PNG:
		return "png"
	case WebP:
		return "webp"
	}
	return "none"
}

// ContentType is the Content-Type nginx sets for an image of the type.
func (t Type) ContentType() string { return "image/" + t.String() }

// Errors the filter returns; each means nginx's 415.
var (
	// ErrNotImage: the body does not start with an image's magic bytes.
	ErrNotImage = errors.New("image filter: not an image")
	// ErrBadValue: a width, height, angle or quality evaluated to an
	// invalid number (nginx answers 415 without a log line).
	ErrBadValue = errors.New("image filter: invalid value")
	// ErrTooLarge: the image declares more pixels than the filter decodes.
	ErrTooLarge = errors.New("image filter: image too large")
	// ErrUnsupported: a WebP image cannot be transformed (Go's standard
	// library has no WebP codec).
	ErrUnsupported = errors.New("image filter: WebP images cannot be resized, cropped or rotated")
)

// Params are one request's filter settings, variables already evaluated.
type Params struct {
	Op Op
	// Width and Height bound a resize or crop (Unlimited for "-"); 0 is an
	// invalid value (415).
	Width, Height int
	// Angle is 0, 90, 180 or 270 (counter-clockwise). Another value with
	// Op Rotate is refused; with Resize or Crop it rotates nothing but, not
	// being 0, still has the image transformed, as in nginx.
	Angle int
	// JPEGQuality is 1-100 (values above 100 act as 100); 0 is invalid.
	JPEGQuality int
	// Sharpen is the sharpening strength in percent, 0 for none.
	Sharpen int
	// Transparency keeps a GIF's or palette PNG's transparent colour
	// when it is resized; off makes it opaque.
	Transparency bool
	// MaxPixels bounds width*height of an image the filter decodes,
	// checked from the image's header before decoding it.
	MaxPixels int64
}

// Result is the filter's answer for a body.
type Result struct {
	// Body is the new body: the image (unchanged when AsIs), or JSON.
	Body []byte
	// ContentType is the Content-Type to send: image/..., or
	// application/json for Size.
	ContentType string
	// AsIs reports that the image goes out unchanged (nginx keeps its
	// ETag strong); otherwise the body is new (ETag made weak).
	AsIs bool
	// JSON reports a Size answer: nginx clears the header and sends 200.
	JSON bool
}

// Sniff tells the image type from a body's first bytes as nginx's
// ngx_http_image_test: fewer than 16 bytes are no image.
func Sniff(b []byte) Type {
	if len(b) < 16 {
		return None
	}
	switch {
	case b[0] == 0xff && b[1] == 0xd8:
		return JPEG
	case string(b[:4]) == "GIF8" && b[5] == 'a' && (b[4] == '9' || b[4] == '7'):
		return GIF
	case string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG
	case string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	}
	return None
}

// JSON is the body nginx's "image_filter size" sends for an image of type
// t and size w x h, or "{}" for a body that is no image (t None).
func JSON(t Type, w, h int) []byte {
	if t == None {
		return []byte("{}\r\n")
	}
	return fmt.Appendf(nil, "{ \"img\" : { \"width\": %d, \"height\": %d, \"type\": \"%s\" } }\r\n", w, h, t)
}

// Value reads a width, height, angle or quality as nginx's
// ngx_http_image_filter_value: "-" is Unlimited, a positive decimal is
// itself, anything else 0 (invalid).
func Value(s string) int {
	if s == "-" {
		return Unlimited
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return min(n, Unlimited)
}

// Process runs the filter over a whole body (at most image_filter_buffer
// bytes, which the caller enforces). Every error is nginx's 415.
func Process(body []byte, p Params) (Result, error) {
	return process(body, p, nil)
}

// Limiter bounds how many images are decoded and transformed at once. One
// image of MaxPixels pixels takes a few hundred MiB and seconds of CPU
// (decoded, converted, rotated, sharpened) from a body of a hundred KiB;
// an nginx worker transforms one at a time, so nginx's bound is its
// worker count. A Limiter is safe for concurrent use.
type Limiter struct{ slots chan struct{} }

// NewLimiter returns a Limiter that lets n transforms run at once (n < 1
// is 1).
func NewLimiter(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1))}
}

// Process is the package's Process, a transform waiting for a free slot;
// it returns ctx's error when ctx ends first. The answers that decode
// nothing (test, size, an image sent as it is, a refused value) do not wait.
func (l *Limiter) Process(ctx context.Context, body []byte, p Params) (Result, error) {
	return process(body, p, func() (func(), error) {
		select {
		case l.slots <- struct{}{}:
			return func() { <-l.slots }, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("image filter: waiting to transform: %w", ctx.Err())
		}
	})
}

// process is Process; acquire, when not nil, is called before the image is
// decoded and its release after.
func process(body []byte, p Params, acquire func() (func(), error)) (Result, error) {
	t := Sniff(body)
	if t == None {
		if p.Op == Size {
			return Result{Body: JSON(None, 0, 0), ContentType: "application/json", JSON: true}, nil
		}
		return Result{}, ErrNotImage
	}
	if p.Op == Test {
		return Result{Body: body, ContentType: t.ContentType(), AsIs: true}, nil
	}
	hd, sized := headerSize(t, body)
	if p.Op == Size {
		if !sized {
			return Result{Body: JSON(None, 0, 0), ContentType: "application/json", JSON: true}, nil
		}
		return Result{Body: JSON(t, hd.width, hd.height), ContentType: "application/json", JSON: true}, nil
	}
	g, err := plan(p, hd, sized)
	if err != nil || g.asIs {
		return Result{Body: body, ContentType: t.ContentType(), AsIs: true}, err
	}
	if t == WebP {
		return Result{}, ErrUnsupported
	}
	if acquire != nil {
		release, err := acquire()
		if err != nil {
			return Result{}, err
		}
		defer release()
	}
	out, asIs, err := transform(t, body, p)
	if err != nil {
		return Result{}, err
	}
	if asIs {
		out = body
	}
	return Result{Body: out, ContentType: t.ContentType(), AsIs: asIs}, nil
}

// decision is plan's answer: send the image as it is, or transform it.
type decision struct{ asIs bool }

// plan checks the request's values and decides from the header's size
// whether the image goes out unchanged, as ngx_http_image_process.
func plan(p Params, hd header, sized bool) (decision, error) {
	if p.Op == Rotate {
		if p.Angle != 90 && p.Angle != 180 && p.Angle != 270 {
			return decision{}, ErrBadValue
		}
		return decision{}, nil
	}
	if p.Width <= 0 || p.Height <= 0 {
		return decision{}, ErrBadValue
	}
	if sized && hd.width <= p.Width && hd.height <= p.Height && p.Angle == 0 && !hd.force {
		return decision{asIs: true}, nil
	}
	return decision{}, nil
}

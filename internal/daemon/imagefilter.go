package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/imgfilter"
	"fulcrum/internal/proxy"
	"fulcrum/internal/vars"
)

// maxImagePixels bounds the images image_filter decodes (width times
// height, read from the header first): 16 million pixels, 64 MiB as RGBA.
const maxImagePixels = 1 << 24

// imageFilter is a level's compiled image_filter values.
type imageFilter struct {
	width, height, angle, quality, sharpen *vars.Template
}

// imageState is a response's image filter: its header waits in the
// recorder and its body in buf until the handler is done (finishImage).
type imageState struct {
	code int // the status the answer came with
	buf  []byte
	// limit is image_filter_buffer; tooBig marks a body that passed it
	// (the rest is dropped), byLength one whose Content-Length said so.
	limit    int64
	tooBig   bool
	byLength bool
	length   int64
	// done: the filter has answered; headers and bodies pass from now on.
	done bool
	// cut: the filter answered 415 when the body passed the limit; the
	// rest of the handler's body is refused (errImageCut).
	cut bool
}

// errImageCut is a write refused after image_filter answered 415 for a body
// that passed image_filter_buffer: the handler stops sending it.
var errImageCut = errors.New("image filter: too big response, answered 415")

// compileImageFilters compiles the image_filter values of every level that
// filters; a level without image_filter is not in the map.
func (s *snapshot) compileImageFilters(comp *vars.Compiler) error {
	s.imageFilters = map[*config.Settings]*imageFilter{}
	// As many transforms at once as nginx's workers (worker_processes
	// auto): each may take a few hundred MiB.
	s.imageLimiter = imgfilter.NewLimiter(runtime.GOMAXPROCS(0))
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		f := &set.ImageFilter
		if _, done := s.imageFilters[set]; done || f.Op == config.ImageOff {
			return nil
		}
		var c imageFilter
		for _, v := range []struct {
			dst **vars.Template
			src string
			pos config.Pos
		}{{&c.width, f.Width, f.Pos}, {&c.height, f.Height, f.Pos}, {&c.angle, f.Angle, f.Pos}, {&c.quality, f.JPEGQuality, f.QualityPos}, {&c.sharpen, f.Sharpen, f.SharpenPos}} {
			t, err := comp.Compile(v.src)
			if err != nil {
				return fmt.Errorf("%w in %s", err, v.pos)
			}
			*v.dst = t
		}
		s.imageFilters[set] = &c
		return nil
	})
}

// startImage is nginx's image header filter for an answer with status
// code about to go out from a location with image_filter: it holds the
// header back (true) so that finishImage answers once the body is read.
// A 304 passes; a multipart/x-mixed-replace answer closes the connection.
func (w *recorder) startImage(code int) bool {
	if code == http.StatusNotModified || w.snap.imageFilters[w.set] == nil {
		return false
	}
	h := w.ResponseWriter.Header()
	if ct := first(h, "Content-Type"); len(ct) >= 25 && strings.EqualFold(ct[:25], "multipart/x-mixed-replace") {
		w.logImage("image filter: multipart/x-mixed-replace response")
		w.img = &imageState{done: true}
		w.drop(http.StatusInternalServerError)
		return true
	}
	st := &imageState{code: code, limit: w.set.ImageFilter.Buffer}
	if v := h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n > st.limit {
			st.tooBig, st.byLength, st.length = true, true, n
		}
	}
	w.img = st
	return true
}

// hold keeps p of the body being filtered, up to image_filter_buffer.
func (st *imageState) hold(p []byte) {
	if st.tooBig {
		return
	}
	if int64(len(st.buf)+len(p)) > st.limit {
		st.tooBig, st.buf = true, nil
		return
	}
	st.buf = append(st.buf, p...)
}

// finishImage answers the filtered response once its body is whole: the
// image (transformed, or as it came), size's JSON, or 415.
func (w *recorder) finishImage() {
	st := w.img
	st.done = true
	h := w.ResponseWriter.Header()
	switch {
	case st.tooBig:
		if w.sub && !st.byLength {
			w.endIncluding(imageClose) // nginx's read fails: the connection closes
			return
		}
		if st.byLength {
			w.logImage(fmt.Sprintf("image filter: too big response: %d", st.length))
			for _, k := range []string{"Content-Length", "Content-Type", "Etag", "Last-Modified", "Accept-Ranges"} {
				delete(h, k)
			}
		} else {
			w.logImage("image filter: too big response")
			clear(h)
		}
		w.fail(http.StatusUnsupportedMediaType)
		return
	}
	if w.sub {
		w.finishIncludedImage()
		return
	}
	// A HEAD answer without a body (proxied, return) is filtered as the
	// empty body it is, as nginx: 415, or size's "{}" (a file's HEAD reads
	// the file, BodyForHead).
	ctx := context.Background()
	if w.req != nil {
		ctx = w.req.Context()
	}
	res, err := w.snap.imageLimiter.Process(ctx, st.buf, w.imageParams())
	st.buf = nil
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		w.drop(499) // the client left while the image waited for its turn
		return
	}
	if err != nil {
		if !errors.Is(err, imgfilter.ErrNotImage) && !errors.Is(err, imgfilter.ErrBadValue) {
			w.logImage(err.Error())
		}
		clear(h)
		w.fail(http.StatusUnsupportedMediaType)
		return
	}
	code := st.code
	if res.JSON {
		clear(h) // nginx's ngx_http_clean_header
		code = http.StatusOK
	}
	h.Set("Content-Type", res.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(res.Body)))
	if w.fileResponse {
		// nginx's filter clears allow_ranges, so its range filter adds no
		// Accept-Ranges to a file's answer; an upstream's field is in the
		// header list already and stays, as nginx 1.22.1 keeps it
		// (recorded: resize, crop, rotate, test and an image that fits).
		dropAddedAcceptRanges(h)
	}
	if e := h.Get("Etag"); !res.AsIs && strings.HasPrefix(e, `"`) {
		h.Set("Etag", "W/"+e)
	}
	w.WriteHeader(code)
	_, _ = w.write(res.Body) // a write error is the client's, which the writer keeps
}

// dropAddedAcceptRanges removes the Accept-Ranges the static handler added
// to a file's answer: the last value (one that an upstream sent before an
// X-Accel-Redirect stays, as nginx keeps it).
func dropAddedAcceptRanges(h http.Header) {
	v := h["Accept-Ranges"]
	if len(v) <= 1 {
		delete(h, "Accept-Ranges")
		return
	}
	h["Accept-Ranges"] = v[:len(v)-1]
}

// imageEnd is what an included subrequest's image filter does to the
// response that included it (subWriter.imageEnd).
type imageEnd int

const (
	// imageGoesOn: the including response goes on.
	imageGoesOn imageEnd = iota
	// imageEndsResponse: the including response ends after the
	// subrequest's body, and its connection closes.
	imageEndsResponse
	// imageClose: the connection closes at once, the including response
	// unfinished.
	imageClose
)

// finishIncludedImage is nginx 1.22.1's image filter for the body of a
// subrequest that goes into the including response (an SSI include,
// add_before_body, add_after_body), recorded: the filter tests the body's
// first bytes, then waits for a last buffer that a subrequest never sends.
// So an image under "test" goes out as it is, and under every other
// operation nothing goes out (the including response goes on); a body that
// is no image ends the including response after "{}" under "size", and
// otherwise (nginx's 415) closes the connection.
func (w *recorder) finishIncludedImage() {
	st := w.img
	body := st.buf
	st.buf = nil
	op := w.set.ImageFilter.Op
	switch {
	case imgfilter.Sniff(body) != imgfilter.None:
		if op == config.ImageTest {
			w.WriteHeader(st.code)
			_, _ = w.write(body)
		}
	case op == config.ImageSize:
		w.WriteHeader(http.StatusOK)
		_, _ = w.write(imgfilter.JSON(imgfilter.None, 0, 0))
		w.endIncluding(imageEndsResponse)
	default:
		w.endIncluding(imageClose)
	}
}

// endIncluding tells the request that included this subrequest what its
// image filter did to it (imageEnd).
func (w *recorder) endIncluding(end imageEnd) {
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		sw.imageEnd = max(sw.imageEnd, end)
	}
}

// endIncluded ends the response of w, which included a subrequest whose
// image filter ended it (imageEnd): nothing more of its body goes out, and
// its connection closes, at once or after the response. An including
// subrequest passes the end on to its own includer, up to the main request.
func (w *recorder) endIncluded(end imageEnd) {
	if end == imageGoesOn {
		return
	}
	w.bodyEnded = true
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		sw.imageEnd = max(sw.imageEnd, end)
		return
	}
	if w.ew == nil {
		return
	}
	if end == imageClose {
		w.ew.drop()
	} else if c, ok := w.ResponseWriter.(interface{ closeAfter() }); ok {
		c.closeAfter()
	}
}

// imageParams evaluates the location's image_filter values for the request.
func (w *recorder) imageParams() imgfilter.Params {
	f := &w.set.ImageFilter
	c := w.snap.imageFilters[w.set]
	p := imgfilter.Params{
		Op:           imageOp(f.Op),
		Transparency: f.Transparency,
		MaxPixels:    maxImagePixels,
		Width:        imgfilter.Value(c.width.String(w.st)),
		Height:       imgfilter.Value(c.height.String(w.st)),
		Sharpen:      imgfilter.Value(c.sharpen.String(w.st)),
	}
	if a := c.angle.String(w.st); a != "" {
		p.Angle = imgfilter.Value(a)
	}
	if q := c.quality.String(w.st); q != "-" { // nginx reads "-" as -1: invalid
		p.JPEGQuality = imgfilter.Value(q)
	}
	if p.Sharpen == imgfilter.Unlimited {
		p.Sharpen = 0
	}
	return p
}

// imageOp is the filter's operation for config's.
func imageOp(op config.ImageFilterOp) imgfilter.Op {
	switch op {
	case config.ImageTest:
		return imgfilter.Test
	case config.ImageSize:
		return imgfilter.Size
	case config.ImageRotate:
		return imgfilter.Rotate
	case config.ImageResize:
		return imgfilter.Resize
	case config.ImageCrop:
		return imgfilter.Crop
	}
	return imgfilter.Off
}

// logImage writes an image filter error line for the request.
// A subrequest's line names it, as nginx's does.
func (w *recorder) logImage(msg string) {
	req := logRequest(w.st, w.req)
	if w.sub {
		req.Subrequest = w.st.Path
	}
	w.log().LogRequest(errlog.Error, req, msg+" while sending response to client")
}

// BodyForHead implements static.BodyForHead and proxy.BodyForHead: a
// file's HEAD answer under image_filter is read, and a proxied one that has
// a body (from the cache, or the upstream's to a HEAD turned GET), as
// nginx's filter reads it, so that its fields are those of the filtered
// answer.
func (w *recorder) BodyForHead() bool { return w.img != nil && !w.img.done }

var _ proxy.BodyForHead = (*recorder)(nil)

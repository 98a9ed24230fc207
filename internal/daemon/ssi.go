package daemon

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/ssi"
	"fulcrum/internal/vars"
)

// maxSSIDepth is how deep includes may nest: as nginx 1.22.1 counts its
// subrequests' depth, a page that includes itself is output 52 times.
const maxSSIDepth = 51

// startSSI is nginx's SSI header filter for the response about to go out
// with header h, after sub and charset and before gzip, as nginx's filters
// run: a response whose Content-Type is in ssi_types (text/html always)
// and whose Content-Length is not 0 has its body go through an
// ssi.Filter. A main request's response loses Content-Length and
// Accept-Ranges, and Last-Modified and ETag (with ssi_last_modified on:
// keeps them, the ETag made weak); an included subrequest's header fields
// go nowhere. nginx looks at neither the status nor a Content-Encoding.
func (w *recorder) startSSI(h http.Header) {
	sc := &w.set.SSI
	if !ssiType(sc, first(h, "Content-Type")) {
		return
	}
	if v := h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n == 0 {
			return
		}
	}
	if !w.sub {
		delete(h, "Content-Length")
		delete(h, "Accept-Ranges")
		if sc.LastModified {
			gzipfilter.WeakETag(h)
		} else {
			delete(h, "Last-Modified")
			delete(h, "Etag")
		}
		if w.ew != nil {
			w.ew.lengthUnknown()
		}
	}
	if w.req == nil || w.req.Method == http.MethodHead {
		return
	}
	var shared *ssi.Shared
	depth := 0
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		shared, depth = sw.ssi, sw.ssiDepth
	}
	bf := w.bodyFilters()
	bf.ssiDepth = depth
	bf.ssi.Reset((*afterSSI)(w), (*ssiEnv)(w), shared, ssi.Options{
		SilentErrors: sc.SilentErrors,
		ValueLength:  int(sc.ValueLength),
		SetLimit:     int(w.set.SubrequestOutputBufferSize),
	})
	bf.ssiOn = true
}

// ssiType reports whether the media type of contentType is one ssi_types
// lists (compared without case and parameters; text/html always).
func ssiType(sc *config.SSI, contentType string) bool {
	if sc.AnyType {
		return true
	}
	mt := mediaType(contentType)
	return mt == "text/html" || slices.Contains(sc.Types, mt)
}

// defineDateVariables defines $date_local and $date_gmt, the SSI
// module's variables, which nginx offers everywhere (in log_format,
// add_header ...) in the default time format; inside SSI commands the
// filter answers them itself with config timefmt's format.
func defineDateVariables(comp *vars.Compiler, now func() time.Time) {
	for _, gmt := range []bool{false, true} {
		name := "date_local"
		if gmt {
			name = "date_gmt"
		}
		comp.Define(name, func(dst []byte, _ *vars.State) ([]byte, bool) {
			t := time.Now()
			if now != nil {
				t = now()
			}
			return ssi.AppendDate(dst, ssi.DefaultTimefmt, t, gmt), true
		})
		comp.Unchangeable(name) // set may not change it, as in nginx 1.22.1
	}
}

// afterSSI is where the SSI filter's output goes: the gzip filter or the
// client (for a subrequest, the request that included it).
type afterSSI recorder

func (a *afterSSI) Write(p []byte) (int, error) { return (*recorder)(a).writeOut(p) }

// ssiEnv is the request as the SSI filter sees it.
type ssiEnv recorder

var _ ssi.Env = (*ssiEnv)(nil)

// Variable implements ssi.Env with the snapshot's variables.
func (e *ssiEnv) Variable(dst []byte, name string) ([]byte, bool) {
	w := (*recorder)(e)
	g, ok := w.snap.vars.Lookup(name)
	if !ok {
		return dst, false
	}
	return g(dst, w.st)
}

// URI implements ssi.Env: $uri.
func (e *ssiEnv) URI() string { return e.st.Path }

// Log implements ssi.Env, in nginx's words for an error found while the
// body goes out.
func (e *ssiEnv) Log(msg string) { e.log(errlog.Error, msg) }

// LogAlert implements ssi.Env: Log at alert.
func (e *ssiEnv) LogAlert(msg string) { e.log(errlog.Alert, msg) }

func (e *ssiEnv) log(level errlog.Level, msg string) {
	w := (*recorder)(e)
	req := logRequest(w.st, w.req)
	if w.sub {
		req.Subrequest = w.st.Path
	}
	w.log().LogRequest(level, req, msg+" while sending response to client")
}

// Abort implements ssi.Env: the connection closes without finishing the
// response (nothing at all goes out when nothing was flushed yet, as
// nginx's answer to a too big set= subrequest).
func (e *ssiEnv) Abort() {
	if e.ew != nil {
		e.ew.drop()
	}
}

// Now implements ssi.Env.
func (e *ssiEnv) Now() time.Time {
	if now := e.snap.now; now != nil {
		return now()
	}
	return time.Now()
}

// Include implements ssi.Env: a GET subrequest to uri, with the client's
// header fields (not its Range and conditional ones, which nginx's filters
// read for a main request only) and no body, through the server's
// locations; its body goes to out, after the including response's SSI
// filter and before its gzip. It shares the SSI variables and blocks of
// the request that includes it. An image filter where it goes filters its
// body as nginx's does (finishIncludedImage), and may end the response.
func (e *ssiEnv) Include(uri, args string, out io.Writer, stub []byte) (failed bool, err error) {
	w := (*recorder)(e)
	if w.bodyEnded {
		return false, nil // an included image ended the response: no more subrequests
	}
	if w.bf.ssiDepth >= maxSSIDepth || w.srv == nil {
		e.Log(fmt.Sprintf("subrequests cycle while processing \"%s\"", uri))
		return false, ssi.ErrCycle
	}
	sr := includeRequest(w.req)
	st := w.st
	saved := st.BeginSubrequest(uri, http.MethodGet)
	st.Args = args
	body := out
	var got bytes.Buffer
	if stub != nil { // the body decides between itself and the stub
		body = &got
	}
	cw := &countingWriter{w: body, st: st}
	sw := &subWriter{header: http.Header{}, body: cw, ssi: w.bf.ssi.Shared(), ssiDepth: w.bf.ssiDepth + 1, included: true,
		owner: w.mainRecorder(), mainLog: w.log()}
	start, sub := w.snap.subrequestStart(), new(recorder)
	w.snap.serveSubrequestTo(sub, w.keepSlashes, &sr, st, w.srv, sw)
	w.snap.logSubrequest(sub, st, start, w.clientSent())
	// nginx finalizes a subrequest with its status when fulcrum's own page
	// answers it (an error, a redirect, "return 404"): a stub replaces it.
	// An upstream's answer, whatever its status, is not such a failure.
	failed = sw.failed || sw.code >= 300 && len(st.Upstreams) == 0
	if stub != nil {
		if failed || got.Len() == 0 {
			w.outputStub(sub, stub, out)
		} else {
			_, _ = out.Write(got.Bytes()) // out is the stub's buffer in ssi
		}
	}
	st.EndSubrequest(saved)
	st.BodyBytesSent += cw.sent
	w.endIncluded(sw.imageEnd)
	return failed, nil
}

// outputStub writes an include's stub block for the subrequest sub that
// failed or sent nothing to out, as nginx's ngx_http_ssi_stub_output sends
// it through the subrequest's filters with the including response's
// Content-Type: the block's SSI commands run, with the subrequest's
// variables ($args ...), when the subrequest's location has SSI on for
// that type, else it goes out as it is (recorded with nginx 1.22.1: a
// block holding an if/elif/else on $arg_if, as the stub of
// include virtual="/404?$args" in a location with ssi on, outputs "IF"
// for ?if=1; nginx-tests' ssi_if.t, "if (in block)").
func (w *recorder) outputStub(sub *recorder, stub []byte, out io.Writer) {
	set := sub.set
	if set == nil || !set.SSI.On || sub.req == nil || sub.req.Method == http.MethodHead || !ssiType(&set.SSI, first(w.Header(), "Content-Type")) {
		_, _ = out.Write(stub)
		return
	}
	bf := sub.bodyFilters()
	bf.ssiDepth = w.bf.ssiDepth + 1
	bf.ssi.Reset(out, (*ssiEnv)(sub), w.bf.ssi.Shared(), ssi.Options{
		SilentErrors: set.SSI.SilentErrors,
		ValueLength:  int(set.SSI.ValueLength),
		SetLimit:     int(set.SubrequestOutputBufferSize),
	})
	_, _ = bf.ssi.Write(stub)
	_ = bf.ssi.Close()
}

// countingWriter passes a subrequest's body on and counts the bytes the
// including request's $body_bytes_sent must show once the subrequest's
// state is gone (as additionWriter).
type countingWriter struct {
	w    io.Writer
	st   *vars.State
	sent int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	before := c.st.BodyBytesSent
	n, err := c.w.Write(p)
	c.sent += c.st.BodyBytesSent - before
	return n, err
}

// mediaType is the lower-case media type of a Content-Type value.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

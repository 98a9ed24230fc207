package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	bf.ssi.Reset((*afterSSI)(w), (*ssiEnv)(w), shared, ssiOptions(w.set))
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
	if sc, ok := w.st.Uninitialized.(*requestScratch); ok {
		w.st.Uninitialized = (*bodyFilterWarn)(sc)
		defer func() { w.st.Uninitialized = sc }()
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
// It runs on the including request's goroutine and State, to its end: an
// include with wait, file or set, as nginx's parser waits for those.
func (e *ssiEnv) Include(uri, args string, out io.Writer, stub []byte) (failed bool, err error) {
	w := (*recorder)(e)
	if w.bodyEnded {
		return false, nil // an included image ended the response: no more subrequests
	}
	if err := e.checkDepth(uri); err != nil {
		return false, err
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
	sw := w.includeWriter(cw, w.yield)
	start, sub := w.snap.subrequestStart(), new(recorder)
	w.snap.serveSubrequestTo(sub, w.keepSlashes, &sr, st, w.srv, sw)
	w.snap.logSubrequest(sub, st, start, w.clientSent())
	failed = includeFailed(sw, st)
	if stub != nil {
		if failed || got.Len() == 0 {
			outputStub(sub, stub, out, first(w.Header(), "Content-Type"), sw.ssiDepth, sw.ssi)
		} else {
			_, _ = out.Write(got.Bytes()) // out is the stub's buffer in ssi
		}
	}
	st.EndSubrequest(saved)
	st.BodyBytesSent += cw.sent
	w.endIncluded(sw.imageEnd)
	return failed, nil
}

// checkDepth logs and returns ssi.ErrCycle when an include of uri would
// nest too deeply (or w has no server to route it in).
func (e *ssiEnv) checkDepth(uri string) error {
	w := (*recorder)(e)
	if w.bf.ssiDepth >= maxSSIDepth || w.srv == nil {
		e.Log(fmt.Sprintf("subrequests cycle while processing \"%s\"", uri))
		return ssi.ErrCycle
	}
	return nil
}

// includeWriter is the subWriter of a subrequest w includes, whose body
// goes to body; yield lets whatever waits for it go on (Part.Yield).
func (w *recorder) includeWriter(body io.Writer, yield func()) *subWriter {
	return &subWriter{header: http.Header{}, body: body, ssi: w.bf.ssi.Shared(), ssiDepth: w.bf.ssiDepth + 1, included: true,
		owner: w.mainRecorder(), mainLog: w.log(), yield: yield, running: w.ssiRunning()}
}

// includeFailed reports whether an include's subrequest failed as a
// stub counts it: nginx finalizes a subrequest with its status when
// fulcrum's own page answers it (an error, a redirect, "return 404"); an
// upstream's answer, whatever its status, is not such a failure.
func includeFailed(sw *subWriter, st *vars.State) bool {
	return sw.failed || sw.code >= 300 && len(st.Upstreams) == 0
}

// maxSSIRunning is how many includes of one main request (its own and
// those of the pages it includes) run at once beside it. nginx starts
// every include's subrequest as the page is parsed (recorded with nginx
// 1.22.1: a page of 200 includes of a proxied location had 200 upstream
// requests at once, one of 2000 had 1419, as many as the backend took),
// up to its request reference counter (about 64,500 subrequests alive:
// "request reference counter overflow while processing", crit); fulcrum
// runs an include past this bound on the including goroutine, to its
// end, before the page goes on.
const maxSSIRunning = 64

// ssiRunning counts the includes of a main request that run beside it
// (ssiEnv.Start), and guards what they share of the main request.
type ssiRunning struct {
	n atomic.Int32
	// mu guards the main request's mirrors group, which a cache's
	// background update in an include makes (UpdateInBackground).
	mu sync.Mutex
}

// acquire takes a place for an include, false when all are taken.
func (r *ssiRunning) acquire() bool {
	if r.n.Add(1) > maxSSIRunning {
		r.n.Add(-1)
		return false
	}
	return true
}

// release gives the place back.
func (r *ssiRunning) release() { r.n.Add(-1) }

// ssiRunning is the bound of w's main request: its own for a main
// request, the one its includer passed on for an include, nil for other
// subrequests.
func (w *recorder) ssiRunning() *ssiRunning {
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		return sw.running
	}
	return &w.bodyFilters().running
}

// yield lets the request waiting for w's subrequest to start go on
// (Part.Yield), when w is an include's.
func (w *recorder) yield() {
	if sw, ok := w.ResponseWriter.(*subWriter); ok && sw.yield != nil {
		sw.yield()
	}
}

// yieldBefore yields (recorder.yield) before the handler h runs, when h
// waits on something outside the server: any handler but those that
// answer from the server itself. nginx's include subrequest runs until it
// waits for an event, an upstream's answer, and the page's parsing goes on
// meanwhile; one served from a file ends before it does.
func (w *recorder) yieldBefore(h handler) {
	if !w.sub {
		return
	}
	switch h.(type) {
	case *staticHandler, tryFilesFirst, emptyGIFHandler, stubStatusHandler, apiHandler, dashboardHandler:
		return
	}
	w.yield()
}

// Start implements ssi.Env: the include runs on a goroutine of its own,
// with copies of the request and of its variables (as a mirror's, State.Fork:
// variables its location sets are its own), its output (or stub) to part,
// which the including response drains in the page's order. It returns
// once the subrequest ended or waits on an upstream (yieldBefore), as
// nginx runs its posted subrequests. Past maxSSIRunning, or for a
// response an included image ended, it runs as Include does, to its end.
func (e *ssiEnv) Start(uri, args string, stub []byte, part *ssi.Part) error {
	w := (*recorder)(e)
	running := w.ssiRunning()
	if w.bodyEnded || running == nil || !running.acquire() {
		_, err := e.Include(uri, args, part, stub)
		if err == nil {
			part.Finish(nil)
		}
		return err
	}
	if err := e.checkDepth(uri); err != nil {
		running.release()
		return err
	}
	sc := w.snap.getScratch()
	ctx, cancel := context.WithCancel(w.req.Context())
	inc := includeRequest(w.req)
	sr := inc.WithContext(ctx)
	st := &sc.st
	w.st.Fork(st)
	st.Header, st.Fields = vars.HeaderMap(sr.Header), slices.Clone(w.st.Fields)
	st.BeginSubrequest(uri, http.MethodGet)
	st.Args = args
	st.Documents, st.Engine, st.Uninitialized = sc, sc, nil
	if w.snap.settables {
		sc.r, sc.log = sr, w.snap.log
		st.Uninitialized = sc
	}
	part.SetStop(cancel)
	in := &startedInclude{parent: w, sc: sc, sr: sr, part: part, stub: stub,
		ct: first(w.Header(), "Content-Type"), running: running, cancel: cancel}
	in.sw = w.includeWriter(nil, in.yield)
	go in.run()
	part.WaitStarted(w.req.Context().Done())
	return nil
}

// handOff gives the including request the variables the include's
// location set, while it still waits (Part.Handoff): as in nginx, where
// they are the main request's, an include that ended, or went to an
// upstream, before the page went on has set them for the rest of it.
func (in *startedInclude) handOff() {
	in.part.Handoff(func() { in.parent.st.Adopt(&in.sc.st) })
}

// yield is the include's recorder.yield.
func (in *startedInclude) yield() {
	in.handOff()
	in.part.Yield()
}

// startedInclude is an include running on its own goroutine (ssiEnv.Start).
type startedInclude struct {
	parent  *recorder // the including response's: touched only by finish
	sc      *requestScratch
	sr      *http.Request
	sw      *subWriter
	part    *ssi.Part
	stub    []byte
	ct      string // the including response's Content-Type (outputStub)
	running *ssiRunning
	cancel  context.CancelFunc
}

// run serves the include, its body (or stub) to its part, then finishes
// the part; a panic is logged as the engine logs a request's and fails
// this include alone.
func (in *startedInclude) run() {
	s := in.parent.snap
	defer in.running.release()
	start := s.subrequestStart()
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				s.log.Logf(errlog.Alert, "panic serving an SSI include of %s: %v\n%s", in.sc.st.Remote, p, debug.Stack())
			}
			in.cancel()
			in.part.Finish(func(bool) { s.putScratch(in.sc) })
		}
	}()
	var got bytes.Buffer
	in.sw.body = in.part
	if in.stub != nil { // the body decides between itself and the stub
		in.sw.body = &got
	}
	sub, st := &in.sc.rec, &in.sc.st
	s.serveSubrequestTo(sub, in.parent.keepSlashes, in.sr, st, in.parent.srv, in.sw)
	if in.stub != nil {
		if includeFailed(in.sw, st) || got.Len() == 0 {
			outputStub(sub, in.stub, in.part, in.ct, in.sw.ssiDepth, in.sw.ssi)
		} else {
			_, _ = in.part.Write(got.Bytes())
		}
	}
	in.cancel()
	in.handOff()
	in.part.Finish(in.finish(start))
}

// finish is what the including goroutine does once the part went out
// (ok) or was given up: nginx writes an include's access log line when
// its output goes out, in the page's order (recorded with nginx 1.22.1: a
// second include that ended first is logged after the first, with the
// first's end as its own), and none for a response given up.
func (in *startedInclude) finish(start time.Time) func(bool) {
	return func(ok bool) {
		s := in.parent.snap
		if ok {
			s.logSubrequest(&in.sc.rec, &in.sc.st, start, in.parent.clientSent())
			in.parent.endIncluded(in.sw.imageEnd)
		}
		s.putScratch(in.sc)
	}
}

// outputStub writes an include's stub block for the subrequest sub that
// failed or sent nothing to out, as nginx's ngx_http_ssi_stub_output sends
// it through the subrequest's filters with the including response's
// Content-Type, ct: the block's SSI commands run, with the subrequest's
// variables ($args ...), when the subrequest's location has SSI on for
// that type, else it goes out as it is (recorded with nginx 1.22.1: a
// block holding an if/elif/else on $arg_if, as the stub of
// include virtual="/404?$args" in a location with ssi on, outputs "IF"
// for ?if=1; nginx-tests' ssi_if.t, "if (in block)"). depth is the
// subrequest's include depth, shared the SSI state.
func outputStub(sub *recorder, stub []byte, out io.Writer, ct string, depth int, shared *ssi.Shared) {
	set := sub.set
	if set == nil || !set.SSI.On || sub.req == nil || sub.req.Method == http.MethodHead || !ssiType(&set.SSI, ct) {
		_, _ = out.Write(stub)
		return
	}
	bf := sub.bodyFilters()
	bf.ssiDepth = depth
	bf.ssi.Reset(out, (*ssiEnv)(sub), shared, ssiOptions(set))
	_, _ = bf.ssi.Write(stub)
	_ = bf.ssi.Close()
}

// ssiOptions are the ssi.Options of the settings set.
func ssiOptions(set *config.Settings) ssi.Options {
	return ssi.Options{
		SilentErrors: set.SSI.SilentErrors,
		ValueLength:  int(set.SSI.ValueLength),
		SetLimit:     int(set.SubrequestOutputBufferSize),
		TempDir:      set.ClientBodyTempPath.Path,
	}
}

// Yield implements ssi.Env (recorder.yield).
func (e *ssiEnv) Yield() { (*recorder)(e).yield() }

// Done implements ssi.Env: the request's context's, which ends when the
// client goes away (and, for an include running on its own goroutine,
// when its includer gives it up).
func (e *ssiEnv) Done() <-chan struct{} { return e.req.Context().Done() }

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

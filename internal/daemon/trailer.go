package daemon

import (
	"net/http"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// add_trailer: nginx's headers filter marks a response whose status lets
// one of the location's trailers go out (safeStatus, or "always") as
// expecting trailers, which makes its chunked filter frame an HTTP/1.1
// body chunked, dropping a Content-Length; the values are evaluated when
// the body ends, and an empty one leaves its field out. HEAD, 204 and 304
// responses and HTTP/1.0 keep their framing and get no trailer section.

// expectTrailers notes the add_trailer fields that apply to a response
// with status code (the headers filter's), and has the engine's writer
// frame it for them. It runs only for a location with add_trailer.
func (w *recorder) expectTrailers(code int) {
	if w.sub {
		return // nginx adds trailers to the main request only
	}
	list := w.snap.trailers[w.set]
	ok := safeStatus(code)
	for _, t := range list {
		if ok || t.always {
			w.trailers, w.trailersAll = list, !ok
			break
		}
	}
	if w.trailers != nil && w.ew != nil {
		w.ew.expectTrailers(code)
	}
}

// sendTrailers evaluates the trailers expectTrailers kept, at the end of
// the response, and hands them to the writer: the engine's last chunk, or
// an HTTP/2 stream's trailing HEADERS frame (http.TrailerPrefix).
func (w *recorder) sendTrailers() {
	for _, t := range w.trailers {
		if !t.always && w.trailersAll {
			continue
		}
		v := t.value.String(w.st)
		if v == "" {
			continue
		}
		if w.st.Method != http.MethodHead { // nginx's trailers filter skips a header-only response
			w.st.SentTrailer = append(w.st.SentTrailer, vars.Field{Name: t.name, Value: v})
		}
		if w.ew != nil {
			w.ew.addTrailer(t.name, v)
			continue
		}
		if _, ok := w.ResponseWriter.(streamWriter); ok {
			h := w.ResponseWriter.Header()
			h[http.TrailerPrefix+t.key] = append(h[http.TrailerPrefix+t.key], v)
		}
	}
}

// expectTrailers has an HTTP/1.1 response with status code framed chunked
// for the trailers addTrailer adds at its end, its Content-Length
// dropped, as nginx's chunked filter does for r->expect_trailers. A HEAD
// request's response, a 204 or 304, and HTTP/1.0 keep their framing.
func (w *respWriter) expectTrailers(code int) {
	if w.head || code == http.StatusNoContent || code == http.StatusNotModified || w.cc.version != h1.HTTP11 {
		return
	}
	w.expect = true
	delete(w.Header(), "Content-Length")
}

// addTrailer adds a field to the trailer section, after any the handler
// set, in the order added and spelled as given.
func (w *respWriter) addTrailer(name, value string) {
	w.tfields = append(w.tfields, name, value)
}

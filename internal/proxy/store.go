package proxy

import (
	"io"
	"net/http"

	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/store"
)

// startStore begins storing req's response (proxy_store) when nginx would:
// a 200 from the upstream, for any method but HEAD (whose response has no
// body to store), that nginx reads buffered (proxy_buffering, which
// X-Accel-Buffering turns off or on unless proxy_ignore_headers lists it:
// nginx stores only through its buffered pipe).
func (h *Handler) startStore(req *request) {
	resp := &req.resp
	if resp.head.Status != http.StatusOK || req.in.Method == http.MethodHead || resp.upgraded || !req.buffered {
		return
	}
	f, err := h.store.Open(req.st)
	if err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(""), err.Error()+" while reading upstream")
		return
	}
	req.store = f
}

// endStore puts the stored file in place when the whole body came (ok; for
// a Content-Length body, exactly that many bytes), with the upstream's
// Last-Modified as its time; else it drops it.
func (h *Handler) endStore(req *request, ok bool) {
	f := req.store
	req.store = nil
	head := &req.resp.head
	want := int64(-1)
	if head.Framing == h1.LengthBody {
		want = head.ContentLength
	}
	if err := f.Close(ok, want, head.Headers.Get("Last-Modified")); err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(""), err.Error()+" while reading upstream")
	}
}

// storeTee writes the body to the client and to the stored file.
type storeTee struct {
	w io.Writer
	s *store.File
}

func (t storeTee) Write(p []byte) (int, error) {
	_, _ = t.s.Write(p)
	return t.w.Write(p)
}

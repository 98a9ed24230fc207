package fastcgi

import (
	"net/http"
	"strconv"

	"fulcrum/internal/errlog"
)

// startStore begins storing the response whose head is hd
// (fastcgi_store, scgi_store, uwsgi_store) when nginx would: a 200 it
// reads buffered (fastcgi_buffering, turned off or on by
// X-Accel-Buffering unless fastcgi_ignore_headers lists it: nginx stores
// only through its buffered pipe). Unlike the proxy, a HEAD request's response is stored too: the
// application gets the method and may send a body anyway, which nginx's
// upstream module reads to the end for the store (ngx_http_upstream_send_
// response goes on for a header-only request when u->store is set; nginx
// 1.22 saved a Go fcgi application's HEAD body so).
func (h *Handler) startStore(req *request, hd *head) {
	if hd.status != http.StatusOK || !req.buffered {
		return
	}
	f, err := h.store.Open(req.st)
	if err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), err.Error()+" while reading upstream")
		return
	}
	req.store = f
}

// endStore puts the stored file in place when the whole body came (ok;
// with a Content-Length field, exactly that many bytes, as nginx checks),
// with the response's Last-Modified as its time; else it drops it.
func (h *Handler) endStore(req *request, hd *head, ok bool) {
	f := req.store
	req.store = nil
	want := int64(-1)
	if v := hd.get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			ok = false
		}
		want = n
	}
	var mod []byte
	if v := hd.get("Last-Modified"); v != "" {
		mod = []byte(v)
	}
	if err := f.Close(ok, want, mod); err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), err.Error()+" while reading upstream")
	}
}

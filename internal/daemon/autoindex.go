package daemon

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/static"
	"fulcrum/internal/vars"
)

// listingOf compiles a location's autoindex settings.
func listingOf(s *config.Settings) static.Listing {
	return static.Listing{
		Enabled:   s.Autoindex,
		Format:    static.ParseListFormat(s.AutoindexFormat),
		ExactSize: s.AutoindexExactSize,
		LocalTime: s.AutoindexLocaltime,
		// nginx counts name lengths in characters when the charset filter
		// made the response's charset utf-8.
		UTF8: !s.Charset.Variable && strings.EqualFold(s.Charset.Name, "utf-8"),
	}
}

// list answers a KindDirectory result with the directory's listing, as
// ngx_http_autoindex_handler: a jsonp callback is checked first (400), then
// the directory is opened (404, 403 or 500 when it cannot be, logged as
// nginx logs it); the 200 has no Content-Length or Last-Modified (it goes
// out chunked) and a HEAD gets the head alone.
func (h *staticHandler) list(rec *recorder, r *http.Request, st *vars.State, res static.Result) {
	var callback string
	if h.listing.Format == static.ListJSONP {
		cb, err := static.JSONPCallback(st.Args)
		if err != nil {
			rec.ErrorLog(h.log).LogRequest(errlog.Info, logRequest(st, r), strings.TrimSuffix(err.Error(), ": "+static.ErrBadCallback.Error()))
			rec.fail(http.StatusBadRequest)
			return
		}
		callback = cb
	}
	entries, err := static.ReadDir(res)
	if err != nil {
		code := static.ListingStatus(err)
		level := errlog.Error
		if code == http.StatusInternalServerError {
			level = errlog.Crit
		}
		rec.ErrorLog(h.log).LogRequest(level, logRequest(st, r), staticFailure(err))
		rec.fail(code)
		return
	}
	rec.Header().Set("Content-Type", h.listing.ContentType(callback))
	rec.LengthUnknown()
	rec.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = rec.Write(h.listing.AppendListing(nil, st.Path, callback, entries, time.Now()))
}

// emptyGIF is the 1x1 transparent GIF that nginx's empty_gif module sends.
var emptyGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff" +
	"!\xf9\x04\x01\x00\x00\x01\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02L\x01\x00;")

// emptyGIFModified is the Last-Modified nginx gives the GIF:
// Mon, 28 Sep 1970 06:00:00 GMT.
var emptyGIFModified = time.Unix(23349600, 0).UTC()

// emptyGIFHandler answers with the GIF (the empty_gif directive), as
// ngx_http_empty_gif_handler: GET and HEAD only (405 otherwise), image/gif
// with Content-Length and Last-Modified, and nginx's not-modified filter
// (304 for its exact date, 412 for a failed If-Unmodified-Since).
type emptyGIFHandler struct{}

func (emptyGIFHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec := w.(*recorder)
	if !getOrHead(rec, r) {
		return nil
	}
	hdr := w.Header()
	hdr.Set("Last-Modified", emptyGIFModified.Format(http.TimeFormat))
	ims := config.IMSExact
	if rec.set != nil {
		ims = rec.set.IfModifiedSince
	}
	switch static.ConditionalWith(r.Header, emptyGIFModified, "", ims) {
	case http.StatusNotModified:
		w.WriteHeader(http.StatusNotModified)
		return nil
	case http.StatusPreconditionFailed:
		hdr.Del("Last-Modified")
		rec.fail(http.StatusPreconditionFailed)
		return nil
	}
	hdr.Set("Content-Type", "image/gif")
	hdr.Set("Content-Length", strconv.Itoa(len(emptyGIF)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(emptyGIF)
	}
	return nil
}

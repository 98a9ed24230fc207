package daemon

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// pendingMirror is one mirror subrequest the precontent phase asked for,
// with what it copies from the main request at that moment.
type pendingMirror struct {
	uri, args, method string
	body              []byte // nil: no body (mirror_request_body off, or none)
}

// mirrorSettings are the settings the precontent phase of a request at loc
// uses: its limit_except block's when the method is limited there.
func mirrorSettings(loc *config.Location, limited bool) *config.Settings {
	if limited {
		return loc.LimitExcept.Settings
	}
	return loc.Settings
}

// mirror is ngx_http_mirror_handler, for a main request at a level with
// mirror URIs: with mirror_request_body on it reads the whole request body
// first (the content handler then reads it from memory), and it records one
// mirror subrequest per URI, with the request's method, arguments and, when
// read, body. It reports false when reading the body failed, the request
// answered (413 over client_max_body_size, 408 on client_body_timeout, 400
// for a client that went away).
//
// nginx starts the mirrors as background subrequests beside the content
// handler and finishes the main request only once they are done. fulcrum
// runs them after the response went out, one after the other on the
// request's goroutine (runMirrors), before the access log line and before
// the connection reads its next request: the client's answer is the same,
// the next request on the connection waits as in nginx, and the subrequests
// share the request's State without a race.
func (s *snapshot) mirror(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, set *config.Settings) bool {
	var body []byte
	if set.MirrorRequestBody && r.Body != nil && r.Body != http.NoBody {
		if rec.mirrorBody == nil {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				var tooBig *http.MaxBytesError
				switch {
				case errors.As(err, &tooBig):
					rec.fail(http.StatusRequestEntityTooLarge)
				case errors.Is(err, os.ErrDeadlineExceeded):
					rec.drop(http.StatusRequestTimeout)
				default:
					rec.drop(http.StatusBadRequest)
				}
				return false
			}
			if data == nil {
				data = []byte{}
			}
			rec.mirrorBody = data
			r.Body = io.NopCloser(bytes.NewReader(data))
			r.ContentLength, r.TransferEncoding = int64(len(data)), nil
		}
		if len(rec.mirrorBody) > 0 {
			body = rec.mirrorBody
		}
	}
	for _, uri := range set.Mirrors {
		rec.mirrors = append(rec.mirrors, pendingMirror{uri: uri, args: st.Args, method: r.Method, body: body})
	}
	rec.mirrorSrv = srv
	return true
}

// runMirrors runs the mirror subrequests the request recorded, in order,
// once its response is complete: each is routed from its URI (an internal
// location may answer it) with the main request's header fields, its
// answer discarded. A mirror that fails or times out (the mirror location's
// proxy timeouts bound it) changes nothing for the client.
func (s *snapshot) runMirrors(rec *recorder, r *http.Request, st *vars.State) {
	for _, m := range rec.mirrors {
		sr := *r // the header fields are shared, read only
		sr.Method = m.method
		if m.body != nil {
			sr.Body, sr.ContentLength = io.NopCloser(bytes.NewReader(m.body)), int64(len(m.body))
		} else {
			sr.Body, sr.ContentLength = http.NoBody, 0
		}
		sr.TransferEncoding = nil
		saved := st.BeginSubrequest(m.uri, m.method)
		st.Args = m.args // nginx gives the subrequest the main request's arguments
		s.runSubrequest(rec, &sr, st, rec.mirrorSrv, nil)
		st.EndSubrequest(saved)
	}
}

package fastcgi

import (
	"errors"
	"net/http"

	"fulcrum/internal/bodyspool"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// requestBodyVarMax is the longest part of a refused body $request_body
// shows: nginx's client_body_buffer_size default on 64-bit systems other
// than x86-64, the memory buffer a body is read into.
const requestBodyVarMax = 16 << 10

// bodyRead records a body read whole before the request goes out
// (*_request_buffering on, the default), as nginx has it once
// ngx_http_read_client_request_body is done, before the parameters are
// evaluated: $request_body is the body when it stayed in memory (body; nil
// for one in a temporary file), and a body without a Content-Length field
// (chunked) has its length (size) as $content_length (nginx's
// headers_in.content_length_n), so that "fastcgi_param CONTENT_LENGTH
// $content_length" sends "10" for a 10-byte chunked body, as nginx 1.22.1
// does.
func bodyRead(st *vars.State, r *http.Request, body []byte, size int64) {
	if body != nil {
		st.Body = body
	}
	if len(r.Header["Content-Length"]) == 0 {
		st.ChunkedLength, st.ChunkedRead = size, true
	}
}

// spooled notes a body that went to a temporary file: its name is
// $request_body_file, and nginx logs the file (a warning, a notice with
// client_body_in_file_only) once, where it was read: not again for a body
// read for the mirrors or the post action.
func (h *Handler) spooled(req *request) {
	req.st.BodyFile = req.spool.FileName()
	if req.spool.Shared() {
		return // read, and logged, for the mirrors or the post action
	}
	notice, msg := req.spool.LogLine(&h.spool)
	level := errlog.Warn
	if notice {
		level = errlog.Notice
	}
	if req.log != nil && req.log.Enabled(level) {
		req.log.LogRequest(level, req.logRequest(), msg)
	}
}

// bodyRefused answers a request whose body could not be read whole
// before the request went out, logging the engine's line for the failure
// as nginx 1.22.1 logs it there, with no upstream yet (errlog.Described:
// "client intended to send too large chunked body: 5+5 bytes", "client
// sent invalid chunked body", "client prematurely closed connection"). A
// body refused at a chunk past client_max_body_size keeps the part read
// before it as $request_body (nginx logs "hello" for a body refused at its
// second 5-byte chunk).
func (h *Handler) bodyRefused(req *request, part []byte, err error) {
	var d errlog.Described
	switch {
	case errors.As(err, &d):
		level, msg := d.LogLine()
		req.log.LogRequest(level, req.logRequest(), msg)
	case errors.Is(err, bodyspool.ErrTempFile) && req.log != nil:
		req.log.LogRequest(errlog.Crit, req.logRequest(), err.Error())
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) && len(part) <= requestBodyVarMax {
		req.st.Body = part
	}
	fail(req.w, bodyErrorStatus(req.r, err))
}

package daemon

import (
	"bytes"
	"strconv"

	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
)

// logRefusedHead logs at info why the strict reader refused a head, in
// nginx 1.22.1's words for the same fault (recorded on raw sockets: nginx
// logs every refused head at info, which tells an operator what a client
// sent that got it a 400): "client sent invalid method", "client sent
// invalid request", "client sent invalid header line: "TEXT\xHH..."",
// "client sent duplicate host header", "client sent unknown
// "Transfer-Encoding"" and the others below, then "while reading client
// request line" or "headers", with the request line as received and the
// Host when one was read, and the server that Host chose (nginx's
// "server:"). A head nginx would have taken (fulcrum is
// stricter: a bare LF, a field name that is not a token, HTTP/1.2) gets the
// line nginx writes for the nearest fault it does refuse. The heads the
// buffers could not hold are logOverflow's.
func (cc *clientConn) logRefusedHead(err h1.Error) {
	msg, headers := refusalMessage(err, &cc.req)
	if msg == "" {
		return
	}
	req := &cc.req
	er := &errlog.Request{Conn: cc.ci.id, Client: cc.clientAddr(), Request: string(req.RawLine())}
	action := " while reading client request line"
	if headers {
		action = " while reading client request headers"
		er.Host = string(req.Headers.Get("Host"))
		er.HostSent = req.Headers.Count("Host") > 0
	}
	var log *errlog.Logger
	er.Server, log = cc.refusedServer(er.Host, headWhole(err))
	log.LogRequest(errlog.Info, er, msg+action)
}

// refusalMessage is the text of logRefusedHead's line for err, and whether
// the fault is in the header fields (else in the request line). It is
// empty for the errors that are not a head's (and for those logOverflow
// logs).
func refusalMessage(err h1.Error, req *h1.Request) (msg string, headers bool) {
	switch err {
	case h1.ErrRequestLine:
		if bytes.IndexByte(req.RawLine(), ' ') < 0 {
			return "client sent invalid method", false // nginx's parse stops in the method
		}
		return "client sent invalid request", false
	case h1.ErrMethod:
		return "client sent invalid method", false
	case h1.ErrTargetHost:
		return "client sent invalid host in request line", false
	case h1.ErrTarget, h1.ErrTargetEscape, h1.ErrTargetForm, h1.ErrVersion:
		return "client sent invalid request", false
	case h1.ErrVersionNotSupported:
		return "client sent invalid version", false
	case h1.ErrTooManyHeaders:
		return "client sent too many header lines", true
	case h1.ErrBareLF, h1.ErrBareCR, h1.ErrControlChar, h1.ErrFieldName,
		h1.ErrSpaceBeforeColon, h1.ErrMissingColon, h1.ErrLeadingWhitespace, h1.ErrObsFold:
		if err == h1.ErrBareCR && bareCRInRequestLine(req.Raw()) {
			return "client sent invalid request", false
		}
		if err == h1.ErrBareLF && methodEndsAtLF(req.Raw()) {
			// nginx ends a request line at a bare LF, here still in its
			// method ("R\n", "GET\n"; recorded with nginx 1.22.1).
			return "client sent invalid method", false
		}
		text, bad, ok := h1.LineFault(req.Raw())
		if !ok {
			return "client sent invalid header line", true
		}
		return `client sent invalid header line: "` + string(text) + `\x` + hexByte(bad) + `..."`, true
	case h1.ErrMissingHost:
		return `client sent HTTP/1.1 request without "Host" header`, true
	case h1.ErrDuplicateHost:
		return duplicateLine(req.Headers, "Host", "client sent duplicate host header"), true
	case h1.ErrInvalidHost:
		return "client sent invalid host header", true
	case h1.ErrDuplicateField:
		return duplicateField(req.Headers), true
	case h1.ErrTEAndCL:
		return `client sent "Content-Length" and "Transfer-Encoding" headers at the same time`, true
	case h1.ErrTransferEncoding, h1.ErrUnknownCoding:
		switch {
		case req.Version == h1.HTTP10:
			return `client sent HTTP/1.0 request with "Transfer-Encoding" header`, true
		case req.Headers.Count("Transfer-Encoding") > 1:
			return duplicateLine(req.Headers, "Transfer-Encoding", "client sent duplicate header line"), true
		}
		return `client sent unknown "Transfer-Encoding": "` + string(req.Headers.Get("Transfer-Encoding")) + `"`, true
	case h1.ErrContentLength:
		if req.Headers.Count("Content-Length") > 1 {
			return duplicateLine(req.Headers, "Content-Length", "client sent duplicate header line"), true
		}
		return `client sent invalid "Content-Length" header`, true
	case h1.ErrTrailerDecl:
		return `client sent invalid "Trailer" header`, true
	}
	return "", false
}

// methodEndsAtLF reports whether a head's first line ends with a bare LF
// before any space: nginx's request line parser takes the LF as the
// line's end, in the method.
func methodEndsAtLF(raw []byte) bool {
	i := bytes.IndexByte(raw, '\n')
	return i > 0 && raw[i-1] != '\r' && bytes.IndexByte(raw[:i], ' ') < 0
}

// bareCRInRequestLine reports whether a head's first line has a CR
// followed by another byte than LF ("GET /a HTTP/1.1\rHost: h"): nginx's
// request line parser refuses it ("client sent invalid request", with $uri
// and $request_length of a line that did not parse; recorded with
// scripts/request-nginx-sweep.py), not its header parser.
func bareCRInRequestLine(raw []byte) bool {
	i := bytes.IndexByte(raw, '\r')
	return i >= 0 && i+1 < len(raw) && raw[i+1] != '\n' && bytes.IndexByte(raw[:i], '\n') < 0
}

// duplicateLine is nginx's line for a field sent twice: `what: "NAME:
// SECOND", previous value: "NAME: FIRST"`, with the names as sent.
func duplicateLine(hs h1.Headers, name, what string) string {
	var first, second *h1.Header
	for i := range hs {
		if !h1.EqualFold(hs[i].Name, name) {
			continue
		}
		if first == nil {
			first = &hs[i]
		} else {
			second = &hs[i]
			break
		}
	}
	if second == nil {
		return what
	}
	return what + `: "` + string(second.Name) + ": " + string(second.Value) +
		`", previous value: "` + string(first.Name) + ": " + string(first.Value) + `"`
}

// duplicateField is nginx's line for the first field h1.UniqueField names
// that came twice: the line that repeated it, then the first one.
func duplicateField(hs h1.Headers) string {
	for i := range hs {
		if !h1.UniqueField(hs[i].Name) {
			continue
		}
		for j := range hs[:i] {
			if h1.EqualFold(hs[j].Name, string(hs[i].Name)) {
				return duplicateLine(hs, string(hs[i].Name), "client sent duplicate header line")
			}
		}
	}
	return "client sent duplicate header line"
}

// hexByte is b as two lowercase hex digits, as nginx's %02xd writes it.
func hexByte(b byte) string {
	s := strconv.FormatUint(uint64(b), 16)
	if len(s) == 1 {
		s = "0" + s
	}
	return s
}

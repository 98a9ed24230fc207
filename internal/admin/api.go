package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Version is the one API version fulcrum serves, NGINX Plus's 9.
const Version = 9

// docsURL is the href of every error body, as in NGINX Plus.
const docsURL = "https://nginx.org/en/docs/http/ngx_http_api_module.html"

// maxBody caps a PATCH body; a server's settings take a few dozen bytes.
const maxBody = 64 << 10

// ErrUpstreamNotFound is returned by Source.Patch for an upstream the
// configuration in force does not have.
var ErrUpstreamNotFound = errors.New("upstream not found")

// API serves the runtime API of one location (the api directive).
type API struct {
	Source Source
	// Write allows the PATCH requests (api write=on); without it every
	// method but GET and HEAD is refused with MethodDisabled.
	Write bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Request is what Serve needs beyond the HTTP request.
type Request struct {
	// Path is the request's path after the location's prefix: "/9/nginx".
	Path string
	// ID is the request's $request_id, which error bodies carry.
	ID string
	// Address is the address that accepted the request (/nginx's address).
	Address string
}

// apiError is an error answer: NGINX Plus's status, text and code.
type apiError struct {
	status     int
	text, code string
}

func (e *apiError) Error() string { return e.text }

func newError(status int, code, text string) *apiError {
	return &apiError{status: status, code: code, text: text}
}

var (
	errPathNotFound    = newError(http.StatusNotFound, "PathNotFound", "path not found")
	errUnknownVersion  = newError(http.StatusNotFound, "UnknownVersion", "unknown version")
	errMethodDisabled  = newError(http.StatusMethodNotAllowed, "MethodDisabled", "method disabled")
	errMethodNotSupp   = newError(http.StatusMethodNotAllowed, "MethodNotSupported", "method not supported")
	errUpstreamUnknown = newError(http.StatusNotFound, "UpstreamNotFound", "upstream not found")
	errServerUnknown   = newError(http.StatusNotFound, "UpstreamServerNotFound", "server not found")
	errUpstreamStatic  = newError(http.StatusBadRequest, "UpstreamStatic", "upstream is static")
	// errCrossOrigin is fulcrum's own: NGINX Plus has no such check.
	errCrossOrigin = newError(http.StatusForbidden, "CrossOriginRequest", "cross-origin request refused")
)

// Serve answers one API request.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, req Request) {
	status := http.StatusOK
	body, err := a.route(r, req, &status)
	discard(r.Body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newError(http.StatusInternalServerError, "InternalError", err.Error())
		}
		writeError(w, r, req.ID, ae)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status) // a reset (DELETE) answers without a body
		return
	}
	if body == nil {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status) // a keyval POST: 201 Created, no body
		return
	}
	writeJSON(w, r, status, body)
}

// route finds the endpoint of the request and runs it, returning the JSON
// body of a success.
func (a *API) route(r *http.Request, req Request, status *int) ([]byte, error) {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if !read && !a.Write {
		return nil, errMethodDisabled
	}
	if !read && !sameOrigin(r) {
		return nil, errCrossOrigin
	}
	segs := splitPath(req.Path)
	if len(segs) == 0 {
		if !read {
			return nil, errMethodNotSupp
		}
		return json.Marshal([]int{Version})
	}
	if v, err := strconv.Atoi(segs[0]); err != nil || v < 1 {
		return nil, errPathNotFound
	} else if v != Version {
		return nil, errUnknownVersion
	}
	return a.endpoint(r, req, segs[1:], read, status)
}

// sameOrigin reports whether a write may come from where r says it comes
// from: not from a page of another origin in a browser (Sec-Fetch-Site,
// else Origin against Host; net/http's CrossOriginProtection). The API
// reads a body as JSON whatever its Content-Type, as NGINX Plus does (its
// examples send it with curl -d, as a form), so a text/plain POST, which
// a browser sends across origins without a CORS preflight, would
// otherwise let any page the administrator opens add keys or upstream
// servers. curl and scripts send neither field and pass, and so does the
// dashboard (same origin).
func sameOrigin(r *http.Request) bool {
	var p http.CrossOriginProtection // no trusted origins, no bypass
	return p.Check(r) == nil
}

// splitPath splits "/9/http/upstreams/" into its non-empty segments.
func splitPath(p string) []string {
	var out []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// endpoint serves the path below the version.
func (a *API) endpoint(r *http.Request, req Request, segs []string, read bool, status *int) ([]byte, error) {
	if len(segs) >= 2 {
		if kind, ok := zonePaths[segs[0]+"/"+segs[1]]; ok {
			return a.zones(r, kind, segs[2:], read, status)
		}
	}
	if len(segs) >= 2 && segs[1] == "keyvals" {
		switch segs[0] {
		case "http":
			return a.keyvals(r, HTTP, segs[2:], read, status)
		case "stream":
			return a.keyvals(r, Stream, segs[2:], read, status)
		}
	}
	if len(segs) >= 2 && segs[1] == "upstreams" {
		switch segs[0] {
		case "http":
			return a.upstreams(r, HTTP, segs[2:], read, status)
		case "stream":
			return a.upstreams(r, Stream, segs[2:], read, status)
		}
	}
	if !read {
		if len(segs) > 2 || lookupRead(segs) == nil {
			return nil, errPathNotFound
		}
		return nil, errMethodNotSupp
	}
	get := lookupRead(segs)
	if get == nil {
		return nil, errPathNotFound
	}
	return get(a, req)
}

// lookupRead returns the reader of a read-only endpoint, or nil.
func lookupRead(segs []string) func(*API, Request) ([]byte, error) {
	switch strings.Join(segs, "/") {
	case "":
		return func(*API, Request) ([]byte, error) {
			return json.Marshal([]string{"nginx", "connections", "http", "stream"})
		}
	case "nginx":
		return (*API).nginx
	case "connections":
		return (*API).connections
	case "http":
		return func(*API, Request) ([]byte, error) {
			return json.Marshal([]string{"requests", "server_zones", "location_zones", "keyvals", "upstreams"})
		}
	case "http/requests":
		return (*API).requests
	case "stream":
		return func(*API, Request) ([]byte, error) {
			return json.Marshal([]string{"server_zones", "keyvals", "upstreams"})
		}
	}
	return nil
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) nginx(req Request) ([]byte, error) {
	p := a.Source.Process()
	return json.Marshal(nginxObject{
		Version: p.Version, Build: p.Build, Address: req.Address, Generation: p.Generation,
		LoadTimestamp: timestamp(p.LoadTime), Timestamp: timestamp(a.now()), PID: p.PID, PPID: p.PPID,
	})
}

// connections follows NGINX Plus: active are the connections not idle,
// idle the keep-alive connections waiting for a request.
func (a *API) connections(Request) ([]byte, error) {
	c := a.Source.Counts()
	return json.Marshal(connectionsObject{Accepted: c.Accepted, Dropped: c.Accepted - c.Handled,
		Active: c.Active - c.Waiting, Idle: c.Waiting})
}

func (a *API) requests(Request) ([]byte, error) {
	c := a.Source.Counts()
	return json.Marshal(requestsObject{Total: c.Requests, Current: c.Reading + c.Writing})
}

// upstreams serves /http/upstreams or /stream/upstreams (block) and what is
// below it. Changes need the upstream's zone, as in NGINX Plus.
func (a *API) upstreams(r *http.Request, b Block, segs []string, read bool, status *int) ([]byte, error) {
	if len(segs) > 4 || len(segs) >= 2 && segs[1] != "servers" {
		return nil, errPathNotFound
	}
	all := a.upstreamsOf(b)
	if len(segs) == 0 {
		if !read {
			return nil, errMethodNotSupp
		}
		if b == Stream {
			return orderedMap(all, func(u *Upstream) any { return streamUpstreamOf(u) })
		}
		return upstreamMap(all)
	}
	u := findUpstream(all, segs[0])
	if u == nil {
		return nil, errUpstreamUnknown
	}
	switch len(segs) {
	case 1:
		if !read {
			return nil, errMethodNotSupp
		}
		if b == Stream {
			return json.Marshal(streamUpstreamOf(u))
		}
		return json.Marshal(upstreamOf(u))
	case 2:
		if u.Zone == "" {
			return nil, errUpstreamStatic
		}
		switch {
		case r.Method == http.MethodPost:
			*status = http.StatusCreated
			return a.add(r, b, u)
		case !read:
			return nil, errMethodNotSupp
		}
		return serverList(b, u.Servers)
	}
	return a.server(r, b, u, segs[2], read)
}

// upstreamsOf returns block b's upstreams at this moment.
func (a *API) upstreamsOf(b Block) []Upstream {
	if b == Stream {
		return a.Source.StreamUpstreams(a.now())
	}
	return a.Source.Upstreams(a.now())
}

// upstreamMap writes the upstreams as one JSON object in configuration
// order (a Go map would sort the names).
func upstreamMap(all []Upstream) ([]byte, error) {
	return orderedMap(all, func(u *Upstream) any { return upstreamOf(u) })
}

// orderedMap writes each upstream's object, as of, under its name.
func orderedMap(all []Upstream, of func(*Upstream) any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range all {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(all[i].Name)
		obj, err := json.Marshal(of(&all[i]))
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(obj)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func findUpstream(all []Upstream, name string) *Upstream {
	for i := range all {
		if all[i].Name == name {
			return &all[i]
		}
	}
	return nil
}

// server serves /{http,stream}/upstreams/{name}/servers/{id}: GET, PATCH
// and DELETE.
func (a *API) server(r *http.Request, b Block, u *Upstream, idText string, read bool) ([]byte, error) {
	if u.Zone == "" {
		return nil, errUpstreamStatic
	}
	id, err := strconv.Atoi(idText)
	st := findServer(u.Servers, id)
	if err != nil || st == nil {
		return nil, errServerUnknown
	}
	switch {
	case read:
		return jsonServer(b, st)
	case r.Method == http.MethodDelete:
		return a.remove(b, u, id)
	case r.Method != http.MethodPatch:
		return nil, errMethodNotSupp
	}
	ch, err := readPatch(r.Body, b)
	if err != nil {
		return nil, err
	}
	patched, err := a.Source.Patch(b, u.Name, id, ch, a.now())
	if err != nil {
		return nil, changeError(err)
	}
	return jsonServer(b, &patched)
}

// writeJSON sends a JSON answer with its length; HEAD gets the head only.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

type errorBody struct {
	Error struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
		Code   string `json:"code"`
	} `json:"error"`
	RequestID string `json:"request_id"`
	Href      string `json:"href"`
}

// writeError sends NGINX Plus's error object.
func writeError(w http.ResponseWriter, r *http.Request, id string, e *apiError) {
	var b errorBody
	b.Error.Status, b.Error.Text, b.Error.Code = e.status, e.text, e.code
	b.RequestID, b.Href = id, docsURL
	body, _ := json.Marshal(b)
	writeJSON(w, r, e.status, body)
}

// discard reads what is left of a body (bounded), so that a keep-alive
// connection stays usable.
func discard(body io.Reader) {
	if body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, maxBody))
	}
}

package daemon

import (
	"errors"
	"net/http"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/dav"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/router"
	"fulcrum/internal/static"
	"fulcrum/internal/vars"
)

// davConfig is a location's compiled dav settings (ngx_http_dav_module);
// the static handler has one only where dav_methods enables a method.
type davConfig struct {
	methods     config.DAVMethods
	opts        dav.Options
	aliasPrefix string // the location's path when its alias maps URIs
}

// newDAVConfig compiles dav_methods and its companions; nil when no method
// is enabled, so that a GET pays one nil check.
func newDAVConfig(loc *config.Location, aliasPrefix int) *davConfig {
	set := loc.Settings
	if set.DAVMethods == 0 {
		return nil
	}
	d := &davConfig{methods: set.DAVMethods, opts: dav.Options{Access: set.DAVAccess,
		CreateFullPath: set.CreateFullPutPath, MinDeleteDepth: set.MinDeleteDepth}}
	if aliasPrefix > 0 {
		d.aliasPrefix = loc.Path[:aliasPrefix]
	}
	return d
}

// davMapper maps URIs with the location's root or alias for one request.
type davMapper struct {
	h  *staticHandler
	st *vars.State
}

func (m davMapper) Map(uri string) (string, string, error) {
	t, err := m.h.rv.Target(uri, m.h.expand(m.st))
	return t.Base, t.Rel, err
}

// serveDAV is ngx_http_dav_handler for a method dav_methods enables, after
// the location's try_files phase (which, as in nginx, may change $uri or
// redirect internally: "try_files $uri /fallback" sends a PUT of a missing
// file to /fallback): the dav package does the work; 201 goes out with
// Content-Length: 0 (and a Location made absolute as redirects are, for PUT
// and MKCOL), 204 bare, the other codes as error pages; failures are
// logged in nginx's words.
func (h *staticHandler) serveDAV(rec *recorder, r *http.Request, st *vars.State) *internalRedirect {
	if h.rv.HasTryFiles() {
		res := h.rv.Resolve(static.Request{Method: r.Method, URI: st.Path, Args: st.Args, Expand: h.expand(st), TryOnly: true})
		if res.Kind != static.KindFile {
			return h.notServedHere(rec, r, st, res)
		}
		st.Path = res.URI
	}
	host, _ := router.NormalizeHost(r.Host)
	req := &dav.Request{Method: r.Method, URI: st.Path, Header: r.Header, Host: host, TLS: st.TLS != nil,
		Body: r.Body, HasBody: r.ContentLength != 0,
		NoBody:      r.ContentLength == 0 && len(r.Header["Content-Length"]) == 0 && len(r.TransferEncoding) == 0,
		AliasPrefix: h.dav.aliasPrefix}
	req.Continue = func() { _ = rec.Continue() } // reading the body answers "Expect: 100-continue"
	res := dav.Handle(req, davMapper{h, st}, h.dav.opts)
	var be *dav.BodyError
	if errors.As(res.Err, &be) {
		failBody(rec, be.Err)
		return nil
	}
	if res.Err != nil {
		level := errlog.Error
		if res.Crit {
			level = errlog.Crit
		}
		rec.ErrorLog(h.log).LogRequest(level, logRequest(st, r), res.Err.Error())
	}
	switch res.Status {
	case http.StatusCreated:
		if res.Location {
			setDAVLocation(rec, st)
		}
		rec.Header().Set("Content-Length", "0")
		rec.WriteHeader(http.StatusCreated)
	case http.StatusNoContent:
		rec.WriteHeader(http.StatusNoContent)
	default:
		rec.fail(res.Status)
	}
	return nil
}

// setDAVLocation is ngx_http_dav_location: the URI, escaped, made absolute
// by the header filter as a redirect's Location is.
func setDAVLocation(rec *recorder, st *vars.State) {
	target := string(h1.AppendEscapedPath(nil, st.Path))
	if set := rec.set; set == nil || set.AbsoluteRedirect {
		port, name := true, false
		if set != nil {
			port, name = set.PortInRedirect, set.ServerNameInRedirect
		}
		target = st.AbsoluteURL(target, port, name)
	}
	rec.Header().Set("Location", target)
}

// failBody answers a request body that could not be read as nginx does:
// 413 past client_max_body_size, 408 (closing) when the client stopped
// sending, 400 (closing) when it went away or sent a bad body.
func failBody(rec *recorder, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		rec.fail(http.StatusRequestEntityTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded):
		rec.drop(http.StatusRequestTimeout)
	default:
		rec.drop(http.StatusBadRequest)
	}
}

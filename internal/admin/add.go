package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"fulcrum/internal/upstream"
)

// ErrBadAddress is wrapped by Source.Add's error for a server address that
// does not resolve (UpstreamBadAddress).
var ErrBadAddress = errors.New("bad server address")

// maxRoute is the longest route NGINX Plus accepts (and fulcrum's config).
const maxRoute = 32

// add serves POST /{http,stream}/upstreams/{name}/servers: it adds the
// server the body describes and answers with it (201).
func (a *API) add(r *http.Request, b Block, u *Upstream) ([]byte, error) {
	srv, err := readServer(r.Body, b)
	if err != nil {
		return nil, err
	}
	st, err := a.Source.Add(b, u.Name, srv, a.now())
	if err != nil {
		return nil, changeError(err)
	}
	return jsonServer(b, &st)
}

// remove serves DELETE /{http,stream}/upstreams/{name}/servers/{id}: it
// removes the server and answers with the servers left (200), as NGINX
// Plus does.
func (a *API) remove(b Block, u *Upstream, id int) ([]byte, error) {
	left, err := a.Source.Remove(b, u.Name, id, a.now())
	if err != nil {
		return nil, changeError(err)
	}
	return serverList(b, left)
}

// changeError maps a Source error to the API's.
func changeError(err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, upstream.ErrServerNotFound):
		return errServerUnknown
	case errors.Is(err, ErrUpstreamNotFound):
		return errUpstreamUnknown
	case errors.Is(err, ErrBadAddress):
		return newError(http.StatusBadRequest, "UpstreamBadAddress", err.Error())
	case errors.Is(err, upstream.ErrNoBackup):
		return newError(http.StatusBadRequest, "UpstreamNoBackup", err.Error())
	case errors.Is(err, upstream.ErrInvalidSetting):
		return newError(http.StatusBadRequest, "UpstreamConfFormatError", err.Error())
	}
	return err
}

// serverList is the JSON array of servers (GET .../servers, DELETE).
func serverList(b Block, servers []upstream.ServerStatus) ([]byte, error) {
	if b == Stream {
		out := make([]streamServerObject, 0, len(servers))
		for i := range servers {
			out = append(out, streamServerOf(&servers[i]))
		}
		return json.Marshal(out)
	}
	out := make([]serverObject, 0, len(servers))
	for i := range servers {
		out = append(out, serverOf(&servers[i]))
	}
	return json.Marshal(out)
}

// findServer returns the server whose ID is id, or nil.
func findServer(servers []upstream.ServerStatus, id int) *upstream.ServerStatus {
	for i := range servers {
		if servers[i].ID == id {
			return &servers[i]
		}
	}
	return nil
}

// readServer reads a POST body: a JSON object with "server" and the
// optional parameters of a server line, as NGINX Plus accepts them.
func readServer(body io.Reader, b Block) (NewServer, error) {
	var srv NewServer
	fields, err := readObject(body)
	if err != nil {
		return srv, err
	}
	if err := httpOnlyFields(b, fields); err != nil {
		return srv, err
	}
	addr, ok := fields["server"]
	if !ok {
		return srv, formatError(`missing "server" argument`)
	}
	text, ok := addr.(string)
	if !ok {
		return srv, formatError(`invalid "server" value`)
	}
	if srv.Settings, err = parseAddress(text); err != nil {
		return srv, err
	}
	var ch upstream.ServerPatch
	for key, v := range fields {
		if err := setNewField(&srv, &ch, key, v); err != nil {
			return srv, err
		}
	}
	set := &srv.Settings
	for _, f := range []struct{ dst, v *int }{{&set.Weight, ch.Weight}, {&set.MaxFails, ch.MaxFails}, {&set.MaxConns, ch.MaxConns}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if ch.FailTimeout != nil {
		set.FailTimeout = *ch.FailTimeout
	}
	if ch.SlowStart != nil {
		set.SlowStart = *ch.SlowStart
	}
	if ch.Down != nil {
		set.Down = *ch.Down
	}
	if ch.Drain != nil {
		srv.Drain = *ch.Drain
	}
	return srv, nil
}

// setNewField applies one field of a POST body other than "server".
func setNewField(srv *NewServer, ch *upstream.ServerPatch, key string, v any) error {
	switch key {
	case "server":
		return nil
	case "route":
		r, ok := v.(string)
		if !ok {
			return formatError(`invalid "route" value`)
		}
		if len(r) > maxRoute {
			return newError(http.StatusBadRequest, "UpstreamBadRoute", "route is too long")
		}
		srv.Settings.Route = r
		return nil
	case "backup":
		var b *bool
		if err := setBool(&b, key, v); err != nil {
			return err
		}
		srv.Settings.Backup = *b
		return nil
	case "id", "service":
		return formatError(fmt.Sprintf("%q cannot be set", key))
	}
	return setField(ch, key, v)
}

// parseAddress reads the "server" of a POST body the way a server line's
// address is read: "unix:/path", or host[:port] (port 80 by default; an
// IPv6 address in brackets). Errors are NGINX Plus's UpstreamBadAddress.
func parseAddress(text string) (upstream.Settings, error) {
	bad := func(why string) error {
		return newError(http.StatusBadRequest, "UpstreamBadAddress", fmt.Sprintf("%q while parsing %q", why, text))
	}
	if path, ok := strings.CutPrefix(text, "unix:"); ok {
		if path == "" {
			return upstream.Settings{}, bad("no path")
		}
		set := upstream.NewSettings(upstream.NetworkUnix, path)
		set.Name = text
		return set, nil
	}
	if text == "" {
		return upstream.Settings{}, bad("no host")
	}
	if strings.ContainsAny(text, "/?# \t") {
		return upstream.Settings{}, bad("invalid host")
	}
	host, port := text, "80"
	if h, p, err := net.SplitHostPort(text); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") {
		host = text[1 : len(text)-1]
	} else if strings.Count(text, ":") > 0 {
		return upstream.Settings{}, bad("invalid port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return upstream.Settings{}, bad("invalid port")
	}
	if host == "" {
		return upstream.Settings{}, bad("no host")
	}
	set := upstream.NewSettings(upstream.NetworkTCP, net.JoinHostPort(host, port))
	set.Name = text
	return set, nil
}

// jsonServer is the JSON object of one server.
func jsonServer(b Block, st *upstream.ServerStatus) ([]byte, error) {
	if b == Stream {
		return json.Marshal(streamServerOf(st))
	}
	return json.Marshal(serverOf(st))
}

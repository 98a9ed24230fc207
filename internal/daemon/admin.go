package daemon

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/admin"
	"fulcrum/internal/config"
	"fulcrum/internal/statuszone"
	"fulcrum/internal/stream"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// adminState is what the runtime API and the metrics read of the daemon
// beyond one snapshot: the configuration in force, how many times it was
// loaded and when, and the connection counters. The Daemon owns one; its
// snapshots point to it (nil in a snapshot built to check a
// configuration).
type adminState struct {
	current *atomic.Pointer[snapshot]
	conns   *connStats
	// stream is the stream block's proxy (its upstreams).
	stream *stream.Proxy
	// generation counts the configuration loads (1 for the first, +1 per
	// successful reload); loaded is the last one's time in Unix
	// nanoseconds.
	generation atomic.Int64
	loaded     atomic.Int64
	// changeMu serialises the runtime API's changes (PATCH, POST, DELETE)
	// with the state file writes that follow them, so that the file ends
	// with the last change, and with reloads (Daemon.Reload holds it), so
	// that no change falls between reading a state file and the swap.
	changeMu sync.Mutex
	// zones are the status zones (status_zone), kept across reloads by
	// name; the snapshots and the stream proxy resolve theirs in it.
	zones statuszone.Registry
}

var _ admin.Source = (*adminState)(nil)

// loadedAt records a configuration load (the start or a successful reload).
func (a *adminState) loadedAt(t time.Time) {
	a.generation.Add(1)
	a.loaded.Store(t.UnixNano())
}

// Process implements admin.Source.
func (a *adminState) Process() admin.Process {
	return admin.Process{Version: Version, Build: "fulcrum", Generation: a.generation.Load(),
		LoadTime: time.Unix(0, a.loaded.Load()), PID: os.Getpid(), PPID: os.Getppid()}
}

// Counts implements admin.Source.
func (a *adminState) Counts() admin.Counts {
	c := a.conns.counts()
	return admin.Counts{Accepted: c.accepted, Handled: c.handled, Active: c.Active, Reading: c.Reading,
		Writing: c.Writing, Waiting: c.Waiting, Requests: c.requests}
}

// Upstreams implements admin.Source: the named upstream blocks of the
// configuration in force (not those proxy_pass host:port makes).
func (a *adminState) Upstreams(now time.Time) []admin.Upstream {
	snap := a.current.Load()
	out := make([]admin.Upstream, 0, len(snap.upstreams))
	for _, u := range snap.upstreams {
		out = append(out, admin.Upstream{Name: u.cfg.Name, Zone: u.cfg.Zone, Servers: u.pool.Snapshot(now, nil), Queue: u.pool.Queue()})
	}
	return out
}

// StreamUpstreams implements admin.Source on the stream block's pools.
func (a *adminState) StreamUpstreams(now time.Time) []admin.Upstream {
	if a.stream == nil {
		return nil
	}
	ups := a.stream.Upstreams(now)
	out := make([]admin.Upstream, len(ups))
	for i, u := range ups {
		out[i] = admin.Upstream{Name: u.Name, Zone: u.Zone, Servers: u.Servers}
	}
	return out
}

// Patch implements admin.Source on the pools of the configuration in
// force. A reload builds new pools from the configuration, which wins: the
// change is gone then, as in NGINX Plus without a state file; an upstream
// with one (http or stream) has the file rewritten.
func (a *adminState) Patch(b admin.Block, name string, id int, ch upstream.ServerPatch, now time.Time) (upstream.ServerStatus, error) {
	a.changeMu.Lock()
	defer a.changeMu.Unlock()
	u, err := a.upstream(b, name)
	if err != nil {
		return upstream.ServerStatus{}, err
	}
	st, err := u.pool.Patch(id, ch, now)
	if err != nil {
		return st, err
	}
	return st, a.saveState(u, now)
}

// Add implements admin.Source: it adds a server to the pool of the
// configuration in force (and to its state file).
func (a *adminState) Add(b admin.Block, name string, srv admin.NewServer, now time.Time) (upstream.ServerStatus, error) {
	a.changeMu.Lock()
	defer a.changeMu.Unlock()
	u, err := a.upstream(b, name)
	if err != nil {
		return upstream.ServerStatus{}, err
	}
	set := srv.Settings
	if set.Network == upstream.NetworkTCP {
		if set.Addr, err = resolveServer(set.Addr); err != nil {
			return upstream.ServerStatus{}, err
		}
	}
	st, err := u.pool.Add(set, srv.Drain, now)
	if err != nil {
		return st, err
	}
	return st, a.saveState(u, now)
}

// Remove implements admin.Source: it removes a server from the pool of the
// configuration in force (and from its state file).
func (a *adminState) Remove(b admin.Block, name string, id int, now time.Time) ([]upstream.ServerStatus, error) {
	a.changeMu.Lock()
	defer a.changeMu.Unlock()
	u, err := a.upstream(b, name)
	if err != nil {
		return nil, err
	}
	if err := u.pool.Remove(id); err != nil {
		return nil, err
	}
	return u.pool.Snapshot(now, nil), a.saveState(u, now)
}

// upstream returns block b's upstream named name in the configuration in
// force (stream upstreams and http upstreams have names of their own).
func (a *adminState) upstream(b admin.Block, name string) (namedPool, error) {
	if b == admin.Stream {
		if a.stream != nil {
			if pool, cfg := a.stream.Pool(name); pool != nil {
				return namedPool{cfg: cfg, pool: pool}, nil
			}
		}
		return namedPool{}, fmt.Errorf("stream upstream %q: %w", name, admin.ErrUpstreamNotFound)
	}
	for _, u := range a.current.Load().upstreams {
		if u.cfg.Name == name {
			return u, nil
		}
	}
	return namedPool{}, fmt.Errorf("upstream %q: %w", name, admin.ErrUpstreamNotFound)
}

// namedPool is an upstream block of the configuration (http's or
// stream's) and its pool, for the runtime API.
type namedPool struct {
	cfg  *config.Upstream
	pool *upstream.Pool
}

// namedPools lists the named upstream blocks in configuration order.
func namedPools(h *config.HTTP, pools map[*config.Upstream]*builtPool) []namedPool {
	var out []namedPool
	for _, u := range h.Upstreams {
		if bp := pools[u]; bp != nil && !u.Implicit {
			out = append(out, namedPool{cfg: u, pool: bp.pool})
		}
	}
	return out
}

// apiHandler answers with the runtime API (the api directive).
type apiHandler struct {
	write bool
	// prefix is the location's path, stripped from the request's path;
	// "" for a regex location, whose requests give their whole path.
	prefix    string
	requestID *vars.Template
}

// newAPIHandler builds the api handler of loc.
func newAPIHandler(loc *config.Location, comp *vars.Compiler) (handler, error) {
	id, err := comp.Compile("$request_id")
	if err != nil {
		return nil, fmt.Errorf("api in %s: %w", loc.Pos, err)
	}
	h := apiHandler{write: loc.Settings.APIWrite, requestID: id}
	if loc.Modifier != config.ModRegex && loc.Modifier != config.ModRegexCaseless {
		h.prefix = loc.Path
	}
	return h, nil
}

func (h apiHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec := w.(*recorder)
	src := rec.snap.admin
	if src == nil {
		rec.fail(http.StatusInternalServerError)
		return nil
	}
	api := admin.API{Source: src, Write: h.write, Now: rec.snap.now}
	path := strings.TrimPrefix(st.Path, h.prefix)
	if path != "" && path[0] != '/' {
		path = "/" + path
	}
	api.Serve(w, r, admin.Request{Path: path, ID: h.requestID.String(st), Address: st.Local.Addr().String()})
	return nil
}

// metricsHandler answers with the metrics page (the metrics directive).
type metricsHandler struct{}

func (metricsHandler) serve(w http.ResponseWriter, r *http.Request, _ *vars.State) *internalRedirect {
	rec := w.(*recorder)
	src := rec.snap.admin
	if src == nil {
		rec.fail(http.StatusInternalServerError)
		return nil
	}
	m := admin.Metrics{Source: src, Now: rec.snap.now}
	m.Serve(w, r)
	return nil
}

// resolveZones finds the snapshot's status zones in reg, once per
// configuration, so that a request reaches its zones by index.
func (s *snapshot) resolveZones(reg *statuszone.Registry) {
	h := s.cfg.HTTP
	if h == nil {
		return
	}
	s.serverZones = zoneSlots(h.ServerZones, reg.Server)
	s.locationZones = zoneSlots(h.LocationZones, reg.Location)
}

// zoneSlots returns the zones of names at their index plus one (0: none).
func zoneSlots(names []string, of func(string) *statuszone.HTTP) []*statuszone.HTTP {
	if len(names) == 0 {
		return nil
	}
	out := make([]*statuszone.HTTP, len(names)+1)
	for i, n := range names {
		out[i+1] = of(n)
	}
	return out
}

// retainZones drops from the registry the status zones that the
// configuration in force does not name, as NGINX Plus drops a zone a
// reload removed: a reload that renames zones leaves no name behind.
func (a *adminState) retainZones() {
	var servers, locations []string
	if h := a.current.Load().cfg.HTTP; h != nil {
		servers, locations = h.ServerZones, h.LocationZones
	}
	var streams []string
	if a.stream != nil {
		streams = a.stream.StatusZones()
	}
	a.zones.Retain(servers, locations, streams)
}

// StatusZones implements admin.ZoneSource: the zones of the configuration
// in force, in configuration order.
func (a *adminState) StatusZones() admin.Zones {
	z := admin.Zones{}
	if h := a.current.Load().cfg.HTTP; h != nil {
		z.Servers = statuszone.List(h.ServerZones, a.zones.Server)
		z.Locations = statuszone.List(h.LocationZones, a.zones.Location)
	}
	if a.stream != nil {
		z.Streams = statuszone.List(a.stream.StatusZones(), a.zones.Stream)
	}
	return z
}

package admin

import (
	"time"

	"fulcrum/internal/upstream"
)

// Source is what the API and the metrics read and change. The daemon
// implements it over its counters and its upstream registry.
type Source interface {
	// Process describes the running process and its configuration.
	Process() Process
	// Counts reads the connection and request counters.
	Counts() Counts
	// Upstreams returns the upstream blocks of the configuration in force,
	// in configuration order, with their servers' state at now.
	Upstreams(now time.Time) []Upstream
	// StreamUpstreams returns the stream block's upstreams the same way
	// (a server's Requests count its connections); none without one.
	StreamUpstreams(now time.Time) []Upstream
	// Patch changes server id of the upstream named name at once, for
	// every request from now on (upstream.Pool.Patch), and returns its new
	// state. It fails with upstream.ErrServerNotFound for an unknown id,
	// with an error wrapping upstream.ErrInvalidSetting for a value out of
	// range, and with ErrUpstreamNotFound for an unknown upstream.
	Patch(name string, id int, ch upstream.ServerPatch, now time.Time) (upstream.ServerStatus, error)
	// Add adds a server to upstream name (POST): srv.Settings.Addr may
	// be a host name the source resolves. It returns the new server's
	// status; errors wrap ErrUpstreamNotFound, ErrBadAddress,
	// upstream.ErrNoBackup or upstream.ErrInvalidSetting.
	Add(name string, srv NewServer, now time.Time) (upstream.ServerStatus, error)
	// Remove removes server id of upstream name (DELETE) and returns the
	// servers left; errors wrap ErrUpstreamNotFound or
	// upstream.ErrServerNotFound.
	Remove(name string, id int, now time.Time) ([]upstream.ServerStatus, error)
}

// Process is the API's /nginx object, but for the address, which is that of
// each API request.
type Process struct {
	// Version is fulcrum's version; Build names the program ("fulcrum").
	Version, Build string
	// Generation counts the configuration loads since the start: 1 for
	// the first, plus one per successful reload.
	Generation int64
	// LoadTime is when the configuration in force was loaded.
	LoadTime time.Time
	// PID and PPID are the process's and its parent's.
	PID, PPID int
}

// Counts are the process's connection and request counters (stub_status's
// numbers), read at one moment.
type Counts struct {
	// Accepted and Handled count client connections since the start;
	// Accepted-Handled were dropped (accepted while fulcrum stops).
	Accepted, Handled uint64
	// Active are the open connections, Reading, Writing and Waiting their
	// states (Waiting: idle keep-alive connections).
	Active, Reading, Writing, Waiting int64
	// Requests counts client requests since the start.
	Requests uint64
}

// Upstream is one upstream block and its servers.
type Upstream struct {
	Name string
	// Zone is its zone directive's name; "" when it has none, and then the
	// API refuses to change it (UpstreamStatic), as NGINX Plus does.
	Zone string
	// Servers are primaries then backups; a server's ID is its index.
	Servers []upstream.ServerStatus
}

// NewServer is a server to add at run time (the runtime API's POST).
type NewServer struct {
	// Settings are the server's; Name is the address as the client wrote
	// it, Addr the address to resolve ("host:port") or the socket path.
	Settings upstream.Settings
	// Drain adds the server in drain mode.
	Drain bool
}

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
	// Patch changes server id of block's upstream named name at once, for
	// every request (or session) from now on (upstream.Pool.Patch), and
	// returns its new state. It fails with upstream.ErrServerNotFound for
	// an unknown id, with an error wrapping upstream.ErrInvalidSetting for
	// a value out of range, and with ErrUpstreamNotFound for an unknown
	// upstream.
	Patch(block Block, name string, id int, ch upstream.ServerPatch, now time.Time) (upstream.ServerStatus, error)
	// Add adds a server to block's upstream name (POST): srv.Settings.Addr
	// may be a host name the source resolves. It returns the new server's
	// status; errors wrap ErrUpstreamNotFound, ErrBadAddress,
	// upstream.ErrNoBackup or upstream.ErrInvalidSetting.
	Add(block Block, name string, srv NewServer, now time.Time) (upstream.ServerStatus, error)
	// Remove removes server id of block's upstream name (DELETE) and
	// returns the servers left; errors wrap ErrUpstreamNotFound or
	// upstream.ErrServerNotFound.
	Remove(block Block, name string, id int, now time.Time) ([]upstream.ServerStatus, error)
}

// Block names the configuration block whose upstreams an API request
// changes.
type Block int

const (
	// HTTP is the http block's upstreams (/http/upstreams).
	HTTP Block = iota
	// Stream is the stream block's upstreams (/stream/upstreams).
	Stream
)

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
	// Queue is the upstream's queue (the queue directive), nil without
	// one.
	Queue *upstream.Queue
}

// NewServer is a server to add at run time (the runtime API's POST).
type NewServer struct {
	// Settings are the server's; Name is the address as the client wrote
	// it, Addr the address to resolve ("host:port") or the socket path.
	Settings upstream.Settings
	// Drain adds the server in drain mode.
	Drain bool
}

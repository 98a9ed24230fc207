package upstream

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the server parameters, as in nginx.
const (
	DefaultWeight      = 1
	DefaultMaxFails    = 1
	DefaultFailTimeout = 10 * time.Second
)

// Network names accepted in Settings.Network.
const (
	NetworkTCP  = "tcp"
	NetworkUnix = "unix"
)

// Settings is one "server" line of an upstream block.
//
// The zero value is not ready to use: Weight 0 is invalid and MaxFails 0
// turns failure accounting off, while nginx's defaults are 1 and 1. Start
// from [NewSettings], which fills in nginx's defaults, and change fields.
type Settings struct {
	// Network is "tcp" or "unix". Empty means "tcp".
	Network string
	// Addr is the dial address: "127.0.0.1:5001", "[::1]:80",
	// "backend.example.com:8080" for tcp, or a socket path such as
	// "/run/app.sock" for unix.
	Addr string
	// Name is the server as written in the configuration ("10.0.0.1:80",
	// "unix:/run/app.sock"). Consistent hashing places its points from it,
	// exactly as nginx does from the server name, so it must match what
	// nginx would see for the mapping to match nginx. Empty means Addr for
	// tcp and "unix:" + Addr for unix.
	Name string
	// Weight is the server's share in weighted methods; at least 1.
	Weight int
	// MaxFails is the number of failures within FailTimeout that makes
	// the server unavailable for FailTimeout. 0 turns failure accounting
	// off: the server is never marked unavailable.
	MaxFails int
	// FailTimeout is both the window in which failures add up and how
	// long a failed server is skipped before one probe request is sent.
	FailTimeout time.Duration
	// Backup marks a backup server: used only when no primary is usable.
	Backup bool
	// Down marks a server that is never used (but still counts as a
	// server for the single-server rule and for hashing).
	Down bool
	// MaxConns caps the requests in flight to this server; the server is
	// not picked while that many are active. 0 means no limit.
	MaxConns int
	// SlowStart is NGINX Plus's slow_start: after the server comes back
	// (a successful probe after it was unavailable through max_fails, a
	// reload that adds it to a running upstream or removes its down flag)
	// its weight grows from 0 to Weight over this time. 0 turns it off;
	// it is ignored in a single-server pool. Only the weighted round robin
	// methods (round robin, least_conn) look at it.
	SlowStart time.Duration
	// Route is NGINX Plus's route=: the server's sticky ID (the sticky
	// cookie's value, what "sticky route" compares). Empty means the MD5
	// of the address, as NGINX Plus does (see Server.StickyID).
	Route string
}

// NewSettings returns the settings of a server with nginx's defaults:
// weight 1, max_fails 1, fail_timeout 10s, not backup, not down, no
// max_conns.
func NewSettings(network, addr string) Settings {
	return Settings{
		Network:     network,
		Addr:        addr,
		Weight:      DefaultWeight,
		MaxFails:    DefaultMaxFails,
		FailTimeout: DefaultFailTimeout,
	}
}

// errInvalid is wrapped by every settings validation error.
var errInvalid = errors.New("invalid server settings")

// normalized returns s with Network and Name filled in, or an error
// wrapping errInvalid describing the first bad field.
func (s Settings) normalized() (Settings, error) {
	if s.Network == "" {
		s.Network = NetworkTCP
	}
	if err := s.check(); err != nil {
		return s, fmt.Errorf("server %q: %w: %w", s.Addr, errInvalid, err)
	}
	if s.Name == "" {
		s.Name = defaultName(s.Network, s.Addr)
	}
	return s, nil
}

// check reports the first field that is out of range.
func (s Settings) check() error {
	switch {
	case s.Network != NetworkTCP && s.Network != NetworkUnix:
		return fmt.Errorf("network %q is neither %q nor %q", s.Network, NetworkTCP, NetworkUnix)
	case s.Addr == "":
		return errors.New("empty address")
	case s.Weight < 1:
		return fmt.Errorf("weight %d is below 1", s.Weight)
	case s.MaxFails < 0:
		return fmt.Errorf("max_fails %d is negative", s.MaxFails)
	case s.FailTimeout < 0:
		return fmt.Errorf("fail_timeout %v is negative", s.FailTimeout)
	case s.MaxConns < 0:
		return fmt.Errorf("max_conns %d is negative", s.MaxConns)
	case s.SlowStart < 0:
		return fmt.Errorf("slow_start %v is negative", s.SlowStart)
	}
	return nil
}

// defaultName is the name nginx would have for a server written with just
// its address: the address itself, with the "unix:" prefix for sockets.
func defaultName(network, addr string) string {
	if network == NetworkUnix {
		return "unix:" + addr
	}
	return addr
}

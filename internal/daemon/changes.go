package daemon

import (
	"sort"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
)

// limits are a listener's client-side limits, taken from the default server of
// its first address when the listener opens.
type limits struct {
	headerTimeout time.Duration
	// keepaliveTimeout and keepaliveHeader (keepalive_timeout's two values)
	// are the default server's, for responses no location decided (the
	// engine's own answers); a location's go to each response through
	// respWriter.keepalive.
	keepaliveTimeout time.Duration
	keepaliveHeader  time.Duration
	// sendTimeout bounds the engine's own writes (heads of responses without
	// a body write, error pages, 100 Continue); body writes get the
	// location's send_timeout from the recorder.
	sendTimeout time.Duration
	h1          h1.Limits // head size limits (large_client_header_buffers); zero: h1's defaults
	// server is the Server field and error-page signature of the engine's
	// own answers (a refused head): the default server's server_tokens.
	server string
	// closing is the default server's lingering and reset settings, for
	// the connections no location decided (a refused or timed-out head).
	closing config.Closing
	// msiePaddingOff is the default server's msie_padding off, for the
	// pages of refused heads (refusedQuirks).
	msiePaddingOff bool
	// serverName is the default server's name, for the error log lines of
	// heads cut short (clientConn.logHeadEnd).
	serverName string
	// log is the default server's error log, where a connection's lines go
	// before its first request chose a level (clientConn.log); nil: the
	// main context's.
	log *errlog.Logger
}

// limitsFor returns the limits of the listener named key.
func (s *snapshot) limitsFor(key string) limits {
	lim := limits{headerTimeout: 60 * time.Second, keepaliveTimeout: 75 * time.Second, sendTimeout: 60 * time.Second, server: serverHeader(nil),
		closing: config.Closing{LingeringTime: 30 * time.Second, LingeringTimeout: 5 * time.Second}}
	l := s.byKey[key]
	if l == nil {
		return lim
	}
	addrs := l.Addresses()
	if len(addrs) == 0 || len(addrs[0].Servers) == 0 {
		return lim
	}
	lim.serverName = primaryName(addrs[0].Servers[0].Config)
	set := addrs[0].Servers[0].Config.Settings
	if set == nil {
		return lim
	}
	lim.log = s.logAt(set)
	lim.headerTimeout = set.ClientHeaderTimeout
	lim.keepaliveTimeout, lim.keepaliveHeader = set.KeepaliveTimeout, set.KeepaliveHeaderTimeout
	lim.sendTimeout = set.SendTimeout
	lim.closing = set.Closing
	lim.server = serverHeader(set)
	lim.msiePaddingOff = set.MSIEPaddingOff
	lim.h1 = headLimits(set)
	return lim
}

// headLimits returns the request head limits of nginx's header buffers
// (client_header_buffer_size, large_client_header_buffers), zero for h1's
// defaults when they are unset.
func headLimits(set *config.Settings) h1.Limits {
	b := set.LargeClientHeaderBuffers
	if b.Number <= 0 || b.Size <= 0 {
		return h1.Limits{}
	}
	size, first := int(b.Size), int(set.ClientHeaderBufferSize)
	return h1.Limits{
		// The line limits are those of response and trailer heads; for a
		// request, MaxRequestLine is also what nginx logs of a request
		// line it refused (what its buffer held: the first buffer, or a
		// large one when the first is smaller).
		MaxRequestLine:  max(size, first),
		MaxFieldLine:    size,
		MaxHeaderBytes:  first + b.Number*size,
		HeaderBuffer:    first,
		LargeBuffers:    b.Number,
		LargeBufferSize: size,
	}
}

// logChanges logs at info what a reload changed: servers added and removed per
// upstream, so an operator sees that "add a server without a restart" happened.
// The servers compared are those the upstreams served with before and after,
// the runtime API's changes included: a reload that undoes them (no state
// file) says which servers it took away or brought back, and one that reads
// a state file the API wrote does not call its servers new.
func (d *Daemon) logChanges(old, cur *snapshot) {
	before, after := servingServers(old), servingServers(cur)
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range after {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	log := d.logs.error()
	for _, n := range sorted {
		added, removed := diff(after[n], before[n]), diff(before[n], after[n])
		switch {
		case before[n] == nil:
			log.Logf(errlog.Info, "upstream %q added with %d server(s): %s", n, len(after[n]), strings.Join(after[n], ", "))
		case after[n] == nil:
			log.Logf(errlog.Info, "upstream %q removed", n)
		default:
			if len(added) > 0 {
				log.Logf(errlog.Info, "upstream %q: server(s) added: %s", n, strings.Join(added, ", "))
			}
			if len(removed) > 0 {
				log.Logf(errlog.Info, "upstream %q: server(s) removed: %s", n, strings.Join(removed, ", "))
			}
		}
	}
}

// servingServers lists, per explicit upstream of s, the servers its pool
// serves with: the configuration's and the runtime API's. An upstream with
// servers that follow DNS (resolve) lists its configuration's names: its
// pool fills as the answers come.
func servingServers(s *snapshot) map[string][]string {
	out := upstreamServers(s.cfg)
	for _, np := range s.upstreams {
		if np.pool == nil || len(np.cfg.Resolves) > 0 {
			continue
		}
		list := []string{}
		for _, srv := range np.pool.Servers() {
			list = append(list, srv.Name())
		}
		out[np.cfg.Name] = list
	}
	return out
}

// upstreamServers lists each explicit upstream's server addresses.
func upstreamServers(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	if cfg == nil || cfg.HTTP == nil {
		return out
	}
	for _, u := range cfg.HTTP.Upstreams {
		if u.Implicit {
			continue
		}
		list := []string{}
		for _, s := range u.Servers {
			list = append(list, s.Name)
		}
		out[u.Name] = list
	}
	return out
}

// diff returns the items of a missing from b.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

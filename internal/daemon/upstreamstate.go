package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/admin"
	"fulcrum/internal/upstream"
)

// resolveTimeout bounds the lookup of a host name added through the API.
const resolveTimeout = 5 * time.Second

// resolveServer turns "host:port" into "ip:port". A host name is looked up
// once, now, and its first address is used (NGINX Plus re-resolves names
// with a resolver; fulcrum has none).
func resolveServer(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q: %w", addr, admin.ErrBadAddress)
	}
	if ip := net.ParseIP(host); ip != nil {
		return net.JoinHostPort(ip.String(), port), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("host not found in %q: %w", addr, admin.ErrBadAddress)
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

// saveState writes the servers of u to its state file, if it has one.
func (a *adminState) saveState(u namedPool, now time.Time) error {
	if u.cfg == nil || u.cfg.State == "" {
		return nil
	}
	if err := writeStateFile(u.cfg.State, u.pool.Snapshot(now, nil)); err != nil {
		return fmt.Errorf("upstream %q: %w", u.cfg.Name, err)
	}
	return nil
}

// writeStateFile replaces path with the servers as server lines, the way
// NGINX Plus keeps an upstream's state: written to a temporary file in the
// same directory, synced, then renamed over path, so a reader (a reload)
// sees the old file or the new one, never a part.
func writeStateFile(path string, servers []upstream.ServerStatus) error {
	var b strings.Builder
	for i := range servers {
		b.WriteString(stateLine(&servers[i]))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write state file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// stateLine is one server as a server line of nginx's syntax, with the
// parameters that differ from the defaults.
func stateLine(s *upstream.ServerStatus) string {
	var b strings.Builder
	b.WriteString("server ")
	if s.Network == upstream.NetworkUnix {
		b.WriteString("unix:")
	}
	b.WriteString(s.Addr)
	if s.Weight != upstream.DefaultWeight {
		b.WriteString(" weight=" + strconv.Itoa(s.Weight))
	}
	if s.MaxConns != 0 {
		b.WriteString(" max_conns=" + strconv.Itoa(s.MaxConns))
	}
	b.WriteString(" max_fails=" + strconv.Itoa(s.MaxFails))
	b.WriteString(" fail_timeout=" + stateTime(s.FailTimeout))
	if s.SlowStart != 0 {
		b.WriteString(" slow_start=" + stateTime(s.SlowStart))
	}
	if s.Route != "" {
		b.WriteString(" " + stateWord("route="+s.Route))
	}
	if s.Backup {
		b.WriteString(" backup")
	}
	if s.Down {
		b.WriteString(" down")
	}
	b.WriteString(";\n")
	return b.String()
}

// stateTime writes d in whole seconds ("10s"), rounded up, as a server
// line takes fail_timeout and slow_start (nginx parses them in seconds;
// the API accepts milliseconds).
func stateTime(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
}

// stateWord quotes w for nginx's lexer when it holds a character that would
// end or change a bare word.
func stateWord(w string) string {
	if !strings.ContainsAny(w, " \t\r\n;{}\"'\\$#") {
		return w
	}
	return strconv.Quote(w)
}

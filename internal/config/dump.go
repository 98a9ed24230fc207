package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/pcre"
)

// Dump renders a built Config as stable, indented text for debugging and golden
// tests: main settings, log formats, maps, upstreams (with resolved servers), and
// every server and location. A server lists all its Settings; a location lists only
// the settings that differ from the level it is nested in, so inheritance shows.
// Types maps are shown in full up to five entries, else by their size. Warnings come
// last. The output depends only on the Config.
func Dump(c *Config) string {
	var d dumper
	d.main(&c.Main)
	if c.HTTP != nil {
		d.http(c.HTTP)
	}
	for _, w := range c.Warnings {
		d.line(0, "warning %s", w)
	}
	return d.b.String()
}

type dumper struct {
	b strings.Builder
}

func (d *dumper) line(depth int, format string, args ...any) {
	d.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

func (d *dumper) main(m *Main) {
	d.line(0, "main")
	workers := "auto"
	if m.WorkerProcesses > 0 {
		workers = strconv.Itoa(m.WorkerProcesses)
	}
	d.line(1, "worker_processes %s", workers)
	d.line(1, "worker_connections %d", m.WorkerConnections)
	d.line(1, "pid %s", m.PIDFile)
	for _, l := range m.ErrorLogs {
		d.line(1, "error_log %s %s", l.Path, l.Level)
	}
	d.line(1, "worker_shutdown_timeout %s", m.WorkerShutdownTimeout)
	d.process(m)
}

// process prints the process settings that are set (none by default).
func (d *dumper) process(m *Main) {
	if m.RlimitNofile.Set {
		d.line(1, "worker_rlimit_nofile %d", m.RlimitNofile.Value)
	}
	if m.RlimitCore.Set {
		d.line(1, "worker_rlimit_core %d", m.RlimitCore.Value)
	}
	if m.Priority != 0 {
		d.line(1, "worker_priority %d", m.Priority)
	}
	if m.WorkingDirectory != "" {
		d.line(1, "working_directory %s", m.WorkingDirectory)
	}
}

func (d *dumper) http(h *HTTP) {
	d.line(0, "http")
	names := make([]string, 0, len(h.LogFormats))
	for n := range h.LogFormats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := h.LogFormats[n]
		d.line(1, "log_format %s escape=%s %q", f.Name, f.Escape, f.Template)
	}
	d.line(1, "types %s", fmtValue(reflect.ValueOf(h.Types)))
	for _, m := range h.Maps {
		d.line(1, "map %q $%s default=%q hostnames=%t volatile=%t (%s)", m.Source, m.Variable, m.Default, m.Hostnames, m.Volatile, m.Pos)
		for _, e := range m.Entries {
			d.line(2, "%s %q -> %q", e.Kind, e.Key, e.Value)
		}
	}
	for _, g := range h.Geos {
		vol := "" // only when set, so that the dumps of other geo blocks stay as they were
		if g.Volatile {
			vol = " volatile"
		}
		d.line(1, "geo source=%q $%s ranges=%t default=%q proxies=%v proxy_recursive=%t%s (%s)", g.Source, g.Variable, g.Ranges, g.Default, g.Proxies, g.ProxyRecursive, vol, g.Pos)
		for _, n := range g.Nets {
			d.line(2, "%s -> %q", n.Prefix, n.Value)
		}
		for _, r := range g.Spans {
			d.line(2, "%s-%s -> %q", uintAddrString(r.Start), uintAddrString(r.End), r.Value)
		}
	}
	for _, sc := range h.SplitClients {
		d.line(1, "split_clients %q $%s (%s)", sc.Source, sc.Variable, sc.Pos)
		for _, p := range sc.Parts {
			if p.Bound == 0 {
				d.line(2, "* -> %q", p.Value)
				continue
			}
			d.line(2, "hash below %d -> %q", p.Bound, p.Value)
		}
	}
	for _, u := range h.Upstreams {
		d.upstream(u)
	}
	for _, s := range h.Servers {
		d.server(s)
	}
}

func (d *dumper) upstream(u *Upstream) {
	kind := "upstream"
	if u.Implicit {
		kind = "implicit upstream"
	}
	d.line(1, "%s %s (%s)", kind, u.Name, u.Pos)
	method := u.Method.String()
	switch {
	case u.Method == MethodHash:
		method += fmt.Sprintf(" %q consistent=%t", u.HashKey, u.HashConsistent)
	case u.Method == MethodRandom:
		method += fmt.Sprintf(" two=%t", u.RandomTwo)
	}
	d.line(2, "method %s", method)
	if u.Zone != "" {
		d.line(2, "zone %s", u.Zone)
	}
	if u.NTLM {
		d.line(2, "ntlm")
	}
	d.line(2, "keepalive %d timeout=%s requests=%d time=%s", u.Keepalive, u.KeepaliveTimeout, u.KeepaliveRequests, u.KeepaliveTime)
	for _, s := range u.Servers {
		flags := ""
		if s.Backup {
			flags += " backup"
		}
		if s.Down {
			flags += " down"
		}
		if s.SlowStart > 0 {
			flags += " slow_start=" + s.SlowStart.String()
		}
		if s.Route != "" {
			flags += " route=" + s.Route
		}
		d.line(2, "server %s %s %s weight=%d max_fails=%d fail_timeout=%s max_conns=%d%s",
			s.Name, s.Network, s.Addr, s.Weight, s.MaxFails, s.FailTimeout, s.MaxConns, flags)
	}
}

func (d *dumper) server(s *Server) {
	d.line(1, "server (%s)", s.Pos)
	for _, l := range s.Listens {
		ssl := ""
		if l.SSL {
			ssl = " ssl"
		}
		if l.ProxyProtocol {
			ssl += " proxy_protocol"
		}
		d.line(2, "listen %s %s default_server=%t ipv6only=%t%s", l.Network, l.Addr, l.DefaultServer, l.IPv6Only, ssl)
	}
	if s.TLS != nil {
		d.line(2, "%s", s.TLS)
	}
	for _, n := range s.Names {
		d.line(2, "server_name %s %q", n.Kind, n.Name)
	}
	lines := settingsLines(s.Settings)
	d.line(2, "settings")
	for _, l := range lines {
		d.line(3, "%s", l)
	}
	for _, loc := range s.Locations {
		d.location(loc, lines, 2)
	}
}

func (d *dumper) location(loc *Location, parent []string, depth int) {
	head := loc.Path
	if m := loc.Modifier.String(); m != "" && m != "@" {
		head = m + " " + loc.Path
	}
	d.line(depth, "location %s (%s)", head, loc.Pos)
	lines := settingsLines(loc.Settings)
	inherited := map[string]bool{}
	for _, l := range parent {
		inherited[l] = true
	}
	for _, l := range lines {
		if !inherited[l] {
			d.line(depth+1, "%s", l)
		}
	}
	if le := loc.LimitExcept; le != nil {
		d.line(depth+1, "limit_except %s (%s)", strings.Join(le.Methods, " "), le.Pos)
		own := map[string]bool{}
		for _, l := range lines {
			own[l] = true
		}
		for _, l := range settingsLines(le.Settings) {
			if !own[l] {
				d.line(depth+2, "%s", l)
			}
		}
	}
	for _, child := range loc.Locations {
		d.location(child, lines, depth+1)
	}
}

// sparseFields are the Settings fields shown only where they are not
// zero, so that the dumps written before them (the golden files) stay
// valid.
var sparseFields = map[string]bool{"ProxySocketKeepalive": true, "LocationZone": true, "LocationZoneID": true, "AuthJWT": true, "AuthOIDC": true,
	"InternalRedirect": true, "InternalRedirectPos": true}

// settingsLines renders every field of s as "Name: value".
func settingsLines(s *Settings) []string {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	lines := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if t.Field(i).Name == "HealthChecks" && v.Field(i).Len() == 0 {
			continue // shown only where written, so that older dumps stay valid
		}
		if sparseFields[t.Field(i).Name] && v.Field(i).IsZero() {
			continue
		}
		if t.Field(i).Name == "ProxyCache" && !s.ProxyCache.On() {
			continue // shown only where a location caches, likewise
		}
		lines = append(lines, t.Field(i).Name+": "+fmtValue(v.Field(i)))
	}
	return lines
}

// fmtValue renders a value of the Config's types compactly: references to upstreams
// and log formats by name, regexes by source, durations as Go prints them, structs
// as their non-zero fields (without positions), maps sorted.
func fmtValue(v reflect.Value) string {
	if s, ok := fmtSpecial(v); ok {
		return s
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return fmtValue(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmtValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		return fmtMap(v)
	case reflect.Struct:
		return fmtStruct(v)
	}
	return fmt.Sprint(v.Interface())
}

// fmtSpecial renders the types that print by name or by their own String.
func fmtSpecial(v reflect.Value) (string, bool) {
	if !v.CanInterface() {
		return "", false
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String(), true
	case netip.Prefix:
		return x.String(), true
	case *pcre.Regexp:
		if x == nil {
			return "nil", true
		}
		return strconv.Quote(x.Compiled()), true
	case *Upstream:
		if x == nil {
			return "nil", true
		}
		return "upstream " + strconv.Quote(x.Name), true
	case *LogFormat:
		if x == nil {
			return "nil", true
		}
		return "format " + strconv.Quote(x.Name), true
	case NextUpstream:
		return strconv.Quote(x.String()), true
	case LogLevel, BalanceMethod, Modifier, NameKind, StepKind, RewriteFlag:
		return fmt.Sprint(x), true
	case CondOp:
		return strconv.Quote(x.String()), true
	}
	return "", false
}

func fmtMap(v reflect.Value) string {
	if v.Len() > 5 {
		return fmt.Sprintf("%d entries", v.Len())
	}
	parts := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		parts = append(parts, fmt.Sprintf("%s=%s", k.String(), fmtValue(v.MapIndex(k))))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

func fmtStruct(v reflect.Value) string {
	var parts []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if t.Field(i).Name == "Pos" || f.IsZero() {
			continue
		}
		parts = append(parts, t.Field(i).Name+"="+fmtValue(f))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// uintAddrString prints an IPv4 address held as a number.
func uintAddrString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff, v&0xff)
}

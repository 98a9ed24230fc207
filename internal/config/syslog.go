package config

import (
	"fmt"
	"strings"
)

// Syslog defaults (nginx's ngx_syslog.c).
const (
	// DefaultSyslogFacility is local7.
	DefaultSyslogFacility = 23
	// DefaultSyslogSeverity is info, the severity of access_log lines.
	DefaultSyslogSeverity = 6
	// DefaultSyslogTag is the tag of a target without tag=.
	DefaultSyslogTag  = "nginx"
	defaultSyslogPort = 514
	maxSyslogTag      = 32
)

// syslogFacilities are the facility names in number order, as nginx spells them.
var syslogFacilities = []string{
	"kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp",
	"clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron", "local0",
	"local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// syslogSeverities are the severity names in number order (emerg is 0).
var syslogSeverities = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

// isSyslog reports whether a log target is a syslog: one.
func isSyslog(target string) bool { return strings.HasPrefix(target, "syslog:") }

// parseSyslog reads a "syslog:" target, in nginx's order and words
// (ngx_syslog_parse_args, recorded with nginx 1.22.1): each parameter is
// checked where it stands, then a missing server= is refused.
func (b *builder) parseSyslog(d *Directive, target string) (Syslog, error) {
	s := Syslog{Facility: -1, Severity: -1}
	tagSet := false
	for _, a := range strings.Split(strings.TrimPrefix(target, "syslog:"), ",") {
		var err error
		switch {
		case strings.HasPrefix(a, "server="):
			err = b.syslogServer(d, &s, a[len("server="):])
		case strings.HasPrefix(a, "facility="):
			s.Facility, err = syslogName(d, s.Facility, "facility", a[len("facility="):], syslogFacilities)
		case strings.HasPrefix(a, "severity="):
			s.Severity, err = syslogName(d, s.Severity, "severity", a[len("severity="):], syslogSeverities)
		case strings.HasPrefix(a, "tag="):
			if tagSet {
				return s, errorf(d.Pos, `duplicate syslog "tag"`)
			}
			s.Tag, tagSet = a[len("tag="):], true
			err = checkSyslogTag(d, s.Tag)
		case a == "nohostname":
			s.NoHostname = true
		default:
			err = hintf(d.Pos, "use server=, facility=, severity=, tag= and nohostname, separated by commas", `unknown syslog parameter "%s"`, a)
		}
		if err != nil {
			return s, err
		}
	}
	if s.Addr == "" {
		return s, hintf(d.Pos, "write syslog:server=ADDRESS", "no syslog server specified")
	}
	if s.Facility < 0 {
		s.Facility = DefaultSyslogFacility
	}
	if s.Severity < 0 {
		s.Severity = DefaultSyslogSeverity
	}
	if !tagSet {
		s.Tag = DefaultSyslogTag
	}
	return s, nil
}

// syslogServer reads server=ADDRESS: host[:port] (514 by default, the
// first address of a name) or unix:/path.
func (b *builder) syslogServer(d *Directive, s *Syslog, addr string) error {
	if s.Addr != "" {
		return errorf(d.Pos, `duplicate syslog "server"`)
	}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return errorf(d.Pos, `no path in the unix domain socket in syslog server "%s"`, addr)
		}
		s.Network, s.Addr = "unixgram", path
		return nil
	}
	hp, err := splitHostPort(addr, defaultSyslogPort)
	if err == errBadHost && !strings.HasPrefix(addr, "[") && strings.Count(addr, ":") > 1 && !strings.ContainsAny(addr, "/?#") {
		err = errBadPort // nginx reads a bare IPv6 address's last group as its port
	}
	switch err {
	case nil:
	case errBadPort:
		return hintf(d.Pos, "a port is a number from 1 to 65535", `invalid port in syslog server "%s"`, addr)
	case errNoHost:
		return errorf(d.Pos, `no host in syslog server "%s"`, addr)
	default:
		return hintf(d.Pos, "write host[:port], [IPv6]:port or unix:/path", `invalid host in syslog server "%s"`, addr)
	}
	ips, err := b.resolver.lookup(hp.host)
	if err != nil {
		return hintf(d.Pos, "check the name, or write an IP address", `host not found in syslog server "%s"`, addr)
	}
	s.Network, s.Addr = "udp", joinHostPort(ips[0], hp.port)
	return nil
}

// syslogName reads a facility= or severity= name into its number; cur is
// the value so far (-1: not given).
func syslogName(d *Directive, cur int, what, name string, names []string) (int, error) {
	if cur >= 0 {
		return cur, errorf(d.Pos, `duplicate syslog "%s"`, what)
	}
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	hint := "use one of " + strings.Join(names, ", ")
	if s := suggest(name, names, nil); s != "" {
		hint = fmt.Sprintf(`did you mean "%s"?`, s)
	}
	return cur, hintf(d.Pos, hint, `unknown syslog %s "%s"`, what, name)
}

// checkSyslogTag refuses a tag nginx refuses: longer than 32 bytes, or
// with a byte other than a letter, a digit or "_".
func checkSyslogTag(d *Directive, tag string) error {
	if len(tag) > maxSyslogTag {
		return hintf(d.Pos, "shorten the tag", "syslog tag length exceeds 32")
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return hintf(d.Pos, "use letters, digits and _ only", `syslog "tag" only allows alphanumeric characters and underscore`)
		}
	}
	return nil
}

// memoryLogSize reads an error_log memory:SIZE target. nginx (built with
// --with-debug, as Debian's 1.22.1) keeps such a log in a ring buffer of
// SIZE bytes that only a debugger reads; it refuses a size below what one
// line needs: sizeof("MEMLOG  :\n") + the configuration file's name + 40
// + NGX_MAX_ERROR_STR (recorded: 2122 bytes for an 23-byte file name).
func memoryLogSize(d *Directive, target string) (int64, error) {
	v := strings.TrimPrefix(target, "memory:")
	n, err := parseSize(v)
	need := int64(len("MEMLOG  :\n") + 1 + len(d.Pos.File) + 20 + 20 + 2048)
	if err != nil || n < need {
		return 0, hintf(d.Pos, fmt.Sprintf("give a size of %d bytes or more, such as 1m", need), `invalid buffer size "%s"`, v)
	}
	return n, nil
}

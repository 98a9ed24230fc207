package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mail is the mail block: the IMAP, POP3 and SMTP proxy of nginx's
// ngx_mail_core_module, ngx_mail_auth_http_module, ngx_mail_proxy_module
// and the protocol modules. Each server authenticates its clients with an
// auth_http server, which names the backend the session is then relayed to.
type Mail struct {
	// Servers are the mail server blocks in config order.
	Servers []*MailServer
	Pos     Pos
}

// The mail protocols (the protocol directive).
const (
	MailIMAP = "imap"
	MailPOP3 = "pop3"
	MailSMTP = "smtp"
)

// MailServer is one server block of the mail block, with the mail level's
// settings it inherits.
type MailServer struct {
	// Listens are the server's listen directives: Network "tcp" or "unix",
	// Addr "ip:port" or the socket path.
	Listens []Listen
	// Protocol is MailIMAP, MailPOP3 or MailSMTP: the protocol directive,
	// or the one nginx infers from the first listen's port (143 and 993,
	// 110 and 995, 25, 465 and 587).
	Protocol string
	// ServerName (server_name) is the name in the SMTP greeting and
	// replies and the EHLO/HELO sent to an SMTP backend; "" means the
	// machine's host name, nginx's default.
	ServerName string
	// AuthHTTP is the auth_http server: Network "tcp" or "unix" and Addr
	// to dial, HostHeader for the Host line (the URL's host as written,
	// without the port) and URI (default "/").
	AuthHTTP MailAuthHTTP
	// AuthHTTPHeaders are the auth_http_header lines, appended to each
	// auth_http request in config order.
	AuthHTTPHeaders [][2]string
	// AuthHTTPTimeout (auth_http_timeout, 60s) bounds the whole auth_http
	// exchange.
	AuthHTTPTimeout time.Duration
	// Timeout (timeout, 60s) bounds each wait for a client's command
	// before authentication, and each step of the backend login.
	Timeout time.Duration
	// ProxyTimeout (proxy_timeout, 24h) closes a relayed session after this
	// long without a byte read in either direction.
	ProxyTimeout time.Duration
	// PassErrorMessage (proxy_pass_error_message, off) sends a backend's
	// error during its login to the client instead of nginx's "internal
	// server error".
	PassErrorMessage bool
	// XClient (xclient, on) sends XCLIENT to SMTP backends.
	XClient bool
	// ProxySMTPAuth (proxy_smtp_auth, off) logs in to SMTP backends with
	// AUTH PLAIN (and XCLIENT then goes without LOGIN).
	ProxySMTPAuth bool
	// ProxyProtocol (proxy_protocol, off) sends a PROXY protocol v1 header
	// to the backend before its login.
	ProxyProtocol bool
	// MaxErrors (max_errors, 5) closes the connection after this many
	// invalid commands.
	MaxErrors int
	// IMAPCapabilities, POP3Capabilities and SMTPCapabilities are the
	// *_capabilities lists (nil: the defaults, "IMAP4 IMAP4rev1 UIDPLUS",
	// "TOP USER UIDL" and none).
	IMAPCapabilities, POP3Capabilities, SMTPCapabilities []string
	// IMAPAuth, POP3Auth and SMTPAuth are the enabled mechanisms of
	// imap_auth, pop3_auth and smtp_auth, in nginx's fixed order, lower
	// case: "plain", "login" (IMAP and SMTP), "apop" (POP3), "cram-md5",
	// "external". Defaults: plain, plain, plain login.
	IMAPAuth, POP3Auth, SMTPAuth []string
	// Resolver (resolver, off) looks up an SMTP client's name before the
	// greeting, for auth_http's Client-Host and XCLIENT's NAME: its PTR
	// record, then that name's addresses, which must include the client's;
	// nil when off. Its Timeout is resolver_timeout (30s).
	Resolver *DNSResolver
	// SMTPGreetingDelay (smtp_greeting_delay, 0) holds the SMTP greeting
	// back; a client that talks before it is refused.
	SMTPGreetingDelay time.Duration
	// SMTPAuthNone is "smtp_auth none": a client may send mail without
	// logging in; its MAIL FROM and RCPT TO go to auth_http, which picks
	// the backend they are relayed to.
	SMTPAuthNone bool
	// ClientBuffer is imap_client_buffer or smtp_client_buffer (4k): the
	// longest command line; a longer one closes the connection. POP3's
	// is nginx's fixed 128 bytes.
	ClientBuffer int
	// ErrorLogs are the effective error_log targets; nil means the main
	// context's.
	ErrorLogs []ErrorLog
	// TLS is the server's ssl_* settings (its own or the mail level's);
	// nil when no level writes any. Listens with SSL set speak TLS from
	// the first byte (IMAPS, POP3S, SMTPS); StartTLS offers it in the
	// session.
	TLS *TLS
	// StartTLS is starttls: MailStartTLSOff (the default), MailStartTLSOn
	// (STARTTLS, STLS offered) or MailStartTLSOnly (and no login before
	// it).
	StartTLS string
	// PassClientCert (auth_http_pass_client_cert, off) sends the client's
	// certificate to auth_http as Auth-SSL-Cert.
	PassClientCert bool
	Pos            Pos
}

// The values of starttls.
const (
	MailStartTLSOff  = "off"
	MailStartTLSOn   = "on"
	MailStartTLSOnly = "only"
)

// MailAuthHTTP is where an auth_http request goes.
type MailAuthHTTP struct {
	Network, Addr, HostHeader, URI string
}

// Defaults of the mail modules.
const (
	defaultMailTimeout      = 60 * time.Second
	defaultMailProxyTimeout = 24 * time.Hour
	defaultMailMaxErrors    = 5
	defaultMailClientBuffer = 4096
)

// mailAuthNames are each protocol's *_auth values, in the order nginx
// advertises them.
var mailAuthNames = map[string][]string{
	"imap_auth": {"plain", "login", "cram-md5", "external"},
	"pop3_auth": {"plain", "apop", "cram-md5", "external"},
	"smtp_auth": {"plain", "login", "cram-md5", "external", "none"},
}

// mailProtocolPorts are the ports nginx infers a server's protocol from.
var mailProtocolPorts = map[int]string{143: MailIMAP, 993: MailIMAP, 110: MailPOP3, 995: MailPOP3, 25: MailSMTP, 465: MailSMTP, 587: MailSMTP}

// buildMail reads the mail block.
func (b *builder) buildMail(d *Directive) (*Mail, error) {
	m := &Mail{Pos: d.Pos}
	top := newScope(nil, ctxMail, d.Block)
	seen := map[string]bool{}
	for _, sd := range top.own("server") {
		srv, err := b.mailServer(top, sd)
		if err != nil {
			return nil, err
		}
		for _, l := range srv.Listens {
			key := l.Network + " " + l.Addr
			if strings.HasSuffix(l.Addr, ":0") {
				continue // each ephemeral port is its own (fulcrum's extension)
			}
			if seen[key] {
				return nil, hintf(l.Pos, "each address is listened on by one mail server", `duplicate "%s" address and port pair`, l.Addr)
			}
			seen[key] = true
		}
		m.Servers = append(m.Servers, srv)
	}
	return m, nil
}

// mailServer reads one mail server block; top is the mail level.
func (b *builder) mailServer(top *scope, d *Directive) (*MailServer, error) {
	sc := newScope(top, ctxMailSrv, d.Block)
	srv := &MailServer{Pos: d.Pos, XClient: true, MaxErrors: defaultMailMaxErrors}
	for _, ld := range sc.own("listen") {
		addrs, err := listenPorts(ld)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs { // one listen for each port of a range
			l, err := b.mailListen(ld, a)
			if err != nil {
				return nil, err
			}
			srv.Listens = append(srv.Listens, l)
		}
	}
	if len(srv.Listens) == 0 {
		return nil, hintf(d.Pos, "add a listen directive such as: listen 143;", `no "listen" is defined for server`)
	}
	if err := mailProtocol(srv, sc); err != nil {
		return nil, err
	}
	if err := b.mailAuthHTTP(srv, sc); err != nil {
		return nil, err
	}
	if err := mailSettings(srv, sc); err != nil {
		return nil, err
	}
	if err := mailAuthMethods(srv, sc); err != nil {
		return nil, err
	}
	if err := b.mailResolver(srv, sc); err != nil {
		return nil, err
	}
	if err := b.mailTLS(srv, sc); err != nil {
		return nil, err
	}
	if dirs, _ := sc.nearest("error_log"); len(dirs) > 0 {
		logs, err := b.errorLogs(dirs)
		if err != nil {
			return nil, err
		}
		srv.ErrorLogs = logs
	}
	return srv, nil
}

// mailResolver reads the nearest resolver ("off" leaves none) with the
// nearest resolver_timeout, each inherited on its own as nginx merges them.
func (b *builder) mailResolver(srv *MailServer, sc *scope) error {
	dirs, _ := sc.nearest("resolver")
	if len(dirs) == 0 || len(dirs[0].Args) == 1 && dirs[0].Args[0] == "off" {
		return nil
	}
	var timeout *Directive
	if ts, _ := sc.nearest("resolver_timeout"); len(ts) > 0 {
		timeout = ts[0]
	}
	r, err := b.parseResolver(dirs[0], timeout)
	if err != nil {
		return err
	}
	srv.Resolver = r
	return nil
}

// mailListen reads "listen address:port | port | unix:path [parameters]"
// for its address a (one port of a range, listenPorts); ssl makes the
// address speak TLS, proxy_protocol is refused (fulcrum's mail listeners
// do not read the header), socket options are left to the system.
func (b *builder) mailListen(d *Directive, a string) (Listen, error) {
	l, err := b.listenAddrOf(d, a)
	if err != nil {
		return l, err
	}
	for _, p := range d.Args[1:] {
		key, val, hasVal := strings.Cut(p, "=")
		switch {
		case p == "ssl":
			l.SSL = true
		case p == "proxy_protocol":
			return l, hintf(d.Pos, "fulcrum's mail proxy does not read PROXY protocol headers; keep nginx for it", `the "proxy_protocol" parameter of a mail "listen" is not supported`)
		case key == "ipv6only" && hasVal:
			if _, err := parseFlag(val); err != nil {
				return l, errorf(d.Pos, `invalid ipv6only flags "%s"`, val)
			}
		case slices.Contains(ignoredListenParams, key):
			if err := b.ignoredListenParam(d, key, val, hasVal); err != nil {
				return l, err
			}
		default:
			return l, hintf(d.Pos, "a mail listen takes backlog=, rcvbuf=, sndbuf=, so_keepalive=, bind and ipv6only=", `the invalid "%s" parameter`, p)
		}
	}
	return l, nil
}

// mailProtocol sets the server's protocol, inferred from the first
// listen's port when no protocol directive names it, as nginx does.
func mailProtocol(srv *MailServer, sc *scope) error {
	if dirs := sc.own("protocol"); len(dirs) > 0 {
		srv.Protocol = dirs[0].Args[0]
		return nil
	}
	l := srv.Listens[0]
	if l.Network == "tcp" {
		if _, port, err := net.SplitHostPort(l.Addr); err == nil {
			n, _ := strconv.Atoi(port)
			srv.Protocol = mailProtocolPorts[n]
		}
	}
	if srv.Protocol == "" {
		return hintf(srv.Pos, "add protocol imap, pop3 or smtp to the server", "unknown mail protocol for server")
	}
	return nil
}

// mailAuthHTTP reads auth_http, auth_http_header and auth_http_timeout.
func (b *builder) mailAuthHTTP(srv *MailServer, sc *scope) error {
	dirs, _ := sc.nearest("auth_http")
	if len(dirs) == 0 {
		return hintf(srv.Pos, "add auth_http with the URL of the server that authenticates clients, such as: auth_http 127.0.0.1:9000/auth;", `no "auth_http" is defined for server`)
	}
	a, err := parseAuthHTTP(dirs[0])
	if err != nil {
		return err
	}
	srv.AuthHTTP = a
	if hdrs, _ := sc.nearest("auth_http_header"); len(hdrs) > 0 {
		for _, h := range hdrs {
			srv.AuthHTTPHeaders = append(srv.AuthHTTPHeaders, [2]string{h.Args[0], h.Args[1]})
		}
	}
	srv.AuthHTTPTimeout = nearestMsec(sc, "auth_http_timeout", defaultMailTimeout)
	return nil
}

// parseAuthHTTP reads an auth_http URL: [http://]host[:port][/uri] or
// unix:/path[:/uri], as ngx_parse_url reads it (port 80, URI "/").
func parseAuthHTTP(d *Directive) (MailAuthHTTP, error) {
	u := d.Args[0]
	if len(u) > 7 && strings.EqualFold(u[:7], "http://") {
		u = u[7:]
	}
	bad := func() (MailAuthHTTP, error) {
		return MailAuthHTTP{}, hintf(d.Pos, "write auth_http host[:port][/uri], such as: auth_http 127.0.0.1:9000/auth;", `invalid URL "%s" in auth_http`, d.Args[0])
	}
	if path, ok := strings.CutPrefix(u, "unix:"); ok {
		sock, uri, hasURI := strings.Cut(path, ":")
		if sock == "" {
			return bad()
		}
		if !hasURI || uri == "" {
			uri = "/"
		}
		return MailAuthHTTP{Network: "unix", Addr: sock, HostHeader: "localhost", URI: uri}, nil
	}
	hostport, uri := u, "/"
	if i := strings.IndexByte(u, '/'); i >= 0 {
		hostport, uri = u[:i], u[i:]
	}
	hp, err := splitHostPort(hostport, 80)
	if err != nil || hp.host == "" {
		return bad()
	}
	return MailAuthHTTP{Network: "tcp", Addr: joinHostPort(hp.host, hp.port), HostHeader: hp.host, URI: uri}, nil
}

// mailSettings reads the server's scalar settings, each from the nearest
// level that writes it.
func mailSettings(srv *MailServer, sc *scope) error {
	if dirs, _ := sc.nearest("server_name"); len(dirs) > 0 {
		srv.ServerName = dirs[0].Args[0]
	}
	srv.Timeout = nearestMsec(sc, "timeout", defaultMailTimeout)
	srv.ProxyTimeout = nearestMsec(sc, "proxy_timeout", defaultMailProxyTimeout)
	srv.SMTPGreetingDelay = nearestMsec(sc, "smtp_greeting_delay", 0)
	if dirs, _ := sc.nearest("proxy_pass_error_message"); len(dirs) > 0 {
		srv.PassErrorMessage, _ = parseFlag(dirs[0].Args[0])
	}
	if dirs, _ := sc.nearest("xclient"); len(dirs) > 0 {
		srv.XClient, _ = parseFlag(dirs[0].Args[0])
	}
	if dirs, _ := sc.nearest("proxy_smtp_auth"); len(dirs) > 0 {
		srv.ProxySMTPAuth, _ = parseFlag(dirs[0].Args[0])
	}
	if dirs, _ := sc.nearest("proxy_protocol"); len(dirs) > 0 {
		srv.ProxyProtocol, _ = parseFlag(dirs[0].Args[0])
	}
	if dirs, _ := sc.nearest("max_errors"); len(dirs) > 0 {
		srv.MaxErrors, _ = strconv.Atoi(dirs[0].Args[0])
	}
	buffer := "imap_client_buffer"
	if srv.Protocol == MailSMTP {
		buffer = "smtp_client_buffer"
	}
	srv.ClientBuffer = defaultMailClientBuffer
	if srv.Protocol == MailPOP3 {
		srv.ClientBuffer = 128
	} else if dirs, _ := sc.nearest(buffer); len(dirs) > 0 {
		n, _ := parseSize(dirs[0].Args[0])
		srv.ClientBuffer = int(n)
	}
	for _, c := range []struct {
		name string
		dst  *[]string
	}{{"imap_capabilities", &srv.IMAPCapabilities}, {"pop3_capabilities", &srv.POP3Capabilities}, {"smtp_capabilities", &srv.SMTPCapabilities}} {
		if dirs, _ := sc.nearest(c.name); len(dirs) > 0 {
			*c.dst = slices.Clone(dirs[0].Args)
		}
	}
	return nil
}

// nearestMsec is the time of the nearest level's directive name, or def.
func nearestMsec(sc *scope, name string, def time.Duration) time.Duration {
	if dirs, _ := sc.nearest(name); len(dirs) > 0 {
		v, _ := parseTime(dirs[0].Args[0], false) // kindMsec checked it
		return v
	}
	return def
}

// mailAuthMethods reads imap_auth, pop3_auth and smtp_auth.
func mailAuthMethods(srv *MailServer, sc *scope) error {
	defaults := map[string][]string{"imap_auth": {"plain"}, "pop3_auth": {"plain"}, "smtp_auth": {"plain", "login"}}
	dst := map[string]*[]string{"imap_auth": &srv.IMAPAuth, "pop3_auth": &srv.POP3Auth, "smtp_auth": &srv.SMTPAuth}
	for name, out := range dst {
		dirs, _ := sc.nearest(name)
		if len(dirs) == 0 {
			*out = defaults[name]
			continue
		}
		set := map[string]bool{}
		for _, a := range dirs[0].Args {
			v := strings.ToLower(a)
			if !slices.Contains(mailAuthNames[name], v) {
				return errorf(dirs[0].Pos, `invalid value "%s"`, a)
			}
			set[v] = true
		}
		for _, v := range mailAuthNames[name] {
			if set[v] && v != "none" {
				*out = append(*out, v)
			}
		}
		srv.SMTPAuthNone = srv.SMTPAuthNone || name == "smtp_auth" && set["none"]
	}
	return nil
}

// mailTLS reads ssl, starttls, auth_http_pass_client_cert and the ssl_*
// settings (shared with the http and stream blocks: buildTLS). As nginx's
// ngx_mail_ssl_module, "ssl on" makes every listen of the server TLS and
// conflicts with starttls, and TLS in any form needs a certificate:
// `no "ssl_certificate" is defined for the "ssl" directive` (or
// "listen ... ssl", "starttls"), at that directive's line.
func (b *builder) mailTLS(srv *MailServer, sc *scope) error {
	srv.StartTLS = MailStartTLSOff
	var need *Pos // where a certificate is asked for
	var sslOnDir, starttlsDir *Directive
	if dirs, _ := sc.nearest("ssl"); len(dirs) > 0 {
		b.warnDir(dirs[0], "", sslDeprecated)
		if on, _ := parseFlag(dirs[0].Args[0]); on {
			sslOnDir, need = dirs[0], &dirs[0].Pos
		}
	}
	if dirs, _ := sc.nearest("starttls"); len(dirs) > 0 {
		srv.StartTLS = dirs[0].Args[0]
		if srv.StartTLS != MailStartTLSOff {
			starttlsDir = dirs[0]
		}
	}
	for lv := sc; lv != nil; lv = lv.parent {
		if err := mailTLSConflict(lv); err != nil {
			return err
		}
	}
	mode := "ssl"
	for i := range srv.Listens {
		if sslOnDir != nil {
			srv.Listens[i].SSL = true
		} else if srv.Listens[i].SSL && need == nil {
			need, mode = &srv.Listens[i].Pos, "listen ... ssl"
		}
	}
	if need == nil && starttlsDir != nil {
		need, mode = &starttlsDir.Pos, "starttls"
	}
	if dirs, _ := sc.nearest("auth_http_pass_client_cert"); len(dirs) > 0 {
		srv.PassClientCert, _ = parseFlag(dirs[0].Args[0])
	}
	if need != nil {
		if err := checkTLSKeys(sc, *need, mode); err != nil {
			return err
		}
	}
	t, err := b.buildTLS(sc, need != nil, mailTLS)
	if err != nil {
		return err
	}
	srv.TLS = t
	if need != nil && (t == nil || len(t.Certificates) == 0) {
		return hintf(*need, "add ssl_certificate and ssl_certificate_key to the server or the mail block",
			`no "ssl_certificate" is defined for the "%s" directive`, mode)
	}
	return nil
}

// mailTLSConflict refuses "ssl on" and "starttls on|only" in the same
// block, as nginx does at the later of the two (its words differ with the
// order); at different levels they load.
func mailTLSConflict(lv *scope) error {
	var sslOn, starttls *Directive
	for _, d := range lv.dirs {
		switch {
		case d.Name == "ssl" && d.Args[0] == "on":
			sslOn = d
		case d.Name == "starttls" && d.Args[0] != MailStartTLSOff:
			starttls = d
		default:
			continue
		}
		if sslOn == nil || starttls == nil {
			continue
		}
		msg := `"ssl" directive conflicts with "starttls"`
		if d == sslOn {
			msg = `"starttls" directive conflicts with "ssl on"`
		}
		return hintf(d.Pos, `write "listen ... ssl" for TLS from the first byte, or starttls for TLS on request, not both`, "%s", msg)
	}
	return nil
}

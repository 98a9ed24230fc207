package config

import (
	"fmt"
	"strings"
)

// applyProxyPass reads the level's own proxy_pass (it is not inherited).
func applyProxyPass(b *builder, st *Settings, dirs []*Directive, at *scope) error {
	p, err := b.proxyPass(dirs[0], at.loc)
	st.ProxyPass = p
	return err
}

// proxyPass reads "proxy_pass URL" in location loc.
func (b *builder) proxyPass(d *Directive, loc *Location) (*ProxyPass, error) {
	raw := d.Args[0]
	scheme, rest, err := stripScheme(d, raw)
	if err != nil && !strings.Contains(raw, "$") {
		return nil, err
	}
	p := &ProxyPass{URL: raw, Scheme: scheme, Pos: d.Pos}
	if strings.Contains(raw, "$") {
		// Evaluated per request (ngx_http_proxy_eval): an upstream block's
		// name or an address, over TLS with https://. nginx checks nothing
		// more here, the scheme included: a URL that starts with a variable
		// ("$upstream_proto://...") gets its scheme per request.
		p.HasVariables = true
		if err == nil {
			splitProxyURL(p, rest)
		}
		return p, nil
	}
	host := splitProxyURL(p, rest)
	// An if block's location (Implicit) is nginx's "if" statement: its
	// ngx_http_proxy_pass refuses a URI there too.
	if p.HasURI && loc != nil && (loc.Modifier == ModRegex || loc.Modifier == ModRegexCaseless || loc.Modifier == ModNamed || loc.Implicit) {
		return nil, hintf(d.Pos, "remove the URI part: in a regex or named location and inside if the request URI is passed as it is",
			`"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`)
	}
	p.Upstream, err = b.upstreamFor(d, host, defaultPort(scheme))
	return p, err
}

// defaultPort is the port of a proxy_pass URL without one: 80, or 443 for
// https.
func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// stripScheme returns the URL's scheme ("http" or "https") and what follows
// "://", or an error for anything else.
func stripScheme(d *Directive, raw string) (scheme, rest string, err error) {
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "http://"):
		return "http", raw[len("http://"):], nil
	case strings.HasPrefix(lower, "https://"):
		return "https", raw[len("https://"):], nil
	}
	return "", "", hintf(d.Pos, "proxy_pass takes a URL such as http://backend or https://127.0.0.1:8443/", "invalid URL prefix")
}

// splitProxyURL fills p's Host, URI and HasURI from the URL after the scheme and
// returns the address part: "host[:port]" or "unix:/path". For a UNIX socket the
// URI follows the path after a colon ("unix:/tmp/app.sock:/api/"), and $proxy_host
// is "localhost", as in nginx.
func splitProxyURL(p *ProxyPass, rest string) string {
	if path, ok := strings.CutPrefix(rest, "unix:"); ok {
		p.Host = "localhost"
		if i := strings.IndexByte(path, ':'); i >= 0 {
			p.URI, p.HasURI = path[i+1:], path[i+1:] != ""
			return "unix:" + path[:i]
		}
		return rest
	}
	host := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, p.URI, p.HasURI = rest[:i], rest[i:], true
	}
	p.Host = host
	return host
}

// upstreamFor returns the upstream that proxy_pass's address names: an upstream
// block, or the implicit upstream of a literal host:port (made once per distinct
// address and appended to HTTP.Upstreams); port is the scheme's default.
func (b *builder) upstreamFor(d *Directive, addr string, port int) (*Upstream, error) {
	if strings.HasPrefix(addr, "unix:") {
		return b.implicitUpstream(d, addr, strings.ToLower(addr), port)
	}
	hp, err := splitHostPort(addr, port)
	if err != nil {
		return nil, addrError(d.Pos, addr, err)
	}
	if u := b.upstreams[strings.ToLower(hp.host)]; u != nil {
		if hp.hasPort {
			return nil, hintf(d.Pos, fmt.Sprintf(`write "proxy_pass http://%s" and put the ports in the upstream's server lines`, hp.host),
				`upstream "%s" may not have port %d`, hp.host, hp.port)
		}
		return u, nil
	}
	return b.implicitUpstream(d, addr, strings.ToLower(hp.host)+":"+itoa(hp.port), port)
}

// implicitUpstream returns the implicit upstream for addr, making it on first
// use; port is the one to use when addr has none.
func (b *builder) implicitUpstream(d *Directive, addr, key string, port int) (*Upstream, error) {
	if u := b.implicit[key]; u != nil {
		return u, nil
	}
	addrs, err := b.serverAddrsPort(d.Pos, addr, port)
	if err != nil {
		return nil, b.hostNotFound(d, addr, err)
	}
	u := newUpstream(addr, d.Pos)
	u.Implicit = true
	for _, a := range addrs {
		u.Servers = append(u.Servers, &UpstreamServer{
			Name: addr, Network: a.network, Addr: a.addr,
			Weight: 1, MaxFails: 1, FailTimeout: defaultFailTimeout, Pos: d.Pos,
		})
	}
	b.implicit[key] = u
	b.cfg.HTTP.Upstreams = append(b.cfg.HTTP.Upstreams, u)
	return u, nil
}

// hostNotFound rewords a resolution failure in proxy_pass as nginx does (the host
// without its port) and hints at a defined upstream with a close name.
func (b *builder) hostNotFound(d *Directive, addr string, err error) error {
	e, ok := AsError(err)
	if !ok || !strings.HasPrefix(e.Msg, "host not found") {
		return err
	}
	host := addr
	if hp, err := splitHostPort(addr, 80); err == nil {
		host = hp.host
	}
	hint := "no upstream block has this name and it does not resolve; define it with upstream " + host + " { server ...; }"
	if s := suggest(host, b.upstreamNames(), nil); s != "" {
		hint = fmt.Sprintf(`did you mean "%s"?`, s)
	}
	return hintf(d.Pos, hint, `host not found in upstream "%s"`, host)
}

// applyProxyRedirect reads the proxy_redirect directives of one level: "off" alone,
// "default" (after proxy_pass at the same level, as nginx requires), or "from to"
// where from may be a regex (~ or ~*).
func applyProxyRedirect(_ *builder, st *Settings, dirs []*Directive, at *scope) error {
	out := make([]ProxyRedirect, 0, len(dirs))
	for i, d := range dirs {
		r, err := proxyRedirect(d, at)
		if err != nil {
			return err
		}
		if i > 0 && (r.Off || out[0].Off) {
			return hintf(d.Pos, `"off" stands alone`, `"proxy_redirect" directive is duplicate`)
		}
		out = append(out, r)
	}
	st.ProxyRedirects = out
	return nil
}

func proxyRedirect(d *Directive, at *scope) (ProxyRedirect, error) {
	r := ProxyRedirect{Pos: d.Pos}
	if len(d.Args) == 1 {
		switch d.Args[0] {
		case "off":
			r.Off = true
		case "default":
			r.Default = true
			return r, checkRedirectDefault(d, at)
		default:
			return r, hintf(d.Pos, `use "default", "off", or a text and its replacement`, `invalid parameter "%s"`, d.Args[0])
		}
		return r, nil
	}
	r.From, r.To = d.Args[0], d.Args[1]
	if src, ok := strings.CutPrefix(r.From, "~"); ok {
		caseless := strings.HasPrefix(src, "*")
		if caseless {
			src = src[1:]
		}
		re, err := compileRegex(d.Pos, src, caseless)
		if err != nil {
			return r, err
		}
		r.From, r.Regex = src, re
	}
	return r, nil
}

// checkRedirectDefault applies nginx's rule: "proxy_redirect default" must follow a
// proxy_pass without variables at the same level.
func checkRedirectDefault(d *Directive, at *scope) error {
	for _, x := range at.dirs {
		if x == d {
			break
		}
		if x.Name == "proxy_pass" {
			if strings.Contains(x.Args[0], "$") {
				return errorf(d.Pos, `"proxy_redirect default" cannot be used with "proxy_pass" directive with variables`)
			}
			return nil
		}
	}
	return hintf(d.Pos, `move it below proxy_pass, or remove it: "default" is what fulcrum does anyway`,
		`"proxy_redirect default" should be placed after the "proxy_pass" directive`)
}

// applyNextUpstream ORs the conditions of the level's proxy_next_upstream lines;
// "off" must stand alone.
func applyNextUpstream(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	set, err := b.nextUpstream(dirs)
	st.ProxyNextUpstream = set
	return err
}

// nextUpstream ORs the conditions of a level's proxy_next_upstream (or
// grpc_next_upstream) lines; "off" must stand alone.
func (b *builder) nextUpstream(dirs []*Directive) (NextUpstream, error) {
	var set NextUpstream
	for _, d := range dirs {
		for _, a := range d.Args {
			bit := nextUpstreamBit(a)
			if set&bit != 0 {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			set |= bit
		}
		if set&NextOff != 0 && set != NextOff {
			return set, hintf(d.Pos, `"off" turns retries off; list conditions without it, or write "off" alone`,
				`"%s off" cannot be combined with other values`, d.Name)
		}
	}
	return set, nil
}

func nextUpstreamBit(name string) NextUpstream {
	for _, v := range nextUpstreamValues {
		if v.name == name {
			return v.bit
		}
	}
	return 0 // the validator refused unknown values
}

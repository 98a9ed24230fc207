package config

import (
	"strings"

	"fulcrum/internal/pcre"
)

// ValidReferers is the valid_referers of a level (ngx_http_referer_module):
// which Referer header values make $invalid_referer empty. The nearest level
// that writes any valid_referers gives all of them, as nginx merges them.
type ValidReferers struct {
	// None accepts a request without a Referer field ("none").
	None bool
	// Blocked accepts a Referer that does not start with "http://" or
	// "https://", as firewalls and proxies leave it ("blocked"); nginx
	// counts any value shorter than "http://i.ru" among them.
	Blocked bool
	// Names are the host names, exact or with a wildcard, each with the URI
	// prefix the referer's path must start with ("" for any path), in the
	// order written.
	Names []RefererName
	// Regexes are the "~" entries, case-insensitive, matched against the
	// referer after its "http://" or "https://".
	Regexes []*pcre.Regexp
	// ServerRegexes are the regular expressions among the server's names
	// that "server_names" brings, matched case-insensitively against the
	// referer's host only, as nginx matches them.
	ServerRegexes []*pcre.Regexp
	Pos           Pos
}

// RefererName is one host name of valid_referers.
type RefererName struct {
	// Kind is NameExact, NameLeadWildcard ("*.example.org", and the
	// wildcard half of ".example.org") or NameTrailWildcard ("www.example.*").
	Kind NameKind
	// Host is the lower-cased name as classified: "example.org",
	// "*.example.org" or "www.example.*".
	Host string
	// URI is the prefix the referer's path must start with ("example.org/galleries/"
	// gives "/galleries/"); "" accepts every path.
	URI string
}

// applyValidReferers reads the valid_referers directives of the nearest level
// that has any (at), nginx's ngx_http_valid_referers and its merge.
func applyValidReferers(_ *builder, st *Settings, dirs []*Directive, at *scope) error {
	vr := &ValidReferers{Pos: dirs[0].Pos}
	seen := map[string]bool{} // the hash keys: exact names, "*.x" and "x.*"
	add := func(d *Directive, host, uri string) error {
		n, err := refererNames(d, host, uri, seen)
		vr.Names = append(vr.Names, n...)
		return err
	}
	for _, d := range dirs {
		for _, a := range d.Args {
			if err := vr.addArg(d, a, at, add); err != nil {
				return err
			}
		}
	}
	if (vr.None || vr.Blocked) && len(vr.Names) == 0 {
		return hintf(vr.Pos, `add the host names to accept, such as server_names or *.example.org`,
			`the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer`)
	}
	st.ValidReferers = vr
	return nil
}

// addArg reads one argument of valid_referers.
func (vr *ValidReferers) addArg(d *Directive, a string, at *scope, add func(d *Directive, host, uri string) error) error {
	switch {
	case a == "":
		return errorf(d.Pos, `invalid referer "%s"`, a)
	case a == "none":
		vr.None = true
	case a == "blocked":
		vr.Blocked = true
	case a == "server_names":
		return vr.addServerNames(d, at, add)
	case strings.HasPrefix(a, "~"):
		if a == "~" {
			return errorf(d.Pos, `empty regex in "%s"`, a)
		}
		re, err := compileRegex(d.Pos, a[1:], true)
		if err != nil {
			return err
		}
		vr.Regexes = append(vr.Regexes, re)
	default:
		host, uri := a, ""
		if i := strings.IndexByte(a, '/'); i >= 0 {
			host, uri = a[:i], a[i:]
		}
		return add(d, host, uri)
	}
	return nil
}

// addServerNames adds the names of the server block around at, as
// "server_names" does: its regexes match the referer's host.
func (vr *ValidReferers) addServerNames(d *Directive, at *scope, add func(d *Directive, host, uri string) error) error {
	srv := at
	for srv != nil && srv.ctx != ctxServer {
		srv = srv.parent
	}
	if srv == nil || len(srv.own("server_name")) == 0 {
		return nil // nginx has no name to add before the default ""
	}
	names, err := serverNames(srv)
	if err != nil {
		return err
	}
	for _, n := range names {
		switch n.Kind {
		case NameRegex:
			vr.ServerRegexes = append(vr.ServerRegexes, n.Regex)
		case NameExact:
			err = add(d, n.Name, "")
		default:
			vr.Names = append(vr.Names, RefererName{Kind: n.Kind, Host: n.Name})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// refererNames classifies one host of valid_referers as nginx's
// ngx_hash_add_key does with wildcards: "*.x" and ".x" lead, "x.*" trail,
// anything else exact. A second "*", "..", or a "*" elsewhere is invalid;
// a key seen before (names compare case-insensitively) conflicts.
func refererNames(d *Directive, host, uri string, seen map[string]bool) ([]RefererName, error) {
	name := strings.ToLower(host)
	if strings.Count(name, "*") > 1 || strings.Contains(name, "..") {
		return nil, refererHostError(d, host)
	}
	kinds, keys := []NameKind{NameExact}, []string{name}
	switch {
	case len(name) > 1 && name[0] == '.':
		kinds, keys = []NameKind{NameExact, NameLeadWildcard}, []string{name[1:], "*" + name}
	case len(name) > 2 && strings.HasPrefix(name, "*."):
		kinds, keys = []NameKind{NameLeadWildcard}, []string{name}
	case len(name) > 2 && strings.HasSuffix(name, ".*"):
		kinds, keys = []NameKind{NameTrailWildcard}, []string{name}
	case strings.Contains(name, "*"):
		return nil, refererHostError(d, host)
	}
	out := make([]RefererName, len(keys))
	for i, k := range keys {
		if seen[k] {
			return nil, errorf(d.Pos, `conflicting parameter "%s"`, name)
		}
		seen[k] = true
		out[i] = RefererName{Kind: kinds[i], Host: k, URI: uri}
	}
	return out, nil
}

func refererHostError(d *Directive, host string) error {
	return hintf(d.Pos, `a wildcard "*" may only start ("*.example.org") or end ("www.example.*") a name; use "~" and a regex for the rest`,
		`invalid hostname or wildcard "%s"`, host)
}

package daemon

import (
	"net/url"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/router"
)

// OIDCWarnings checks statically where the paths of each oidc_provider
// would be served, in every server that uses the provider (a level with
// auth_oidc of it): the module answers redirect_uri, logout_uri and
// frontchannel_logout_uri only at a level with auth_oidc of the provider,
// so one served elsewhere never reaches it; and "If the post logout page
// is served by NGINX, the OIDC module shouldn't be enabled for this
// location" (NGINX Plus's post_logout_uri). NGINX Plus's documentation
// makes none of these an error, so they are warnings. A configuration
// whose servers cannot be routed gives none: Check reports it.
func OIDCWarnings(cfg *config.Config) []config.Warning {
	if cfg.HTTP == nil || len(cfg.HTTP.OIDCProviders) == 0 {
		return nil
	}
	r, err := router.New(cfg.HTTP.Servers)
	if err != nil {
		return nil
	}
	var out []config.Warning
	for _, p := range cfg.HTTP.OIDCProviders {
		for _, srv := range r.Servers() {
			if usesProvider(srv.Config, p.Name) {
				out = append(out, providerPathWarnings(p, srv)...)
			}
		}
	}
	return out
}

// providerPathWarnings checks p's paths in one server that uses p.
func providerPathWarnings(p *config.OIDCProvider, srv *router.Server) []config.Warning {
	var out []config.Warning
	own := []struct{ name, uri string }{{"redirect_uri", p.RedirectURI}, {"logout_uri", p.LogoutURI},
		{"frontchannel_logout_uri", p.FrontchannelLogoutURI}}
	for _, o := range own {
		path := uriPath(o.uri)
		if path == "" {
			continue
		}
		if where, provider := servedBy(srv, path); provider != p.Name {
			out = append(out, config.Warning{Pos: p.Pos,
				Msg: o.name + ` "` + path + `" of oidc_provider "` + p.Name + `" is served without "auth_oidc ` + p.Name +
					`" by ` + where + ` of the server at ` + srv.Config.Pos.String(),
				Hint: "the module answers it only where auth_oidc " + p.Name + " is on: cover the path with such a location (as location / does)"})
		}
	}
	if path := uriPath(p.PostLogoutURI); path != "" && p.PostLogoutURI[0] == '/' {
		if where, provider := servedBy(srv, path); provider == p.Name {
			out = append(out, config.Warning{Pos: p.Pos,
				Msg: `post_logout_uri "` + path + `" of oidc_provider "` + p.Name + `" is served with "auth_oidc ` + p.Name +
					`" by ` + where + ` of the server at ` + srv.Config.Pos.String(),
				Hint: "a user who logged out would log in again at once: serve it with auth_oidc off"})
		}
	}
	return out
}

// usesProvider reports whether server cs or one of its locations has
// auth_oidc name.
func usesProvider(cs *config.Server, name string) bool {
	if cs.Settings != nil && cs.Settings.AuthOIDC == name {
		return true
	}
	var walk func(locs []*config.Location) bool
	walk = func(locs []*config.Location) bool {
		for _, l := range locs {
			if l.Settings != nil && l.Settings.AuthOIDC == name || walk(l.Locations) {
				return true
			}
		}
		return false
	}
	return walk(cs.Locations)
}

// servedBy names the location that serves path in srv, and the provider
// its auth_oidc names ("" for off).
func servedBy(srv *router.Server, path string) (where, provider string) {
	m := srv.Location(path)
	switch {
	case m.Redirect != "":
		return `a redirect to "` + m.Redirect + `"`, ""
	case m.Location == nil && srv.Config.Settings != nil:
		return "no location", srv.Config.Settings.AuthOIDC
	case m.Location == nil:
		return "no location", ""
	}
	l := m.Location
	where = `location "` + strings.TrimSpace(l.Modifier.String()+" "+l.Path) + `" (` + l.Pos.String() + `)`
	if l.Settings == nil {
		return where, ""
	}
	return where, l.Settings.AuthOIDC
}

// uriPath is the path of a provider's URI: the URI itself, or the path of
// an absolute URL; "" when there is none to check (not set, or escaped
// characters the router would see decoded).
func uriPath(uri string) string {
	if uri == "" {
		return ""
	}
	if uri[0] != '/' {
		u, err := url.Parse(uri)
		if err != nil {
			return ""
		}
		uri = u.Path
		if uri == "" {
			uri = "/"
		}
	}
	if strings.Contains(uri, "%") {
		return ""
	}
	return uri
}

package config

import (
	"io/fs"
	"strings"
)

// StoreRequestFilename is Settings.ProxyStore for "proxy_store on": the file
// is the one root or alias maps the URI to, nginx's $request_filename.
const StoreRequestFilename = "$request_filename"

// defaultStoreAccess is proxy_store_access's default, "user:rw".
const defaultStoreAccess fs.FileMode = 0o600

// applyProxyStore reads "proxy_store on | off | string". nginx refuses
// proxy_store and proxy_cache written at the same level (the later one is
// the error); across levels, a proxy_store in effect turns the cache off, as
// ngx_http_proxy_merge_loc_conf does.
func applyProxyStore(_ *builder, st *Settings, dirs []*Directive, at *scope) error {
	d := dirs[0]
	switch d.Args[0] {
	case "off":
		st.ProxyStore = ""
		return nil
	case "on":
		st.ProxyStore = StoreRequestFilename
	default:
		st.ProxyStore = d.Args[0]
	}
	if err := storeCacheConflict(at); err != nil {
		return err
	}
	st.ProxyCache.Zone = nil
	return nil
}

// storeCacheConflict finds proxy_store (not off) and proxy_cache (not off)
// at one level and words the error at the later one, as nginx reads them in
// order.
func storeCacheConflict(at *scope) error {
	var store, cache *Directive
	for _, d := range at.own("proxy_store", "proxy_cache") {
		if d.Args[0] == "off" {
			continue
		}
		switch {
		case d.Name == "proxy_store" && cache != nil:
			return errorf(d.Pos, `"proxy_store" directive is incompatible with "proxy_cache"`)
		case d.Name == "proxy_cache" && store != nil:
			return errorf(d.Pos, `"proxy_cache" directive is incompatible with "proxy_store"`)
		case d.Name == "proxy_store":
			store = d
		default:
			cache = d
		}
	}
	return nil
}

// applyProxyStoreAccess reads "proxy_store_access users:permissions ..." as
// ngx_conf_set_access_slot does: user:, group: or all:, then rw or r; the
// user keeps rw unless a user: entry is given.
func applyProxyStoreAccess(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	user, mode := defaultStoreAccess, fs.FileMode(0)
	for _, a := range d.Args {
		var shift uint
		switch {
		case strings.HasPrefix(a, "user:"):
			shift, user = 6, 0
		case strings.HasPrefix(a, "group:"):
			shift = 3
		case strings.HasPrefix(a, "all:"):
			shift = 0
		default:
			return errorf(d.Pos, `invalid value "%s"`, a)
		}
		var right fs.FileMode
		switch a[strings.IndexByte(a, ':')+1:] {
		case "rw":
			right = 6
		case "r":
			right = 4
		default:
			return errorf(d.Pos, `invalid value "%s"`, a)
		}
		mode |= right << shift
	}
	st.ProxyStoreAccess = mode | user
	return nil
}

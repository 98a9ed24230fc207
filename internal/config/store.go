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
	path, err := storePath(dirs[0], at, "proxy")
	st.ProxyStore = path
	if err == nil && path != "" {
		st.ProxyCache.Zone, st.ProxyCache.ZoneValue = nil, ""
	}
	return err
}

// storePath reads "PREFIX_store on | off | string" (prefix: proxy, fastcgi,
// scgi or uwsgi): "" for off, StoreRequestFilename for on, else the
// template; at the level at, a PREFIX_cache that is not off is an error.
func storePath(d *Directive, at *scope, prefix string) (string, error) {
	switch d.Args[0] {
	case "off":
		return "", nil
	case "on":
		return StoreRequestFilename, storeCacheConflict(at, prefix)
	}
	return d.Args[0], storeCacheConflict(at, prefix)
}

// storeCacheConflict finds PREFIX_store (not off) and PREFIX_cache (not
// off) at one level and words the error at the later one, as nginx reads
// them in order.
func storeCacheConflict(at *scope, prefix string) error {
	storeName, cacheName := prefix+"_store", prefix+"_cache"
	var store, cache *Directive
	for _, d := range at.own(storeName, cacheName) {
		if d.Args[0] == "off" {
			continue
		}
		switch {
		case d.Name == storeName && cache != nil:
			return errorf(d.Pos, `"%s" directive is incompatible with "%s"`, storeName, cacheName)
		case d.Name == cacheName && store != nil:
			return errorf(d.Pos, `"%s" directive is incompatible with "%s"`, cacheName, storeName)
		case d.Name == storeName:
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
	mode, err := storeAccess(dirs[0])
	st.ProxyStoreAccess = mode
	return err
}

// storeAccess reads the permissions of proxy_store_access (fastcgi_,
// scgi_, uwsgi_store_access).
func storeAccess(d *Directive) (fs.FileMode, error) {
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
			return 0, errorf(d.Pos, `invalid value "%s"`, a)
		}
		var right fs.FileMode
		switch a[strings.IndexByte(a, ':')+1:] {
		case "rw":
			right = 6
		case "r":
			right = 4
		default:
			return 0, errorf(d.Pos, `invalid value "%s"`, a)
		}
		mode |= right << shift
	}
	return mode | user, nil
}

package daemon

import (
	"fmt"
	"net/netip"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/geo"
	"fulcrum/internal/mmdb"
	"fulcrum/internal/vars"
)

// openGeoIP2 reads the database of a geoip2 block, with the module's
// message for a file that does not open, at the block's line.
func openGeoIP2(g *config.GeoIP2, log *errlog.Logger, now func() time.Time) (*mmdb.File, error) {
	f, err := mmdb.OpenFile(g.File, mmdb.FileOptions{AutoReload: g.AutoReload, Now: now, OnReload: func(err error) {
		if log == nil {
			return
		}
		if err != nil {
			log.Logf(errlog.Error, "MMDB_open(%q) failed to reload - %v", g.File, err)
			return
		}
		log.Logf(errlog.Info, "Reload MMDB %q", g.File)
	}})
	if err != nil {
		if hint := mmdb.FileHint(err); hint != "" {
			return nil, fmt.Errorf("MMDB_open(%q) failed - %w in %s, %s", g.File, err, g.Pos, hint)
		}
		return nil, fmt.Errorf("MMDB_open(%q) failed - %w in %s", g.File, err, g.Pos)
	}
	return f, nil
}

// geoIP2Var is a geoip2 variable of http ready for requests.
type geoIP2Var struct {
	file      *mmdb.File
	v         *config.GeoIP2Var
	source    *vars.Template // nil: the client address
	proxies   geo.Proxies
	recursive bool
}

// defineGeoIP2 opens the http block's geoip2 databases and defines their
// variables (each computed once per request, when used). It returns the
// compiling of the source= templates, to run once every variable is
// defined.
func defineGeoIP2(comp *vars.Compiler, h *config.HTTP, log *errlog.Logger, now func() time.Time) ([]func() error, error) {
	var later []func() error
	for _, g := range h.GeoIP2 {
		f, err := openGeoIP2(g, log, now)
		if err != nil {
			return nil, err
		}
		for _, v := range g.Vars {
			if v.Metadata != "" {
				comp.DefineCached(v.Name, func(dst []byte, _ *vars.State) ([]byte, bool) {
					return f.AppendMetadata(dst, v.Metadata)
				})
				continue
			}
			gv := &geoIP2Var{file: f, v: v, proxies: geo.Proxies(h.GeoIP2Proxies), recursive: h.GeoIP2ProxyRecursive}
			comp.DefineCached(v.Name, gv.get)
			if v.Source != "" {
				later = append(later, func() error {
					t, err := comp.Compile(v.Source)
					if err != nil {
						return fmt.Errorf("%w in %s", err, v.Pos)
					}
					gv.source = t
					return nil
				})
			}
		}
	}
	return later, nil
}

// get is the variable's getter, as ngx_http_geoip2_variable: the value at
// the path of the record of the address; else the default, or not found.
func (gv *geoIP2Var) get(dst []byte, st *vars.State) ([]byte, bool) {
	start := len(dst)
	addr, ok := gv.addr(dst, st)
	dst = dst[:start]
	if ok {
		var found bool
		if dst, found = gv.file.Append(dst, addr, gv.v.Path); found {
			return dst, true
		}
	}
	if gv.v.Default != "" {
		return append(dst, gv.v.Default...), true
	}
	return dst, false
}

// addr is the address to look up: source='s value parsed as ngx_parse_addr
// (one that does not parse finds nothing), or the client's (after realip;
// nothing for a unix socket), replaced by X-Forwarded-For's when it is one
// of geoip2_proxy's networks. dst is scratch.
func (gv *geoIP2Var) addr(dst []byte, st *vars.State) (netip.Addr, bool) {
	if gv.source != nil {
		start := len(dst)
		dst = gv.source.Append(dst, st)
		return geo.ParseAddr(dst[start:])
	}
	if st.RemoteUnix || !st.Remote.IsValid() {
		return netip.Addr{}, false
	}
	addr := st.Remote.Addr().Unmap()
	if len(gv.proxies) > 0 && st.Header != nil {
		addr = forwardedAddr(gv.proxies, gv.recursive, addr, st.Header)
	}
	return addr, true
}

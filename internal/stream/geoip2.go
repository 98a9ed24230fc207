package stream

import (
	"fmt"
	"net/netip"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/geo"
	"fulcrum/internal/mmdb"
)

// openGeoIP2 reads the databases of the stream block's geoip2 blocks
// (ngx_stream_geoip2_module), in order, with the module's message for a
// file that does not open, at the block's line.
func openGeoIP2(cfg *config.Stream, log *errlog.Logger) ([]*mmdb.File, error) {
	files := make([]*mmdb.File, 0, len(cfg.GeoIP2))
	for _, g := range cfg.GeoIP2 {
		f, err := mmdb.OpenFile(g.File, mmdb.FileOptions{AutoReload: g.AutoReload, OnReload: func(err error) {
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
			err = at(fmt.Errorf("MMDB_open(%q) failed - %w", g.File, err), g.Pos)
			if hint := mmdb.FileHint(err); hint != "" {
				err = fmt.Errorf("%w, %s", err, hint)
			}
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// streamGeoIP2 is a geoip2 variable of stream compiled.
type streamGeoIP2 struct {
	file   *mmdb.File
	v      *config.GeoIP2Var
	source *template // nil: the client address
}

// defineGeoIP2 defines the variables of the geoip2 blocks, over their
// opened files (in the same order).
func (bv *blockVars) defineGeoIP2(cfg *config.Stream, files []*mmdb.File) error {
	for i, g := range cfg.GeoIP2 {
		for _, v := range g.Vars {
			sg := &streamGeoIP2{file: files[i], v: v}
			eval := sg.get
			if v.Metadata != "" {
				eval = sg.metadata
			}
			if err := bv.define(v.Name, false, eval, v.Pos); err != nil {
				return err
			}
			if v.Source == "" {
				continue
			}
			bv.later = append(bv.later, func() error {
				t, err := bv.c.compile(v.Source)
				if err != nil {
					return at(err, v.Pos)
				}
				sg.source = t
				return nil
			})
		}
	}
	return nil
}

// get is ngx_stream_geoip2_variable: the value at the path of the record
// of the client's address (after realip) or source='s, parsed as
// ngx_parse_addr; else the default, or not found.
func (sg *streamGeoIP2) get(d []byte, s *session) ([]byte, bool) {
	start := len(d)
	var addr netip.Addr
	ok := false
	if sg.source == nil {
		if s.remote.IsValid() {
			addr, ok = s.remote.Addr().Unmap(), true
		}
	} else {
		d = sg.source.appendValue(d, s)
		addr, ok = geo.ParseAddr(d[start:])
		d = d[:start]
	}
	if ok {
		var found bool
		if d, found = sg.file.Append(d, addr, sg.v.Path); found {
			return d, true
		}
	}
	if sg.v.Default != "" {
		return append(d, sg.v.Default...), true
	}
	return d, false
}

// metadata is a "$name metadata field" variable.
func (sg *streamGeoIP2) metadata(d []byte, _ *session) ([]byte, bool) {
	return sg.file.AppendMetadata(d, sg.v.Metadata)
}

package config

import (
	"strconv"
	"strings"
	"time"
)

// Memcached holds a level's memcached_* settings (ngx_http_memcached_module).
// The zero value is not nginx's default: defaultMemcached is.
type Memcached struct {
	// Pass, when set, answers the location's GET and HEAD requests with the
	// value memcached keeps under $memcached_key (memcached_pass; not
	// inherited).
	Pass *FastCGIPass
	// Bind is memcached_bind: the local address of connections to the
	// servers (its Addr empty: the system picks).
	Bind ProxyBind
	// BufferSize is memcached_buffer_size: the longest reply line
	// ("VALUE key flags length") fulcrum reads before it calls the reply
	// too big (nginx: the buffer that holds it).
	BufferSize int64
	// ConnectTimeout, SendTimeout and ReadTimeout are
	// memcached_connect_timeout, memcached_send_timeout and
	// memcached_read_timeout.
	ConnectTimeout, SendTimeout, ReadTimeout time.Duration
	// GzipFlag is memcached_gzip_flag: a reply whose flags share a bit with
	// it gets "Content-Encoding: gzip". 0 (the default) never looks at the
	// flags.
	GzipFlag uint64
	// NextUpstream, NextUpstreamTries and NextUpstreamTimeout are
	// memcached_next_upstream (error, timeout, invalid_response as
	// NextInvalidHeader, not_found as NextHTTP404, off) and its _tries and
	// _timeout (0: no limit).
	NextUpstream        NextUpstream
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// SocketKeepalive is memcached_socket_keepalive: SO_KEEPALIVE on the
	// connections, with the system's intervals.
	SocketKeepalive bool
}

// defaultMemcached are nginx's defaults for the memcached_* directives
// (ngx_http_memcached_merge_loc_conf; the buffer is a page).
func defaultMemcached() Memcached {
	return Memcached{
		BufferSize:     4 << 10,
		ConnectTimeout: 60 * time.Second, SendTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second,
		NextUpstream: NextError | NextTimeout,
	}
}

// memcachedNextUpstreamValues are memcached_next_upstream's values
// (ngx_http_memcached_next_upstream_masks) and the conditions they name.
var memcachedNextUpstreamValues = []struct {
	name string
	bit  NextUpstream
}{
	{"error", NextError}, {"timeout", NextTimeout}, {"invalid_response", NextInvalidHeader},
	{"not_found", NextHTTP404}, {"off", NextOff},
}

// memcachedNextUpstreamNames lists memcached_next_upstream's values, for
// the table's enum.
func memcachedNextUpstreamNames() []string {
	names := make([]string, len(memcachedNextUpstreamValues))
	for i, v := range memcachedNextUpstreamValues {
		names[i] = v.name
	}
	return names
}

// memcachedRules are the settings rules of the memcached_* directives.
var memcachedRules = func() []settingRule {
	m := func(s *Settings) *Memcached { return &s.Memcached }
	return []settingRule{
		{names: []string{"memcached_pass"}, find: findProxyPass, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			p, err := b.cgiPass(dirs[0])
			st.Memcached.Pass = p
			return err
		}},
		{names: []string{"memcached_bind"}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			scratch := &Settings{}
			err := applyProxyBind(b, scratch, dirs, at)
			st.Memcached.Bind = scratch.ProxyBind
			return err
		}},
		sizeRule("memcached_buffer_size", func(s *Settings) *int64 { return &m(s).BufferSize }),
		msecRule("memcached_connect_timeout", func(s *Settings) *time.Duration { return &m(s).ConnectTimeout }),
		msecRule("memcached_send_timeout", func(s *Settings) *time.Duration { return &m(s).SendTimeout }),
		msecRule("memcached_read_timeout", func(s *Settings) *time.Duration { return &m(s).ReadTimeout }),
		{names: []string{"memcached_gzip_flag"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			d := dirs[0]
			v, err := strconv.ParseUint(d.Args[0], 10, 63)
			if err != nil {
				return errorf(d.Pos, `"%s" directive invalid number`, d.Name)
			}
			st.Memcached.GzipFlag = v
			return nil
		}},
		{names: []string{"memcached_next_upstream"}, apply: applyMemcachedNextUpstream},
		intRule("memcached_next_upstream_tries", func(s *Settings) *int { return &m(s).NextUpstreamTries }),
		msecRule("memcached_next_upstream_timeout", func(s *Settings) *time.Duration { return &m(s).NextUpstreamTimeout }),
		flagRule("memcached_socket_keepalive", func(s *Settings) *bool { return &m(s).SocketKeepalive }),
	}
}()

// applyMemcachedNextUpstream reads the nearest level's
// memcached_next_upstream lines as nginx's ngx_conf_set_bitmask_slot does
// (a value repeated is warned about). "off" with other values is an error,
// as for proxy_next_upstream (nginx lets "off" win silently).
func applyMemcachedNextUpstream(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var set NextUpstream
	for _, d := range dirs {
		for _, a := range d.Args {
			var bit NextUpstream
			for _, v := range memcachedNextUpstreamValues {
				if strings.EqualFold(v.name, a) {
					bit = v.bit
				}
			}
			if set&bit != 0 {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			set |= bit
		}
		if set&NextOff != 0 && set != NextOff {
			return hintf(d.Pos, `"off" turns retries off; list conditions without it, or write "off" alone`,
				`"%s off" cannot be combined with other values`, d.Name)
		}
	}
	st.Memcached.NextUpstream = set
	return nil
}

package config

import "time"

// CoreFlags are the http core settings that change what clients get from
// the static module's filters, the access phase and the connection's end
// (ngx_http_core_module.c's etag, if_modified_since, max_ranges,
// auth_delay, chunked_transfer_encoding, log_not_found, log_subrequest
// and the closing directives). Settings embeds it. Its zero value is nginx's defaults but
// for Closing's times (defaultCoreFlags sets them), so that a Settings
// built by hand behaves as nginx's: hence the flags that name what "off"
// turns off.
type CoreFlags struct {
	// ETagOff is "etag off" (default on: static files, gzip_static's and
	// flv's answers get nginx's ETag). Off sends none: If-None-Match and
	// If-Match then match only "*", and an If-Range with an entity tag
	// never lets the ranges apply.
	ETagOff bool
	// IfModifiedSince (if_modified_since, default exact) is how the
	// not-modified filter compares If-Modified-Since with a response's
	// Last-Modified (static files, cached responses, empty_gif).
	IfModifiedSince IMSMode
	// MaxRanges (max_ranges above 0) is how many ranges a byte-range
	// request may ask for before it gets the whole response (200); 0, the
	// default, is no limit. RangesOff is "max_ranges 0": no ranges, and no
	// Accept-Ranges.
	MaxRanges int
	RangesOff bool
	// AuthDelay (auth_delay, default 0) delays the 401 the access phase
	// answers with (auth_basic, auth_request, satisfy any), as nginx's
	// ngx_http_core_auth_delay does.
	AuthDelay time.Duration
	// ChunkedOff is "chunked_transfer_encoding off" (default on: an
	// HTTP/1.1 response of unknown length goes out chunked). Off sends such
	// a body up to the connection's close instead (no keep-alive), as
	// nginx's chunked filter turns keepalive off.
	ChunkedOff bool
	// LogNotFoundOff is "log_not_found off" (default on: the error log
	// gets a line for a file or index file that does not exist, the
	// static, index and flv modules' 404s).
	LogNotFoundOff bool
	// LogSubrequest is "log_subrequest on" (default off): a subrequest
	// (auth_request, mirror, add_before_body and add_after_body, an SSI
	// include) served at this level writes an access log line of its own
	// when it ends, through this level's access_log. As in nginx
	// (ngx_http_finalize_request reads the subrequest's clcf), the level
	// that served the subrequest decides, not the main request's.
	LogSubrequest bool
	// Closing is how the connection ends after a response.
	Closing Closing
	// NoDelayOff is "tcp_nodelay off" (default on): the client's socket
	// has TCP_NODELAY cleared (Nagle's algorithm on) for a request to the
	// location, as nginx never sets it then; on, it stays set.
	NoDelayOff bool
	// KeepaliveDisable is keepalive_disable: the browsers whose requests
	// close the connection after their response.
	KeepaliveDisable KeepaliveDisable
	// MSIEPaddingOff is "msie_padding off" (default on: fulcrum's own
	// 4xx and 5xx pages get nginx's padding comments for Internet
	// Explorer and Chrome, whose "friendly" error pages would replace a
	// page shorter than 512 bytes).
	MSIEPaddingOff bool
	// MSIERefresh is "msie_refresh on" (default off): fulcrum's own 301
	// and 302 answers go to Internet Explorer as a 200 page that refreshes
	// to the Location.
	MSIERefresh bool
}

// KeepaliveDisable is keepalive_disable's list of browsers as bits. Its
// zero value is nginx's default, "msie6".
type KeepaliveDisable uint8

// The keepalive_disable bits.
const (
	// KeepaliveKeepMSIE6: msie6 is not listed ("none", or "safari" alone),
	// so an old Internet Explorer's POST keeps the connection.
	KeepaliveKeepMSIE6 KeepaliveDisable = 1 << iota
	// KeepaliveCloseSafari: safari is listed, so every request of Safari on
	// macOS closes the connection.
	KeepaliveCloseSafari
)

// keepaliveDisableNames are keepalive_disable's values, in nginx's order
// (ngx_http_core_keepalive_disable).
var keepaliveDisableNames = []string{"none", "msie6", "safari"}

// applyKeepaliveDisable reads keepalive_disable as nginx's bitmask slot
// does: values compared without case, a repeated one warned about.
func applyKeepaliveDisable(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var seen [3]bool
	for _, d := range dirs {
		for _, a := range d.Args {
			i := indexFold(keepaliveDisableNames, a)
			if i < 0 {
				return hintf(d.Pos, "use none, msie6, safari or msie6 safari", `invalid value "%s"`, a)
			}
			if seen[i] {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			seen[i] = true
		}
	}
	var k KeepaliveDisable
	if !seen[1] {
		k |= KeepaliveKeepMSIE6
	}
	if seen[2] {
		k |= KeepaliveCloseSafari
	}
	st.KeepaliveDisable = k
	return nil
}

// IMSMode is if_modified_since's value (nginx's NGX_HTTP_IMS_*).
type IMSMode uint8

// The if_modified_since modes.
const (
	// IMSExact (the default): a 304 only for the exact Last-Modified date.
	IMSExact IMSMode = iota
	// IMSOff: If-Modified-Since never makes a 304; a request that has it
	// gets the response even when If-None-Match matches.
	IMSOff
	// IMSBefore: a 304 for any date at or after Last-Modified.
	IMSBefore
)

// Closing is what the connection does when it closes after a response
// (ngx_http_finalize_connection, ngx_http_set_lingering_close,
// ngx_http_free_request).
type Closing struct {
	// Lingering is lingering_close (default on).
	Lingering LingerMode
	// LingeringTime (lingering_time, default 30s) bounds the whole
	// lingering; LingeringTimeout (lingering_timeout, default 5s) the wait
	// for each read.
	LingeringTime, LingeringTimeout time.Duration
	// ResetTimedout (reset_timedout_connection, default off) resets a
	// connection closed by a timeout (client_header_timeout,
	// client_body_timeout, send_timeout) or by "return 444" (SO_LINGER 0:
	// the client gets RST) instead of closing it normally.
	ResetTimedout bool
}

// LingerMode is lingering_close's value (NGX_HTTP_LINGERING_*).
type LingerMode uint8

// The lingering_close modes.
const (
	// LingerOn (the default): linger when the client may still be sending
	// (a request body not read to its end, bytes after the request).
	LingerOn LingerMode = iota
	// LingerOff closes at once.
	LingerOff
	// LingerAlways lingers after every response that closes the connection.
	LingerAlways
)

// defaultCoreFlags are nginx's defaults.
func defaultCoreFlags() CoreFlags {
	return CoreFlags{Closing: Closing{LingeringTime: 30 * time.Second, LingeringTimeout: 5 * time.Second}}
}

// coreFlagRules read the directives of CoreFlags.
func coreFlagRules() []settingRule {
	return []settingRule{
		offRule("etag", func(s *Settings) *bool { return &s.ETagOff }),
		{names: []string{"if_modified_since"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.IfModifiedSince = map[string]IMSMode{"off": IMSOff, "exact": IMSExact, "before": IMSBefore}[dirs[0].Args[0]] // the table's kindEnum checked it
			return nil
		}},
		{names: []string{"max_ranges"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			n, err := parseInt(dirs[0].Args[0])
			st.MaxRanges, st.RangesOff = n, n == 0
			return err
		}},
		msecRule("auth_delay", func(s *Settings) *time.Duration { return &s.AuthDelay }),
		offRule("chunked_transfer_encoding", func(s *Settings) *bool { return &s.ChunkedOff }),
		offRule("log_not_found", func(s *Settings) *bool { return &s.LogNotFoundOff }),
		flagRule("log_subrequest", func(s *Settings) *bool { return &s.LogSubrequest }),
		{names: []string{"lingering_close"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Closing.Lingering = map[string]LingerMode{"on": LingerOn, "off": LingerOff, "always": LingerAlways}[dirs[0].Args[0]]
			return nil
		}},
		msecRule("lingering_time", func(s *Settings) *time.Duration { return &s.Closing.LingeringTime }),
		msecRule("lingering_timeout", func(s *Settings) *time.Duration { return &s.Closing.LingeringTimeout }),
		flagRule("reset_timedout_connection", func(s *Settings) *bool { return &s.Closing.ResetTimedout }),
		offRule("tcp_nodelay", func(s *Settings) *bool { return &s.NoDelayOff }),
		{names: []string{"keepalive_disable"}, apply: applyKeepaliveDisable},
		offRule("msie_padding", func(s *Settings) *bool { return &s.MSIEPaddingOff }),
		flagRule("msie_refresh", func(s *Settings) *bool { return &s.MSIERefresh }),
	}
}

// offRule reads an on|off flag into a field that is true for "off".
func offRule(name string, field func(*Settings) *bool) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseFlag(dirs[0].Args[0])
		*field(st) = !v
		return err
	}}
}

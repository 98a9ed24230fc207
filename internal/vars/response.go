package vars

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Getters of the connection, routing, response, upstream and clock
// variables.

func appendAddr(dst []byte, ap netip.AddrPort) []byte {
	if a := ap.Addr(); a.IsValid() {
		return a.AppendTo(dst)
	}
	return dst
}

// appendPort appends ap's port; 0 appends nothing, as nginx prints an
// unknown port.
func appendPort(dst []byte, ap netip.AddrPort) []byte {
	if p := ap.Port(); p != 0 {
		return strconv.AppendUint(dst, uint64(p), 10)
	}
	return dst
}

func getRemoteAddr(dst []byte, st *State) ([]byte, bool) {
	return appendRemote(dst, st), true
}

// RemoteAddr is $remote_addr as a string, for error log lines: the client's
// address, or "unix:" for a client on a unix socket.
func (st *State) RemoteAddr() string { return string(appendRemote(nil, st)) }

// Referer returns the value of the request's first Referer field and whether
// it had one: what nginx writes as `referrer: "..."` at the end of a request's
// error log lines (ngx_http_log_error_handler).
func (st *State) Referer() (string, bool) {
	if st.Header == nil {
		return "", false
	}
	v, _, ok := st.Header.Lookup("Referer", 0)
	return v, ok
}

// appendRemote appends $remote_addr: the client's address, or nginx's
// "unix:" for a client on a unix socket whose address no realip rule set.
func appendRemote(dst []byte, st *State) []byte {
	if st.RemoteUnix && !st.Remote.Addr().IsValid() {
		return append(dst, "unix:"...)
	}
	return appendAddr(dst, st.Remote)
}

func getRemotePort(dst []byte, st *State) ([]byte, bool) {
	return appendPort(dst, st.Remote), true
}

// getRealIPRemoteAddr is the connection's own client address, before
// realip (ngx_http_realip_module's $realip_remote_addr).
func getRealIPRemoteAddr(dst []byte, st *State) ([]byte, bool) {
	if !st.PeerAddr.IsValid() {
		return appendRemote(dst, st), true
	}
	return appendAddr(dst, st.PeerAddr), true
}

// getRealIPRemotePort is the connection's own client port, before realip.
func getRealIPRemotePort(dst []byte, st *State) ([]byte, bool) {
	if !st.PeerAddr.IsValid() {
		return appendPort(dst, st.Remote), true
	}
	return appendPort(dst, st.PeerAddr), true
}

// proxyProtocolGetter makes a $proxy_protocol_* getter: not found when the
// connection has no PROXY protocol addresses, as in nginx.
func proxyProtocolGetter(get func(dst []byte, pp *ProxyProtocol) []byte) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.ProxyProtocol == nil {
			return dst, false
		}
		return get(dst, st.ProxyProtocol), true
	}
}

// proxyProtocolTLVGetter is $proxy_protocol_tlv_NAME: not found without a
// PROXY protocol header with addresses, or when the header has no such TLV;
// a lookup error is not found too, and its line goes to the request's
// VariableErrors (see TLVSource).
func proxyProtocolTLVGetter(name string) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.ProxyProtocol == nil || st.ProxyProtocol.TLVs == nil {
			return dst, false
		}
		v, found, err := st.ProxyProtocol.TLVs.TLV(name)
		if err != nil {
			if msg, ok := tlvErrorLine(err); ok {
				st.logVariable("proxy_protocol_tlv_"+name, msg)
			}
			return dst, false
		}
		if !found {
			return dst, false
		}
		return append(dst, v...), true
	}
}

// tlvErrorLine is the line nginx logs at error level for a TLVSource's
// error, and false for an error it logs nothing for (a Quiet one).
func tlvErrorLine(err error) (string, bool) {
	var q interface{ Quiet() bool }
	if errors.As(err, &q) && q.Quiet() {
		return "", false
	}
	return err.Error(), true
}

// appendPortNumber appends a port; 0 appends nothing, as nginx prints it.
func appendPortNumber(dst []byte, p uint16) []byte {
	if p == 0 {
		return dst
	}
	return strconv.AppendUint(dst, uint64(p), 10)
}

func getServerAddr(dst []byte, st *State) ([]byte, bool) {
	return appendAddr(dst, st.Local), true
}

func getServerPort(dst []byte, st *State) ([]byte, bool) {
	return appendPort(dst, st.Local), true
}

// getBinaryRemoteAddr is the client address in network byte order: 4
// bytes for IPv4, 16 for IPv6.
func getBinaryRemoteAddr(dst []byte, st *State) ([]byte, bool) {
	a := st.Remote.Addr()
	switch {
	case a.Is4():
		b := a.As4()
		return append(dst, b[:]...), true
	case a.Is6():
		b := a.As16()
		return append(dst, b[:]...), true
	}
	return dst, true
}

// getPipe is nginx's $pipe: "p" for a pipelined request, else ".".
func getPipe(dst []byte, st *State) ([]byte, bool) {
	if st.Pipelined {
		return append(dst, 'p'), true
	}
	return append(dst, '.'), true
}

// tcpInfoGetter returns the getter of one of nginx's $tcpinfo_* variables:
// a field of the client socket's TCP_INFO, read when evaluated; not found
// without one.
func tcpInfoGetter(field func(TCPInfo) uint32) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.Socket == nil {
			return dst, false
		}
		ti, ok := st.Socket.TCPInfo()
		if !ok {
			return dst, false
		}
		return strconv.AppendUint(dst, uint64(field(ti)), 10), true
	}
}

// getRequestCompletion is nginx's $request_completion: "OK" when the
// response went out whole, else empty.
func getRequestCompletion(dst []byte, st *State) ([]byte, bool) {
	if st.Completed {
		dst = append(dst, "OK"...)
	}
	return dst, true
}

func getConnection(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendUint(dst, st.Conn, 10), true
}

func getConnectionRequests(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendUint(dst, st.ConnRequests, 10), true
}

// connectionsGetter returns the getter of one of the stub_status module's
// $connections_* variables: the count pick takes from State.Connections,
// read at evaluation time; not found without a counter.
func connectionsGetter(pick func(ConnectionCounts) int64) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.Connections == nil {
			return dst, false
		}
		return strconv.AppendInt(dst, pick(st.Connections.ConnectionCounts()), 10), true
	}
}

func getServerName(dst []byte, st *State) ([]byte, bool) {
	return append(dst, st.ServerName...), true
}

// getStatus prints the status with at least three digits ("%03ui"), so a
// request that got no response logs "000".
func getStatus(dst []byte, st *State) ([]byte, bool) {
	s := max(st.Status, 0)
	if s < 1000 {
		return append(dst, byte('0'+s/100), byte('0'+s/10%10), byte('0'+s%10)), true
	}
	return strconv.AppendInt(dst, int64(s), 10), true
}

// getSentConnection is nginx's $sent_http_connection, which it computes
// rather than reads: "upgrade" for a 101, else "keep-alive" or "close" as the
// connection is kept; on HTTP/1.x always "close" once the request is over
// (State.Logging). Before that, the Connection field sent.
func getSentConnection(dst []byte, st *State) ([]byte, bool) {
	switch {
	case st.Status == 101:
		return append(dst, "upgrade"...), true
	case st.Logging && st.Proto != "HTTP/2.0":
		return append(dst, "close"...), true
	}
	return appendHeader(dst, st.SentHeader, "Connection", ", ")
}

// getSentKeepAlive is nginx's $sent_http_keep_alive: the Keep-Alive field
// sent (keepalive_timeout's second parameter), not found on HTTP/1.x once
// the request is over (State.Logging), as nginx computes it from
// r->keepalive.
func getSentKeepAlive(dst []byte, st *State) ([]byte, bool) {
	if st.Logging && st.Proto != "HTTP/2.0" {
		return dst, false
	}
	return appendHeader(dst, st.SentHeader, "Keep-Alive", ", ")
}

// getSentTransferEncoding is nginx's $sent_http_transfer_encoding, which
// it computes from r->chunked rather than reads: "chunked" when the body
// went out chunked (State.SentChunked), else not found.
func getSentTransferEncoding(dst []byte, st *State) ([]byte, bool) {
	if !st.SentChunked {
		return dst, false
	}
	return append(dst, "chunked"...), true
}

func getBodyBytesSent(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendInt(dst, max(st.BodyBytesSent, 0), 10), true
}

func getBytesSent(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendInt(dst, max(st.BytesSent, 0), 10), true
}

func getProxyHost(dst []byte, st *State) ([]byte, bool) {
	if st.ProxyHost == "" {
		return dst, false
	}
	return append(dst, st.ProxyHost...), true
}

func getProxyPort(dst []byte, st *State) ([]byte, bool) {
	if st.ProxyPort == "" {
		return dst, false
	}
	return append(dst, st.ProxyPort...), true
}

func getCacheStatus(dst []byte, st *State) ([]byte, bool) {
	if st.CacheStatus == "" {
		return dst, false
	}
	return append(dst, st.CacheStatus...), true
}

// upstreamVar covers the list-shaped $upstream_* variables.
func upstreamVar(name string) Getter {
	switch name {
	case "upstream_addr":
		return attemptList(appendAttemptAddr)
	case "upstream_status":
		return attemptList(appendAttemptStatus)
	case "upstream_response_time":
		return attemptList(func(dst []byte, a *Attempt) []byte { return appendMillis(dst, a.ResponseTime) })
	case "upstream_connect_time":
		return attemptList(func(dst []byte, a *Attempt) []byte { return appendMillis(dst, a.ConnectTime) })
	case "upstream_queue_time":
		return attemptList(func(dst []byte, a *Attempt) []byte { return appendMillis(dst, a.QueueTime) })
	case "upstream_header_time":
		return attemptList(func(dst []byte, a *Attempt) []byte { return appendMillis(dst, a.HeaderTime) })
	case "upstream_response_length":
		return attemptList(func(dst []byte, a *Attempt) []byte { return strconv.AppendInt(dst, a.ResponseLength, 10) })
	case "upstream_bytes_received":
		return attemptList(func(dst []byte, a *Attempt) []byte { return strconv.AppendInt(dst, a.BytesReceived, 10) })
	case "upstream_bytes_sent":
		return attemptList(func(dst []byte, a *Attempt) []byte { return strconv.AppendInt(dst, a.BytesSent, 10) })
	}
	return nil
}

// attemptList returns a getter that prints one entry per attempt joined by
// ", ", and by " : " before the first attempt of another proxying
// (Attempt.NewGroup), not found when no upstream was involved.
func attemptList(entry func(dst []byte, a *Attempt) []byte) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if len(st.Upstreams) == 0 {
			return dst, false
		}
		for i := range st.Upstreams {
			switch {
			case st.Upstreams[i].NewGroup:
				dst = append(dst, " : "...)
			case i > 0:
				dst = append(dst, ", "...)
			}
			dst = entry(dst, &st.Upstreams[i])
		}
		return dst, true
	}
}

func appendAttemptAddr(dst []byte, a *Attempt) []byte {
	if a.Addr.IsValid() {
		return a.Addr.AppendTo(dst)
	}
	return append(dst, a.Name...)
}

func appendAttemptStatus(dst []byte, a *Attempt) []byte {
	if a.Status <= 0 {
		return append(dst, '-')
	}
	return strconv.AppendInt(dst, int64(a.Status), 10)
}

// appendMillis prints d as seconds with millisecond precision ("0.012"),
// "-" when d is negative (not measured).
func appendMillis(dst []byte, d time.Duration) []byte {
	if d < 0 {
		return append(dst, '-')
	}
	return appendSeconds(dst, d.Milliseconds())
}

// appendSeconds prints ms milliseconds as nginx's "%T.%03M".
func appendSeconds(dst []byte, ms int64) []byte {
	dst = strconv.AppendInt(dst, ms/1000, 10)
	ms %= 1000
	return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// upstreamCookieGetter returns the getter of $upstream_cookie_NAME: the
// value of the first Set-Cookie of the upstream response that sets name
// (ngx_http_parse_set_cookie_lines).
func upstreamCookieGetter(name string) Getter {
	if name == "" {
		return getNotFound
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.UpstreamHeader == nil {
			return dst, false
		}
		line, next, ok := st.UpstreamHeader.Lookup("Set-Cookie", 0)
		for ok {
			if v, found := findSetCookie(line, name); found {
				return append(dst, v...), true
			}
			line, next, ok = st.UpstreamHeader.Lookup("Set-Cookie", next)
		}
		return dst, false
	}
}

func findSetCookie(line, name string) (string, bool) {
	if len(name) >= len(line) || !strings.EqualFold(line[:len(name)], name) {
		return "", false
	}
	s := skipSpaces(line, len(name))
	if s == len(line) || line[s] != '=' {
		return "", false
	}
	s = skipSpaces(line, s+1)
	end := s
	for end < len(line) && line[end] != ';' {
		end++
	}
	return line[s:end], true
}

// captureGetter returns the getter of $n: group n of the last regex
// match; not found when the expression had fewer groups, empty when the
// group did not participate.
func captureGetter(n int) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		v, ok := st.Captures.group(n)
		if !ok {
			return dst, false
		}
		return append(dst, v...), true
	}
}

func (c *Captures) group(i int) (string, bool) {
	if 2*i+1 >= len(c.Index) {
		return "", false
	}
	s, e := c.Index[2*i], c.Index[2*i+1]
	if s < 0 || e < s || e > len(c.Subject) {
		return "", true
	}
	return c.Subject[s:e], true
}

// declaredGetter returns the getter of a declared name: the named capture
// of the last match, else the SetVar value, else not found.
func declaredGetter(name string) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if v, ok := st.namedCapture(name); ok {
			return append(dst, v...), true
		}
		return dst, false
	}
}

// namedCapture is the value a named capture of name was given in this
// request: the last match's group, else an earlier match's (SetCaptures).
func (st *State) namedCapture(name string) (string, bool) {
	for i, n := range st.Captures.Names {
		if n != "" && strings.EqualFold(n, name) {
			if v, ok := st.Captures.group(i); ok {
				return v, true
			}
		}
	}
	return st.lookupVar(name)
}

// captureFirst makes a block's variable g whose name a named capture
// declares (see [Compiler.Declare]) answer with the capture once a regex
// gave it a value, as nginx's ngx_http_regex_exec stores the capture in the
// variable's indexed value, cacheable, which later reads return instead of
// running the map (nginx 1.22.1: "rewrite ^(?<map>.*) /" then "$map" is the
// URI even when a map defines $map, volatile or not).
func (c *Compiler) captureFirst(lname string, g Getter) Getter {
	if prev, declared := c.extra[lname]; !declared || prev != nil {
		return g
	}
	return func(dst []byte, st *State) ([]byte, bool) {
		if v, ok := st.namedCapture(lname); ok {
			return append(dst, v...), true
		}
		return g(dst, st)
	}
}

func pidGetter(pid int) Getter {
	return constGetter(strconv.Itoa(pid))
}

func (c *Compiler) getMsec(dst []byte, _ *State) ([]byte, bool) {
	return appendSeconds(dst, c.now().UnixMilli()), true
}

// getRequestTime is the time since State.Start, clamped at zero.
func (c *Compiler) getRequestTime(dst []byte, st *State) ([]byte, bool) {
	var ms int64
	if !st.Start.IsZero() {
		ms = max(c.now().Sub(st.Start).Milliseconds(), 0)
	}
	return appendSeconds(dst, ms), true
}

// getConnectionTime is the time since State.ConnStart, clamped at zero, in
// $request_time's format (nginx 1.19.10's $connection_time).
func (c *Compiler) getConnectionTime(dst []byte, st *State) ([]byte, bool) {
	var ms int64
	if !st.ConnStart.IsZero() {
		ms = max(c.now().Sub(st.ConnStart).Milliseconds(), 0)
	}
	return appendSeconds(dst, ms), true
}

// secondText returns the getter of a time variable printed by format to the
// second ($time_local, $time_iso8601). Every access log line prints one, so
// the getter keeps the text of the last second it printed and prints again
// only when the second or the location changes, as nginx keeps its cached
// log times (ngx_cached_http_log_time).
func (c *Compiler) secondText(format func(dst []byte, t time.Time) []byte) Getter {
	var last atomic.Pointer[timeText]
	return func(dst []byte, _ *State) ([]byte, bool) {
		t := c.now()
		sec, loc := t.Unix(), t.Location()
		if p := last.Load(); p != nil && p.sec == sec && p.loc == loc {
			return append(dst, p.text...), true
		}
		mark := len(dst)
		dst = format(dst, t)
		last.Store(&timeText{sec: sec, loc: loc, text: string(dst[mark:])})
		return dst, true
	}
}

// timeText is a time variable's text for one second in one location.
type timeText struct {
	sec  int64
	loc  *time.Location
	text string
}

// appendTimeLocal prints t as nginx's log time, "%02d/%s/%d:%02d:%02d:%02d
// %c%02i%02i": 25/Nov/2026:01:24:22 +0000. It is time.AppendFormat with
// "02/Jan/2006:15:04:05 -0700", written out because it runs for every log
// line.
func appendTimeLocal(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = append2(dst, day)
	dst = append(dst, '/')
	dst = append(dst, month.String()[:3]...)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(year), 10)
	dst = append(dst, ':')
	dst = appendClock(dst, hour, minute, sec)
	dst = append(dst, ' ')
	return appendZone(dst, t, false)
}

// appendTimeISO8601 prints t as nginx's $time_iso8601,
// "%4d-%02d-%02dT%02d:%02d:%02d%c%02i:%02i": 2026-11-25T01:24:22+00:00
// (never "Z").
func appendTimeISO8601(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = strconv.AppendInt(dst, int64(year), 10)
	dst = append(dst, '-')
	dst = append2(dst, int(month))
	dst = append(dst, '-')
	dst = append2(dst, day)
	dst = append(dst, 'T')
	dst = appendClock(dst, hour, minute, sec)
	return appendZone(dst, t, true)
}

func appendClock(dst []byte, hour, minute, sec int) []byte {
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, minute)
	dst = append(dst, ':')
	return append2(dst, sec)
}

// appendZone prints t's UTC offset as +hhmm, or +hh:mm with colon.
func appendZone(dst []byte, t time.Time, colon bool) []byte {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	off /= 60
	dst = append(dst, sign)
	dst = append2(dst, off/60)
	if colon {
		dst = append(dst, ':')
	}
	return append2(dst, off%60)
}

// append2 prints 0 <= n < 100 with two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10%10), byte('0'+n%10))
}

// getLimitConnStatus is $limit_conn_status: not found until limit_conn has
// looked at the request.
func getLimitConnStatus(dst []byte, st *State) ([]byte, bool) {
	if st.LimitConn == LimitConnNone {
		return dst, false
	}
	return append(dst, st.LimitConn.String()...), true
}

// getLimitReqStatus is $limit_req_status: not found until limit_req has
// looked at the request.
func getLimitReqStatus(dst []byte, st *State) ([]byte, bool) {
	if st.LimitReq == LimitReqNone {
		return dst, false
	}
	return append(dst, st.LimitReq.String()...), true
}

// getGzipRatio is $gzip_ratio: the response body's size over its compressed
// size, as nginx formats it (two decimals, the third rounding: "2.13"); not
// found when the response was not compressed.
func getGzipRatio(dst []byte, st *State) ([]byte, bool) {
	in, out := st.GzipIn, st.GzipOut
	if out <= 0 || in < 0 {
		return dst, false
	}
	whole, frac := in/out, in*100/out%100
	if in*1000/out%10 > 4 {
		frac++
		if frac > 99 {
			whole++
			frac = 0
		}
	}
	dst = strconv.AppendInt(dst, whole, 10)
	dst = append(dst, '.')
	if frac < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, frac, 10), true
}

// tlsGetter reads one field of the connection's TLS session. As nginx's
// $ssl_* variables (ngx_http_ssl_variable), it is not found on a plain
// connection, nor when the value is empty ($ssl_server_name without SNI,
// $ssl_alpn_protocol without ALPN).
func tlsGetter(field func(*TLS) string) Getter {
	return tlsAppender(func(dst []byte, t *TLS) []byte { return append(dst, field(t)...) })
}

// tlsAppender is tlsGetter for a value appended in place.
func tlsAppender(value func([]byte, *TLS) []byte) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if st.TLS == nil {
			return dst, false
		}
		out := value(dst, st.TLS)
		return out, len(out) > len(dst)
	}
}

package vars

import (
	"net/netip"
	"strings"
	"time"
)

// Headers is a read-only view of one header section: the client's request
// headers, the upstream's response headers, or the response headers sent to
// the client. Implementations must be cheap to call and must not allocate.
//
// vars copies every value it reads before the evaluating call returns and
// never retains a Headers value beyond [State.Reset], so an engine may
// return strings that alias its own pooled buffers.
type Headers interface {
	// Lookup returns the first field named name at or after position from
	// (0 starts at the beginning), its value, and the position from which to
	// continue looking for further fields of the same name; ok is false when
	// there is none. Names compare ASCII case-insensitively. vars always
	// passes name in canonical form (as net/textproto.CanonicalMIMEHeaderKey
	// writes it, e.g. "X-Forwarded-For"), so a map keyed by canonical names
	// can answer with a single index. Fields of one name are reported in the
	// order they were received.
	Lookup(name string, from int) (value string, next int, ok bool)
}

// Compile-time checks that the adapters implement Headers.
var (
	_ Headers = HeaderMap(nil)
	_ Headers = HeaderList(nil)
)

// HeaderMap adapts a map keyed by canonical header names, such as net/http's
// Header, to [Headers]: vars.HeaderMap(req.Header) is a free conversion.
// Keys that are not canonical are not found.
type HeaderMap map[string][]string

// Lookup implements [Headers]; the position is the index into the value
// slice of name.
func (m HeaderMap) Lookup(name string, from int) (string, int, bool) {
	vs := m[name]
	if from < 0 || from >= len(vs) {
		return "", from, false
	}
	return vs[from], from + 1, true
}

// Field is one header field line.
type Field struct {
	Name  string
	Value string
}

// HeaderList adapts an ordered list of field lines to [Headers]; names
// compare case-insensitively. It suits an engine that keeps fields in
// arrival order, and tests.
type HeaderList []Field

// Lookup implements [Headers]; the position is an index into the list.
func (l HeaderList) Lookup(name string, from int) (string, int, bool) {
	for i := max(from, 0); i < len(l); i++ {
		if strings.EqualFold(l[i].Name, name) {
			return l[i].Value, i + 1, true
		}
	}
	return "", len(l), false
}

// Request is the engine-neutral view of the client's request that the
// engine fills once, when the request head has been read. Strings may alias
// the engine's buffers; they must stay valid until [State.Reset].
type Request struct {
	// Method is the request method ($request_method); empty means not found.
	Method string
	// RequestURI is the request target exactly as received, query included
	// ($request_uri).
	RequestURI string
	// Path is the normalised, percent-decoded path used for location
	// matching ($uri, $document_uri).
	Path string
	// Args is the raw query string without the '?' ($args, $query_string,
	// $arg_NAME). $args is "not found" when Args is empty, whether or not
	// RequestURI holds a bare '?', as in nginx, unless ArgsFound.
	Args string
	// ArgsFound makes an empty Args a found $args (logged as "", not "-"):
	// nginx's r->args then points somewhere with length 0, as after a
	// try_files fallback to a URI, an error_page or X-Accel-Redirect URI
	// with a '?', a rewrite that gives arguments, or one ending in '?' of a
	// request that had arguments.
	ArgsFound bool
	// Host is the host the client asked for, as received: the authority of
	// an absolute-form request target if there was one, else the Host header
	// value, else "". $host strips the port and a trailing dot and lowercases
	// it on output, falling back to ServerName when it is empty.
	Host string
	// Scheme is "http" or "https" ($scheme); empty means "http".
	Scheme string
	// Proto is the protocol version as in the request line, e.g. "HTTP/1.1"
	// ($server_protocol); empty means not found.
	Proto string
	// RequestLine is the request line as received, without CRLF
	// ($request). When empty, $request is Method, RequestURI and Proto
	// joined by single spaces.
	RequestLine string
	// EmptyRequestLine makes an empty RequestLine $request's value (found,
	// empty) instead of one composed: a client that sent only empty lines
	// before it closed, which nginx logs as "".
	EmptyRequestLine bool
	// Header is the client's request header section; nil means none.
	Header Headers
	// Fields is the same section as a list, in the order the client sent
	// it, with names spelled as sent: what the proxy forwards, as nginx
	// does. Nil when the request came without that order (then the proxy
	// uses Header).
	Fields HeaderList
	// UnderscoredFields says Fields may hold a name with '_' that the request
	// kept (underscores_in_headers on, or ignore_invalid_headers off):
	// $http_NAME then reads Fields, where '_' in the variable matches '-' or
	// '_' in a name, as in nginx. False: Header answers alone.
	UnderscoredFields bool
	// Remote is the client's address ($remote_addr, $remote_port); the zero
	// value prints as empty, or as nginx's "unix:" when RemoteUnix is set.
	Remote netip.AddrPort
	// RemoteUnix says the client came over a unix socket, so it has no
	// address.
	RemoteUnix bool
	// PeerAddr is the client connection's own address, which realip does
	// not change ($realip_remote_addr, $realip_remote_port); zero means
	// Remote's (and RemoteUnix's).
	PeerAddr netip.AddrPort
	// ProxyProtocol is what the connection's PROXY protocol header said
	// ($proxy_protocol_addr, _port, _server_addr, _server_port); nil when
	// the address does not read one or the header gave no addresses.
	ProxyProtocol *ProxyProtocol
	// Local is the address that accepted the connection ($server_addr,
	// $server_port).
	Local netip.AddrPort
	// Length is the number of bytes read from the client for this request:
	// request line, header and body ($request_length). The engine keeps it
	// current.
	Length int64
	// ChunkedLength is the sum of the chunk sizes of a chunked request
	// body read (or 0 once discarded), valid when ChunkedRead: nginx's
	// $content_length for a request without Content-Length.
	ChunkedLength int64
	ChunkedRead   bool
	// BodyCut says a body that streamed to an upstream as it arrived
	// ended in an error before its end (nginx's r->reading_body, still
	// set): a chunked body's $content_length is then not found, as nginx
	// 1.22.1 logs "-" after a 413 at the second chunk of a FastCGI
	// request with fastcgi_request_buffering off.
	BodyCut bool
	// Body is the request body when it was read into memory
	// ($request_body); nil means not buffered (not found).
	Body []byte
	// BodyFile is the temporary file the request body went to
	// ($request_body_file); "" when it is in memory or was not read.
	BodyFile string
	// Conn is the connection's serial number ($connection).
	Conn uint64
	// ConnRequests is the number of requests made on the connection so far,
	// this one included ($connection_requests).
	ConnRequests uint64
	// Start is when the first byte of the request was read ($request_time).
	Start time.Time
	// ConnStart is when the connection was accepted ($connection_time);
	// zero makes $connection_time 0.000.
	ConnStart time.Time
	// TLS describes the connection's TLS session; nil on a plain
	// connection, where $ssl_protocol, $ssl_cipher and $ssl_server_name are
	// not found. The engine also sets Scheme to "https" with it.
	TLS *TLS
	// Pipelined says the request had arrived behind the previous one on
	// its connection before that one was finished ($pipe: "p", else ".").
	Pipelined bool
	// Socket reads the client socket's TCP_INFO ($tcpinfo_*); nil, or one
	// that cannot, makes them not found.
	Socket SocketInfo
	// Connections reports the process's client connections by state
	// ($connections_active, $connections_reading, $connections_writing,
	// $connections_waiting), read when a variable is evaluated; nil means
	// not found.
	Connections ConnectionCounter
}

// TCPInfo is what nginx's $tcpinfo_* variables read of the client socket's
// TCP_INFO (Linux): the smoothed round-trip time and its variation in
// microseconds, the congestion window, and the receive space.
type TCPInfo struct {
	RTT, RTTVar, SndCwnd, RcvSpace uint32
}

// SocketInfo reads the client connection's socket when a $tcpinfo_
// variable is evaluated. It must be safe to call from the request's
// goroutine and must not allocate.
type SocketInfo interface {
	// TCPInfo returns the socket's TCP_INFO; false when there is none (a
	// unix socket, another system).
	TCPInfo() (TCPInfo, bool)
}

// ConnectionCounter reports the client connections of the process at the
// moment it is called, as nginx's stub_status module counts them. It must be
// safe to call from any goroutine and must not allocate.
type ConnectionCounter interface {
	ConnectionCounts() ConnectionCounts
}

// ConnectionCounts are the open client connections by state.
type ConnectionCounts struct {
	// Active is every open client connection, Waiting ones included.
	Active int64
	// Reading is the connections reading a request head.
	Reading int64
	// Writing is the connections with a request past its head: being
	// processed, its response being written, or an upgraded (WebSocket)
	// stream.
	Writing int64
	// Waiting is the idle connections waiting for a request.
	Waiting int64
}

// TLS is what the variables know of a client connection's TLS session. The
// engine fills one per connection, after the handshake.
type TLS struct {
	// Protocol is the version as OpenSSL names it: "TLSv1.2", "TLSv1.3"
	// ($ssl_protocol).
	Protocol string
	// Cipher is the cipher suite's OpenSSL name ($ssl_cipher), such as
	// "ECDHE-RSA-AES128-GCM-SHA256" or "TLS_AES_128_GCM_SHA256".
	Cipher string
	// ServerName is the name the client sent with SNI, "" without one
	// ($ssl_server_name).
	ServerName string
	// ALPN is the protocol ALPN chose ("h2", "http/1.1"), "" when the
	// client offered none ($ssl_alpn_protocol).
	ALPN string
	// Reused says the handshake resumed an earlier session
	// ($ssl_session_reused).
	Reused bool
	// Curve is the key exchange group the handshake used (a TLS group
	// identifier: 29 is X25519), 0 for none, as a TLS 1.2 RSA key
	// exchange ($ssl_curve).
	Curve uint16
	// ClientCiphers are the cipher suites the client offered, in its
	// order ($ssl_ciphers).
	ClientCiphers []uint16
	// ClientCurves are the key exchange groups the client offered, in its
	// order; nil for a resumed TLS 1.2 session, for which OpenSSL keeps
	// none ($ssl_curves).
	ClientCurves []uint16
	// Sigalg is the signature scheme the server signed the handshake with
	// (RecordSignature), "" for a resumed session, a TLS 1.2 RSA key
	// exchange or TLS 1.0 and 1.1 ($ssl_sigalg).
	Sigalg string
	// Client is the client's certificate; nil when it sent none (or the
	// handshake did not ask for one): $ssl_client_verify is then "NONE"
	// and the other $ssl_client_* variables are empty.
	Client *ClientCert
}

// Captures holds the groups of the last successful regular expression match
// (a regex location or server_name, a map entry, a proxy_redirect rule), in
// the shape of Go's regexp package.
type Captures struct {
	// Subject is the string that was matched.
	Subject string
	// Index holds index pairs as returned by regexp's FindStringSubmatchIndex:
	// group i spans Subject[Index[2i]:Index[2i+1]], -1 when it did not
	// participate. The slice is read, never modified or retained past Reset.
	Index []int
	// Names is regexp's SubexpNames for the same expression: Names[i] names
	// group i, "" for an unnamed group.
	Names []string
}

// Attempt records one try of an upstream server, in the shape of nginx's
// ngx_http_upstream_state_t. Durations are measured from the start of the
// attempt; a negative duration means "not measured" and prints as "-".
// Use [State.StartAttempt] to add one with every duration unset.
type Attempt struct {
	// Addr is the server's address ($upstream_addr).
	Addr netip.AddrPort
	// Name is printed instead of Addr when Addr is the zero value: the
	// upstream group's name when no server could be tried (nginx's
	// "no live upstreams"), or a unix socket path ("unix:/path").
	Name string
	// Status is the response status from this server, or the status fulcrum
	// assigned the failure (502, 504); 0 prints as "-" ($upstream_status).
	Status int
	// ResponseTime is the attempt's total time ($upstream_response_time).
	ResponseTime time.Duration
	// ConnectTime is the time to establish the connection
	// ($upstream_connect_time).
	ConnectTime time.Duration
	// HeaderTime is the time until the response header was received
	// ($upstream_header_time).
	HeaderTime time.Duration
	// QueueTime is the time the request spent in the upstream's queue
	// before this attempt (NGINX Plus's $upstream_queue_time): 0 when it
	// did not wait, as for every attempt but a request's first.
	QueueTime time.Duration
	// ResponseLength is the length of the response body obtained from this
	// server ($upstream_response_length): the bytes read after the head,
	// as nginx counts them, so a chunked body's coding (size lines, CRLFs,
	// trailer section) is included.
	ResponseLength int64
	// BytesReceived and BytesSent count bytes exchanged with this server,
	// headers included ($upstream_bytes_received, $upstream_bytes_sent).
	BytesReceived int64
	BytesSent     int64
	// NewGroup marks the first attempt of a later proxying of the request
	// (after an error_page or X-Accel-Redirect led to another proxy_pass):
	// the $upstream_* lists put " : " before it instead of ", ", as nginx
	// does.
	NewGroup bool
}

// State is everything the variables of one request can read. The engine and
// the proxy fill it as the request proceeds; it is not safe for concurrent
// use, and it is meant to be pooled: [State.Reset] clears it and keeps its
// buffers.
type State struct {
	Request

	// ServerName is the primary server_name of the chosen server block
	// ($server_name; $host's fallback).
	ServerName string
	// Captures are the groups of the last regex match ($1..$9 and named
	// captures declared with [Compiler.Declare]). Set it with
	// [State.SetCaptures] when a match replaces an earlier one, so that the
	// earlier named captures keep their values.
	Captures Captures
	// ProxyHost and ProxyPort describe the proxy_pass target
	// ($proxy_host, $proxy_port): "backend" and "80" for
	// proxy_pass http://backend, "127.0.0.1:8080" and "8080" for
	// proxy_pass http://127.0.0.1:8080 (the host omits a default port).
	// Empty means not found (the location does not proxy).
	ProxyHost string
	ProxyPort string
	// CacheStatus is how the proxy cache answered ($upstream_cache_status):
	// "MISS", "BYPASS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED" or
	// "HIT"; empty means not found (the request did not use a cache).
	CacheStatus string
	// InSubrequest reports that the State serves a subrequest
	// (BeginSubrequest until EndSubrequest): nginx's r != r->main.
	InSubrequest bool

	// Status is the status sent to the client; 0 prints as "000" ($status).
	Status int
	// Logging says the request is over and its access log line is being
	// written. nginx has then given up the connection's keep-alive
	// (ngx_http_set_keepalive clears r->keepalive before the log handler
	// runs), so $sent_http_connection is "close" and $sent_http_keep_alive
	// is not found on HTTP/1.x, whatever the response said.
	Logging bool
	// Completed says the response went out whole ($request_completion:
	// "OK", else empty), as nginx's r->request_complete: not for a 444, a
	// client that went away (499) or a failed write.
	Completed bool
	// SentChunked says the response body went out with chunked framing
	// ($sent_http_transfer_encoding is then "chunked", else not found), as
	// nginx's r->chunked: HTTP/1.1 without a known length, never for a
	// HEAD, a 1xx, 204 or 304, HTTP/1.0 or chunked_transfer_encoding off.
	SentChunked bool
	// SentTrailer is the trailer section sent with the response
	// ($sent_trailer_NAME): add_trailer's fields, evaluated at the body's
	// end; nil means none.
	SentTrailer HeaderList
	// BytesSent counts all bytes sent to the client ($bytes_sent);
	// BodyBytesSent only those of the body ($body_bytes_sent).
	BytesSent     int64
	BodyBytesSent int64
	// GzipIn and GzipOut are the body bytes the gzip filter took and the
	// compressed bytes it made of them ($gzip_ratio); GzipOut 0 means the
	// response was not compressed.
	GzipIn, GzipOut int64

	// LimitReq is what limit_req did with the request ($limit_req_status);
	// the zero value, LimitReqNone, is "not found".
	LimitReq LimitReqStatus
	// LimitConn is what limit_conn did with the request ($limit_conn_status);
	// the zero value, LimitConnNone, is "not found".
	LimitConn LimitConnStatus
	// LimitRate is the rate in bytes per second the response goes to the
	// client at, 0 for no limit ($limit_rate). LimitRateSet says it is
	// decided for this request and replaces the location's limit_rate:
	// "set $limit_rate", an upstream's X-Accel-Limit-Rate, proxy_buffering
	// off, or the response's first bytes, which take limit_rate's value
	// (nginx's r->limit_rate and r->limit_rate_set).
	LimitRate    int64
	LimitRateSet bool
	// VariableErrors are the lines variables logged at error (or alert)
	// level while evaluated for this request ($proxy_protocol_tlv_NAME's
	// unknown, invalid and broken TLVs; a regex over its match bound in a
	// map, valid_referers, fastcgi_split_path_info, or a proxy_redirect or
	// proxy_cookie_* rule, which log under their directive's name), at
	// most one per name, as nginx
	// caches a variable's failure for the rest of the request; the daemon
	// writes them to the error log. Nil for none.
	VariableErrors []VariableError

	// OverrideCharset is an upstream's X-Accel-Charset (the last one), the
	// charset the response goes out with in place of the location's
	// (nginx's r->headers_out.override_charset); empty for none, or under
	// proxy_ignore_headers X-Accel-Charset.
	OverrideCharset string

	// Upstreams lists the upstream attempts in order, one per server tried.
	Upstreams []Attempt
	// LastUpstream is the upstream the request's last attempt went to, for
	// the error log's `upstream: "..."` field: nginx keeps r->upstream
	// across an internal redirect, so a line the request writes later (a
	// limit_req or limit_conn in an error_page's location after an
	// intercepted response) still names it. The zero value: none yet.
	LastUpstream UpstreamRef
	// LogAction is what nginx's connection was doing, as its error lines
	// say after the message (" while sending to client"), for the lines
	// the request writes from the daemon's own handlers: "" for none, as
	// while nginx processes a request; "sending to client" once a
	// subrequest went to an upstream (auth_request's), as
	// ngx_http_upstream_finalize_request leaves it, until an internal
	// redirect to a URI clears it (recorded with nginx 1.22.1: a 404 after
	// a proxied auth_request says "... failed (2: No such file or
	// directory) while sending to client", after a try_files fallback
	// not).
	LogAction string
	// groupNext marks the next attempt as the first of another proxying of
	// the same request (StartUpstreamGroup).
	groupNext bool
	// queued is the next attempt's QueueTime (SetQueueTime).
	queued time.Duration
	// UpstreamHeader is the response header section of the last upstream
	// response ($upstream_http_NAME, $upstream_cookie_NAME); nil means none.
	UpstreamHeader Headers
	// SentHeader is the response header section sent to the client
	// ($sent_http_NAME); nil means none.
	SentHeader Headers
	// Rewritten reports that the URI changed (Path and Args): the rewrite
	// module or "set $args" changed it, or an internal redirect to a URI
	// (try_files, error_page, index, X-Accel-Redirect) replaced it.
	// RequestURI no longer describes the request (nginx's
	// valid_unparsed_uri is off), so proxy_pass passes Path, escaped, and
	// Args.
	Rewritten bool
	// WholeURI reports a "rewrite ... break" (or a break after a rewrite):
	// proxy_pass passes the whole new URI, not its own URI part in place of
	// the location's prefix (nginx's valid_location is off).
	WholeURI bool

	// Documents, when not nil, maps the request to files as the serving
	// level's root or alias does ($document_root, $request_filename).
	Documents Documents

	// Uninitialized, when not nil, is told about reads of set variables
	// that no set has given a value yet (see [Settable]).
	Uninitialized Uninitialized

	// Engine is the engine's own per-request value, which vars never
	// reads: the getters the engine defines ([Compiler.Define],
	// [Compiler.DefineCached]) find in it what they need beyond this State,
	// such as the configuration of the level serving the request. Nil when
	// the engine sets none.
	Engine any

	values   []Field     // set by SetVar for declared names
	scratch  []byte      // AppendEscaped's copy of a value that needs escaping
	upstream HeaderList  // SetUpstreamFields' list, its storage reused
	memo     []memo      // DefineCached values, by slot; those past the end are unset
	memoBuf  []byte      // the bytes of the memo values
	user     []userValue // Settable values, by slot; those past the end are unset
	userBuf  []byte      // the bytes of the user values

	reqIDSet bool
	reqIDRaw [16]byte
	reqID    [32]byte
}

// Reset clears st for reuse by another request. It drops every reference
// to engine data (strings, header views, body, captures) and keeps the
// capacity of its own slices, so a pooled State stops allocating once warm.
func (st *State) Reset() {
	attempts, values, scratch, upstream := st.Upstreams[:0], st.values[:0], st.scratch[:0], st.upstream[:0]
	memos, memoBuf := st.memo[:0], st.memoBuf[:0]
	user, userBuf := st.user[:0], st.userBuf[:0]
	clearFew(st.Upstreams)
	clearFew(st.values)
	clearFew(st.upstream)
	*st = State{}
	st.Upstreams, st.values, st.scratch, st.upstream = attempts, values, scratch, upstream
	st.memo, st.memoBuf = memos, memoBuf
	st.user, st.userBuf = user, userBuf
}

// clearFew sets s's elements to their zero value, as clear does, element
// by element: for the few a request leaves (one attempt, a handful of
// fields) that costs less than clear's call into the runtime, which a
// range loop over s would compile to as well.
func clearFew[T any](s []T) {
	var zero T
	for i := 0; i < len(s); i++ {
		s[i] = zero
	}
}

// UpstreamFields returns an empty list for an upstream response's fields,
// on storage this State reuses from one request to the next: append the
// fields and hand it to SetUpstreamFields, which makes it UpstreamHeader
// without an allocation.
func (st *State) UpstreamFields() HeaderList { return st.upstream[:0] }

// SetUpstreamFields makes fields, built on UpstreamFields' list, the
// UpstreamHeader.
func (st *State) SetUpstreamFields(fields HeaderList) {
	st.upstream = fields
	st.UpstreamHeader = &st.upstream
}

// memo is one cached value of a DefineCached variable: memoBuf[start:end].
type memo struct {
	start, end int
	set, found bool
	// busy marks a value being computed: a reference to it meanwhile is
	// a cycle (enter).
	busy bool
}

// enter marks slot's value as being computed, and reports false when it
// is already: the value needs itself. cache ends the mark.
func (st *State) enter(slot int) bool {
	for len(st.memo) <= slot {
		st.memo = append(st.memo, memo{})
	}
	if st.memo[slot].busy {
		return false
	}
	st.memo[slot].busy = true
	return true
}

// A CycleReporter is told of a variable whose value needs itself (nginx's
// "cycle while evaluating variable" error). The engine's State.Engine
// implements it.
type CycleReporter interface {
	VariableCycle(name string)
}

// reportCycle tells st.Engine of a cycle through name, when it is a
// CycleReporter.
func (st *State) reportCycle(name string) {
	if r, ok := st.Engine.(CycleReporter); ok {
		r.VariableCycle(name)
	}
}

// cached returns the value cached in slot, if any. v aliases memoBuf: copy it
// before caching anything else.
func (st *State) cached(slot int) (v []byte, found, ok bool) {
	if slot >= len(st.memo) || !st.memo[slot].set {
		return nil, false, false
	}
	m := st.memo[slot]
	return st.memoBuf[m.start:m.end], m.found, true
}

// cache keeps a copy of v as slot's value.
func (st *State) cache(slot int, v []byte, found bool) {
	for len(st.memo) <= slot {
		st.memo = append(st.memo, memo{})
	}
	start := len(st.memoBuf)
	st.memoBuf = append(st.memoBuf, v...)
	st.memo[slot] = memo{start: start, end: len(st.memoBuf), set: true, found: found}
}

// UpstreamRef names an upstream as the error log prints it: the scheme
// ("http://"), the server (an address, or the upstream's name when no
// server could be tried) and the URI. Keeping the parts, not their
// concatenation, costs the request path no allocation.
type UpstreamRef struct {
	Scheme, Peer, URI string
}

// String is the reference as the error log prints it, "" for the zero
// value.
func (u UpstreamRef) String() string {
	if u.Peer == "" {
		return ""
	}
	return UpstreamURL(u.Scheme, u.Peer, u.URI)
}

// UpstreamURL is the upstream: of an error log line as nginx writes it
// (ngx_http_log_error_handler): the scheme, the server and the URI, with a
// ":" between a unix socket and the URI, as nginx 1.22.1 logs
// "http://unix:/run/app.sock:/x" and "fastcgi://unix:/run/php.sock:".
func UpstreamURL(scheme, peer, uri string) string {
	if strings.HasPrefix(peer, "unix:") {
		return scheme + peer + ":" + uri
	}
	return scheme + peer + uri
}

// StartAttempt appends an attempt for addr (or, when addr is the zero
// value, for name) with every duration unset, and returns it for the caller
// to fill in. The pointer is valid until the next StartAttempt or Reset.
func (st *State) StartAttempt(addr netip.AddrPort, name string) *Attempt {
	st.Upstreams = append(st.Upstreams, Attempt{})
	a := &st.Upstreams[len(st.Upstreams)-1]
	a.Addr, a.Name = addr, name
	a.ResponseTime, a.ConnectTime, a.HeaderTime = -1, -1, -1
	a.QueueTime, a.NewGroup = st.queued, st.groupNext
	st.groupNext, st.queued = false, 0
	return a
}

// SetQueueTime records that the request waited d in the upstream's queue
// (NGINX Plus's queue directive) before its next attempt, which
// StartAttempt starts with that QueueTime.
func (st *State) SetQueueTime(d time.Duration) { st.queued = d }

// StartUpstreamGroup begins another proxying of the request: when attempts
// were made already (by a proxy_pass before an error_page or an
// X-Accel-Redirect), the next one starts a new group (Attempt.NewGroup), as
// nginx's ngx_http_upstream_init_request marks a second upstream of a
// request with an empty state.
func (st *State) StartUpstreamGroup() {
	st.groupNext = len(st.Upstreams) > 0
}

// SetCaptures records c as the last successful regular expression match, as
// each match does in nginx (ngx_http_regex_exec: a regex location or
// server_name, a map entry, a proxy_redirect rule): from now on $1..$9 are
// c's groups, even when c has none, and c's named groups answer for their
// names. The named groups of the match c replaces keep their values: nginx
// stores a named capture in a variable of its own, which only a later match
// of the same name changes. So after a map regex matched, $1 is the map's
// group while a regex location's $name stays the location's.
//
// The old named values are kept as SetVar values, which takes no memory
// once the State is warm.
func (st *State) SetCaptures(c Captures) {
	old := &st.Captures
	for i, name := range old.Names {
		if name == "" {
			continue
		}
		if v, ok := old.group(i); ok {
			st.SetVar(name, v)
		}
	}
	st.Captures = c
}

// SetVar gives a declared variable (see [Compiler.Declare]) a value for this
// request, as nginx's set directive does. Names compare case-insensitively;
// a later SetVar of the same name replaces the value.
func (st *State) SetVar(name, value string) {
	for i := range st.values {
		if strings.EqualFold(st.values[i].Name, name) {
			st.values[i].Value = value
			return
		}
	}
	st.values = append(st.values, Field{Name: name, Value: value})
}

// lookupVar returns a value given with SetVar.
func (st *State) lookupVar(name string) (string, bool) {
	for i := range st.values {
		if strings.EqualFold(st.values[i].Name, name) {
			return st.values[i].Value, true
		}
	}
	return "", false
}

// LimitReqStatus is the outcome of nginx's limit_req for a request, the value
// of $limit_req_status.
type LimitReqStatus uint8

// The limit_req outcomes, in nginx's order (NGX_HTTP_LIMIT_REQ_PASSED ...).
const (
	// LimitReqNone means limit_req did not look at the request (no limit_req,
	// or every key empty): $limit_req_status is not found.
	LimitReqNone LimitReqStatus = iota
	LimitReqPassed
	LimitReqDelayed
	LimitReqRejected
	LimitReqDelayedDryRun
	LimitReqRejectedDryRun
)

var limitReqNames = [...]string{"", "PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN"}

// String returns the value $limit_req_status prints, "" for LimitReqNone.
func (s LimitReqStatus) String() string {
	if int(s) < len(limitReqNames) {
		return limitReqNames[s]
	}
	return ""
}

// LimitConnStatus is the outcome of nginx's limit_conn for a request, the
// value of $limit_conn_status.
type LimitConnStatus uint8

// The limit_conn outcomes, in nginx's order (NGX_HTTP_LIMIT_CONN_PASSED ...).
const (
	// LimitConnNone means limit_conn did not look at the request (no
	// limit_conn, or every key empty): $limit_conn_status is not found.
	LimitConnNone LimitConnStatus = iota
	LimitConnPassed
	LimitConnRejected
	LimitConnRejectedDryRun
)

var limitConnNames = [...]string{"", "PASSED", "REJECTED", "REJECTED_DRY_RUN"}

// String returns the value $limit_conn_status prints, "" for LimitConnNone.
func (s LimitConnStatus) String() string {
	if int(s) < len(limitConnNames) {
		return limitConnNames[s]
	}
	return ""
}

// ProxyProtocol is the client and proxy addresses of a PROXY protocol
// header, as nginx keeps them: the addresses as text (a v1 header's are
// not checked to be addresses), the ports as numbers (0 prints as empty).
type ProxyProtocol struct {
	Addr, ServerAddr string
	Port, ServerPort uint16
	// TLVs answers $proxy_protocol_tlv_NAME (nginx 1.23.2); nil answers
	// not found.
	TLVs TLVSource
}

// TLVSource looks up a PROXY protocol v2 TLV by the name that follows
// "proxy_protocol_tlv_" (lower-case). found false is not found; an error
// (a bad name or a broken TLV list) is not found too, as a failed variable
// reads everywhere in nginx, and its text is the line nginx logs at error
// level, unless the error has a Quiet method that reports true. Package
// proxyproto's *Header is one.
type TLVSource interface {
	TLV(name string) (value string, found bool, err error)
}

// VariableError is a line a variable logged while evaluated: Name is the
// variable's (lower-case, without '$'), Message the line, Alert whether it
// goes out at alert level rather than error.
type VariableError struct {
	Name, Message string
	Alert         bool
}

// logVariable records msg as variable name's line, unless name already
// logged one in this request.
func (st *State) logVariable(name, msg string) {
	st.addVariableError(VariableError{Name: name, Message: msg})
}

// LogVariableAlert records msg as variable name's line at alert level
// (such as a map whose regex hit its match bound, which nginx logs at
// alert), unless name already logged one in this request.
func (st *State) LogVariableAlert(name, msg string) {
	st.addVariableError(VariableError{Name: name, Message: msg, Alert: true})
}

func (st *State) addVariableError(e VariableError) {
	for _, old := range st.VariableErrors {
		if old.Name == e.Name {
			return
		}
	}
	st.VariableErrors = append(st.VariableErrors, e)
}

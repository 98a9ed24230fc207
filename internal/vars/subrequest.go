package vars

import "slices"

// Subrequest is what a subrequest changes in the State it shares with its
// main request, saved by [State.BeginSubrequest] and put back by
// [State.EndSubrequest]. nginx's subrequest is a request of its own with
// its own URI, status, upstream and response, while the variables set
// directives assign are the main request's (a subrequest shares
// r->variables), so those stay shared.
type Subrequest struct {
	path, args, method   string
	rewritten, wholeURI  bool
	argsFound            bool
	captures             Captures
	proxyHost, proxyPort string
	status               int
	bodyBytesSent        int64
	limitRate            int64
	limitRateSet         bool
	upstreams            []Attempt
	groupNext            bool
	upstreamHeader       Headers
	upstream             HeaderList
	sentHeader           Headers
	body                 []byte
	cacheStatus          string
	inSubrequest         bool
	lastUpstream         UpstreamRef
}

// BeginSubrequest readies st for a subrequest to path (no arguments) with
// method, which nginx's auth_request sends as GET: it saves what the
// subrequest changes and gives the subrequest a fresh URI, status and
// upstream state. The subrequest's URI counts as changed (Rewritten), as
// nginx's subrequest has no unparsed URI of its own.
func (st *State) BeginSubrequest(path, method string) Subrequest {
	sv := Subrequest{
		path: st.Path, args: st.Args, argsFound: st.ArgsFound, method: st.Method,
		rewritten: st.Rewritten, wholeURI: st.WholeURI, captures: st.Captures,
		proxyHost: st.ProxyHost, proxyPort: st.ProxyPort,
		status: st.Status, bodyBytesSent: st.BodyBytesSent,
		limitRate: st.LimitRate, limitRateSet: st.LimitRateSet,
		upstreams: st.Upstreams, groupNext: st.groupNext,
		upstreamHeader: st.UpstreamHeader, upstream: st.upstream, sentHeader: st.SentHeader,
		body: st.Body, cacheStatus: st.CacheStatus, inSubrequest: st.InSubrequest,
		lastUpstream: st.LastUpstream,
	}
	st.InSubrequest = true
	st.Path, st.Args, st.ArgsFound, st.Method = path, "", false, method
	st.Rewritten, st.WholeURI = true, false
	st.ProxyHost, st.ProxyPort = "", ""
	st.Status, st.BodyBytesSent = 0, 0
	st.LimitRate, st.LimitRateSet = 0, false
	// The subrequest's attempts go after the main request's, in storage
	// the main request's list does not show.
	st.Upstreams, st.groupNext = st.Upstreams[len(st.Upstreams):], false
	st.UpstreamHeader, st.upstream, st.SentHeader = nil, nil, nil
	st.Body, st.CacheStatus = nil, ""
	return sv
}

// Status is the $status the request had when the subrequest began, which
// a slice subrequest's access log line shows (nginx 1.22.1 logs the main
// response's status, 200 or 206, for each slice).
func (sv Subrequest) Status() int { return sv.status }

// BeginClone is BeginSubrequest for a subrequest that clones the request
// (nginx's NGX_HTTP_SUBREQUEST_CLONE, which the slice module makes): it
// keeps the request's URI, arguments and method, and whether and how the
// URI changed, so that the same location serves it the same way; it gets
// a fresh status and upstream state as any subrequest does.
func (st *State) BeginClone() Subrequest {
	sv := st.BeginSubrequest(st.Path, st.Method)
	st.Args, st.ArgsFound, st.Rewritten, st.WholeURI = sv.args, sv.argsFound, sv.rewritten, sv.wholeURI
	return sv
}

// EndSubrequest puts back what BeginSubrequest saved. Read what the
// subrequest left (its status, $upstream_http_*) before calling it.
func (st *State) EndSubrequest(sv Subrequest) {
	st.Path, st.Args, st.ArgsFound, st.Method = sv.path, sv.args, sv.argsFound, sv.method
	st.Rewritten, st.WholeURI, st.Captures = sv.rewritten, sv.wholeURI, sv.captures
	st.ProxyHost, st.ProxyPort = sv.proxyHost, sv.proxyPort
	st.Status, st.BodyBytesSent = sv.status, sv.bodyBytesSent
	st.LimitRate, st.LimitRateSet = sv.limitRate, sv.limitRateSet
	clear(st.Upstreams)
	st.Upstreams, st.groupNext = sv.upstreams, sv.groupNext
	st.UpstreamHeader, st.upstream, st.SentHeader = sv.upstreamHeader, sv.upstream, sv.sentHeader
	st.Body, st.CacheStatus, st.InSubrequest = sv.body, sv.cacheStatus, sv.inSubrequest
	// The main request's error lines name its own upstream, not the
	// subrequest's (nginx's log handler reads the request's r->upstream).
	st.LastUpstream = sv.lastUpstream
}

// Fork makes dst a copy of st for a subrequest that runs beside the
// request on another goroutine (nginx's mirror subrequests, which run while
// the main request's content handler does): dst starts with st's request,
// variables and set values, and shares no storage either may change. It
// shares the request's strings, header views, body and captures, which
// neither changes; it gets its own copies of the set variables and cached
// values, and none of st's upstream state. Both have the same
// $request_id, drawn now when st had none yet, as nginx's subrequest reads
// the main request's cached value. dst's buffers are kept (dst is reset
// first), so a pooled State serves.
//
// The caller gives dst the engine's own values (Documents, Engine,
// Uninitialized), which Fork copies from st, and its own view of header
// fields it may change. Call [State.BeginSubrequest] on dst next.
func (st *State) Fork(dst *State) {
	dst.Reset()
	st.drawRequestID()
	attempts, upstream, scratch := dst.Upstreams, dst.upstream, dst.scratch
	values, memos, memoBuf := dst.values, dst.memo, dst.memoBuf
	user, userBuf := dst.user, dst.userBuf
	*dst = *st
	dst.values = append(values, st.values...)
	dst.memo, dst.memoBuf = append(memos, st.memo...), append(memoBuf, st.memoBuf...)
	dst.user, dst.userBuf = append(user, st.user...), append(userBuf, st.userBuf...)
	dst.scratch = scratch
	dst.Upstreams, dst.groupNext = attempts, false
	dst.upstream, dst.UpstreamHeader = upstream, nil
}

// EndPostAction ends a post action begun with [State.BeginSubrequest] the
// way nginx ends it: nginx's post_action sends the main request itself on
// internally (ngx_http_post_action), so the one log line that follows has
// the post action's $uri and $args (a named location's: the main
// request's), the main request's $request_uri and $body_bytes_sent, the
// post action's $status when it got one unless keepStatus (nginx's
// err_status, set when the main request answered with an error page,
// wins over the post action's upstream status), and the main request's
// upstream attempts followed by the post action's as another group
// (" : ").
func (st *State) EndPostAction(sv Subrequest, keepStatus bool) {
	path, args, found, rewritten, whole := st.Path, st.Args, st.ArgsFound, st.Rewritten, st.WholeURI
	status := st.Status
	post := slices.Clone(st.Upstreams) // EndSubrequest clears them
	last := st.LastUpstream            // the request itself went on: its lines name the post action's
	st.EndSubrequest(sv)
	st.LastUpstream = last
	st.Path, st.Args, st.ArgsFound, st.Rewritten, st.WholeURI = path, args, found, rewritten, whole
	if !keepStatus && status != 0 {
		st.Status = status
	}
	for i, a := range post {
		if i == 0 {
			a.NewGroup = len(st.Upstreams) > 0
		}
		st.Upstreams = append(st.Upstreams, a)
	}
}

// Adopt gives st the set variables of src, a [State.Fork] of st whose
// subrequest ran while st waited for it: nginx's subrequest shares its
// main request's variables, so what its location's set directives gave
// is the including request's too.
func (st *State) Adopt(src *State) {
	st.user = append(st.user[:0], src.user...)
	st.userBuf = append(st.userBuf[:0], src.userBuf...)
	clear(st.values)
	st.values = append(st.values[:0], src.values...)
}

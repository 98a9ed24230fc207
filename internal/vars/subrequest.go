package vars

// Subrequest is what a subrequest changes in the State it shares with its
// main request, saved by [State.BeginSubrequest] and put back by
// [State.EndSubrequest]. nginx's subrequest is a request of its own with
// its own URI, status, upstream and response, while the variables set
// directives assign are the main request's (a subrequest shares
// r->variables), so those stay shared.
type Subrequest struct {
	path, args, method   string
	rewritten, wholeURI  bool
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
}

// BeginSubrequest readies st for a subrequest to path (no arguments) with
// method, which nginx's auth_request sends as GET: it saves what the
// subrequest changes and gives the subrequest a fresh URI, status and
// upstream state. The subrequest's URI counts as changed (Rewritten), as
// nginx's subrequest has no unparsed URI of its own.
func (st *State) BeginSubrequest(path, method string) Subrequest {
	sv := Subrequest{
		path: st.Path, args: st.Args, method: st.Method,
		rewritten: st.Rewritten, wholeURI: st.WholeURI, captures: st.Captures,
		proxyHost: st.ProxyHost, proxyPort: st.ProxyPort,
		status: st.Status, bodyBytesSent: st.BodyBytesSent,
		limitRate: st.LimitRate, limitRateSet: st.LimitRateSet,
		upstreams: st.Upstreams, groupNext: st.groupNext,
		upstreamHeader: st.UpstreamHeader, upstream: st.upstream, sentHeader: st.SentHeader,
		body: st.Body,
	}
	st.Path, st.Args, st.Method = path, "", method
	st.Rewritten, st.WholeURI = true, false
	st.ProxyHost, st.ProxyPort = "", ""
	st.Status, st.BodyBytesSent = 0, 0
	st.LimitRate, st.LimitRateSet = 0, false
	// The subrequest's attempts go after the main request's, in storage
	// the main request's list does not show.
	st.Upstreams, st.groupNext = st.Upstreams[len(st.Upstreams):], false
	st.UpstreamHeader, st.upstream, st.SentHeader = nil, nil, nil
	st.Body = nil
	return sv
}

// EndSubrequest puts back what BeginSubrequest saved. Read what the
// subrequest left (its status, $upstream_http_*) before calling it.
func (st *State) EndSubrequest(sv Subrequest) {
	st.Path, st.Args, st.Method = sv.path, sv.args, sv.method
	st.Rewritten, st.WholeURI, st.Captures = sv.rewritten, sv.wholeURI, sv.captures
	st.ProxyHost, st.ProxyPort = sv.proxyHost, sv.proxyPort
	st.Status, st.BodyBytesSent = sv.status, sv.bodyBytesSent
	st.LimitRate, st.LimitRateSet = sv.limitRate, sv.limitRateSet
	clear(st.Upstreams)
	st.Upstreams, st.groupNext = sv.upstreams, sv.groupNext
	st.UpstreamHeader, st.upstream, st.SentHeader = sv.upstreamHeader, sv.upstream, sv.sentHeader
	st.Body = sv.body
}

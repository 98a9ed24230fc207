package errlog

// Request is what an error log line knows about the request it concerns. Empty
// fields are left out of the line.
type Request struct {
	// Conn is the client connection's serial number ($connection), written
	// as nginx's "*N " before the message; 0 writes none.
	Conn uint64
	// Client is the client's address, such as "127.0.0.1".
	Client string
	// Server is the server_name of the server block that took the request.
	Server string
	// Request is the request line, such as "GET / HTTP/1.1".
	Request string
	// Subrequest is the URI of the subrequest the message is about (an SSI
	// include's), "" for the main request.
	Subrequest string
	// Upstream is the upstream URL being tried, such as "http://127.0.0.1:5001/".
	Upstream string
	// Host is the request's Host header.
	Host string
	// HostSent says the request had a Host field even when Host is empty:
	// nginx writes `host: ""` for a "Host: " it refused.
	HostSent bool
	// Referrer is the value of the request's first Referer field, written
	// last as nginx's `, referrer: "VALUE"`; ReferrerSent says the request
	// had one, so that an empty field is written as `referrer: ""`, as
	// nginx 1.22.1 writes it (recorded).
	Referrer     string
	ReferrerSent bool
	// Action is what the connection was doing, written after the message
	// as nginx's " while ACTION" ("sending to client"); "" writes none.
	// Messages that name their action themselves leave it empty.
	Action string
}

// AppendTo appends nginx's request context to b, in nginx's order:
// ` while ACTION, client: ADDR, server: NAME, request: "LINE", subrequest: "URI",
// upstream: "URL", host: "HOST", referrer: "REFERER"`,
// leaving out the fields that are empty, except server, which nginx writes
// empty too (`server: ,`: log parsers such as fail2ban's nginx filters
// expect it).
func (r *Request) AppendTo(b []byte) []byte {
	if r.Action != "" {
		b = append(b, " while "...)
		b = append(b, r.Action...)
	}
	b = appendField(b, ", client: ", r.Client, false)
	if r.Client != "" || r.Server != "" {
		b = append(b, ", server: "...)
		b = append(b, r.Server...)
	}
	b = appendField(b, ", request: ", r.Request, true)
	b = appendField(b, ", subrequest: ", r.Subrequest, true)
	b = appendField(b, ", upstream: ", r.Upstream, true)
	if r.Host == "" && r.HostSent {
		b = append(b, `, host: ""`...)
	} else {
		b = appendField(b, ", host: ", r.Host, true)
	}
	if r.Referrer == "" && r.ReferrerSent {
		return append(b, `, referrer: ""`...)
	}
	return appendField(b, ", referrer: ", r.Referrer, true)
}

func appendField(b []byte, label, value string, quote bool) []byte {
	if value == "" {
		return b
	}
	b = append(b, label...)
	if !quote {
		return append(b, value...)
	}
	b = append(b, '"')
	b = append(b, value...)
	return append(b, '"')
}

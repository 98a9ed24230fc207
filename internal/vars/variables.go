package vars

import (
	"strings"
)

// NginxVersion is $nginx_version: the nginx release whose behaviour fulcrum
// reproduces (fastcgi.conf sends it as SERVER_SOFTWARE nginx/$nginx_version).
const NginxVersion = "1.22.1"

// resolve maps a variable name to its getter, in nginx's order: exact
// built-in names, then declared names, then prefixed families
// ($http_NAME, $arg_NAME, ...).
func (c *Compiler) resolve(name string) (Getter, error) {
	lname := strings.ToLower(name)
	if g := c.builtin(lname); g != nil {
		return g, nil
	}
	if g, ok := c.extra[lname]; ok {
		if g == nil {
			g = declaredGetter(lname)
		}
		return g, nil
	}
	if g := c.prefixGetter(lname); g != nil {
		return g, nil
	}
	return nil, &UnknownVariableError{Name: lname}
}

// prefixGetter returns the getter of lname as a member of a prefixed
// family ($http_NAME, $arg_NAME, ...), or nil.
func (c *Compiler) prefixGetter(lname string) Getter {
	for _, f := range c.prefixes {
		if suffix, ok := strings.CutPrefix(lname, f.prefix); ok {
			return f.getter(suffix)
		}
	}
	return prefixed(lname)
}

// builtin returns the getter of a built-in variable without a prefix
// family, or nil.
func (c *Compiler) builtin(name string) Getter {
	if g := requestVar(name); g != nil {
		return g
	}
	if g := connectionVar(name); g != nil {
		return g
	}
	if g := responseVar(name); g != nil {
		return g
	}
	if g := upstreamVar(name); g != nil {
		return g
	}
	if g := c.clientCertVar(name); g != nil {
		return g
	}
	return c.processVar(name)
}

// requestVar covers the variables read from the request line, target and
// header.
func requestVar(name string) Getter {
	switch name {
	case "request_method":
		return getRequestMethod
	case "request_uri":
		return getRequestURI
	case "uri", "document_uri":
		return getURI
	case "args", "query_string":
		return getArgs
	case "is_args":
		return getIsArgs
	case "request":
		return getRequestLine
	case "server_protocol":
		return getServerProtocol
	case "scheme":
		return getScheme
	case "https":
		return getHTTPS
	case "http2":
		return getHTTP2
	case "http3":
		return getHTTP3
	case "request_port":
		return getRequestPort
	case "is_request_port":
		return getIsRequestPort
	case "host":
		return getHost
	case "remote_user":
		return getRemoteUser
	case "request_body":
		return getRequestBody
	case "request_body_file":
		return getRequestBodyFile
	case "request_length":
		return getRequestLength
	case "content_type":
		return headerGetter(Canonical("content-type"), ", ", reqHeaders)
	case "content_length":
		return getContentLength
	case "http_cookie":
		return headerGetter("Cookie", "; ", reqHeaders)
	case "request_id":
		return getRequestID
	case "document_root":
		return getDocumentRoot
	case "request_filename":
		return getRequestFilename
	case "realpath_root":
		return getRealpathRoot
	case "fastcgi_script_name":
		return getFastCGIScriptName
	case "fastcgi_path_info":
		return getFastCGIPathInfo
	case "proxy_add_x_forwarded_for":
		return getProxyAddXForwardedFor
	}
	return nil
}

// connectionVar covers the client connection's addresses and counters.
func connectionVar(name string) Getter {
	switch name {
	case "remote_addr":
		return getRemoteAddr
	case "binary_remote_addr":
		return getBinaryRemoteAddr
	case "remote_port":
		return getRemotePort
	case "server_addr":
		return getServerAddr
	case "realip_remote_addr":
		return getRealIPRemoteAddr
	case "realip_remote_port":
		return getRealIPRemotePort
	case "proxy_protocol_addr":
		return proxyProtocolGetter(func(dst []byte, pp *ProxyProtocol) []byte { return append(dst, pp.Addr...) })
	case "proxy_protocol_port":
		return proxyProtocolGetter(func(dst []byte, pp *ProxyProtocol) []byte { return appendPortNumber(dst, pp.Port) })
	case "proxy_protocol_server_addr":
		return proxyProtocolGetter(func(dst []byte, pp *ProxyProtocol) []byte { return append(dst, pp.ServerAddr...) })
	case "proxy_protocol_server_port":
		return proxyProtocolGetter(func(dst []byte, pp *ProxyProtocol) []byte { return appendPortNumber(dst, pp.ServerPort) })
	case "server_port":
		return getServerPort
	case "connection":
		return getConnection
	case "connection_requests":
		return getConnectionRequests
	case "pipe":
		return getPipe
	case "tcpinfo_rtt":
		return tcpInfoGetter(func(t TCPInfo) uint32 { return t.RTT })
	case "tcpinfo_rttvar":
		return tcpInfoGetter(func(t TCPInfo) uint32 { return t.RTTVar })
	case "tcpinfo_snd_cwnd":
		return tcpInfoGetter(func(t TCPInfo) uint32 { return t.SndCwnd })
	case "tcpinfo_rcv_space":
		return tcpInfoGetter(func(t TCPInfo) uint32 { return t.RcvSpace })
	case "connections_active":
		return connectionsGetter(func(c ConnectionCounts) int64 { return c.Active })
	case "connections_reading":
		return connectionsGetter(func(c ConnectionCounts) int64 { return c.Reading })
	case "connections_writing":
		return connectionsGetter(func(c ConnectionCounts) int64 { return c.Writing })
	case "connections_waiting":
		return connectionsGetter(func(c ConnectionCounts) int64 { return c.Waiting })
	case "ssl_protocol":
		return tlsGetter(func(t *TLS) string { return t.Protocol })
	case "ssl_cipher":
		return tlsGetter(func(t *TLS) string { return t.Cipher })
	case "ssl_server_name":
		return tlsGetter(func(t *TLS) string { return t.ServerName })
	case "ssl_alpn_protocol":
		return tlsGetter(func(t *TLS) string { return t.ALPN })
	case "ssl_sigalg": // nginx 1.29.3
		return tlsGetter(func(t *TLS) string { return t.Sigalg })
	case "ssl_client_sigalg": // nginx 1.29.3: crypto/tls does not tell it
		return tlsGetter(func(*TLS) string { return "" })
	case "ssl_session_reused":
		return tlsGetter(func(t *TLS) string {
			if t.Reused {
				return "r"
			}
			return "."
		})
	case "ssl_early_data":
		// "1" while early data is being read: fulcrum takes none
		// (ssl_early_data is planned), so never found.
		return tlsGetter(func(*TLS) string { return "" })
	case "ssl_curve":
		return tlsAppender(func(dst []byte, t *TLS) []byte {
			if t.Curve == 0 {
				return dst
			}
			return AppendTLSGroup(dst, t.Curve)
		})
	case "ssl_curves":
		return tlsAppender(func(dst []byte, t *TLS) []byte { return AppendTLSGroups(dst, t.ClientCurves) })
	case "ssl_ciphers":
		return tlsAppender(func(dst []byte, t *TLS) []byte { return AppendTLSCiphers(dst, t.ClientCiphers) })
	}
	return nil
}

// responseVar covers the routing result and the response to the client.
func responseVar(name string) Getter {
	switch name {
	case "server_name":
		return getServerName
	case "status":
		return getStatus
	case "body_bytes_sent":
		return getBodyBytesSent
	case "bytes_sent":
		return getBytesSent
	case "gzip_ratio":
		return getGzipRatio
	case "proxy_host":
		return getProxyHost
	case "proxy_port":
		return getProxyPort
	case "upstream_cache_status":
		return getCacheStatus
	case "limit_req_status":
		return getLimitReqStatus
	case "limit_conn_status":
		return getLimitConnStatus
	case "limit_rate":
		return getLimitRate
	case "request_completion":
		return getRequestCompletion
	}
	return nil
}

// processVar covers the variables of the process and the clock.
func (c *Compiler) processVar(name string) Getter {
	switch name {
	case "hostname":
		return constGetter(c.Hostname)
	case "nginx_version":
		return constGetter(NginxVersion)
	case "pid":
		return pidGetter(c.PID)
	case "msec":
		return c.getMsec
	case "request_time":
		return c.getRequestTime
	case "connection_time":
		return c.getConnectionTime
	case "time_local":
		return c.secondText(appendTimeLocal)
	case "time_iso8601":
		return c.secondText(appendTimeISO8601)
	}
	return nil
}

// prefixed returns the getter for a name of a prefix family, or nil. An
// empty suffix is allowed and never found, as in nginx.
func prefixed(name string) Getter {
	switch {
	case strings.HasPrefix(name, "http_"):
		return requestHeaderGetter(name[len("http_"):])
	case name == "sent_http_connection":
		return getSentConnection
	case name == "sent_http_keep_alive":
		return getSentKeepAlive
	case name == "sent_http_transfer_encoding":
		return getSentTransferEncoding
	case strings.HasPrefix(name, "sent_http_"):
		return headerGetter(headerName(name[len("sent_http_"):]), ", ", sentHeaders)
	case strings.HasPrefix(name, "sent_trailer_"):
		return headerGetter(headerName(name[len("sent_trailer_"):]), ", ", sentTrailers)
	case strings.HasPrefix(name, "upstream_http_"):
		return headerGetter(headerName(name[len("upstream_http_"):]), ", ", upstreamHeaders)
	case strings.HasPrefix(name, "upstream_cookie_"):
		return upstreamCookieGetter(name[len("upstream_cookie_"):])
	case strings.HasPrefix(name, "cookie_"):
		return cookieGetter(name[len("cookie_"):])
	case strings.HasPrefix(name, "arg_"):
		return argGetter(name[len("arg_"):])
	case strings.HasPrefix(name, "proxy_protocol_tlv_"):
		return proxyProtocolTLVGetter(name[len("proxy_protocol_tlv_"):])
	}
	return nil
}

// headerName turns the suffix of $http_x_real_ip into the canonical field
// name "X-Real-Ip"; nginx matches '_' in the variable to '-' in the field.
//
// A suffix with '-' (a name only an if condition or SSI can give:
// "if ($http_x-test)") names no field: nginx compares each '-' of a field's
// name as '_', never as '-', so such a variable is never found.
func headerName(suffix string) string {
	if suffix == "" || strings.Contains(suffix, "-") {
		return ""
	}
	return Canonical(strings.ReplaceAll(suffix, "_", "-"))
}

// Canonical returns name in canonical header form: the first letter and
// every letter after a '-' upper-case, the rest lower-case
// ("x-forwarded-for" -> "X-Forwarded-For"), as net/textproto writes it.
func Canonical(name string) string {
	b := []byte(name)
	upper := true
	for i, c := range b {
		switch {
		case upper && c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}

func constGetter(s string) Getter {
	return func(dst []byte, _ *State) ([]byte, bool) {
		return append(dst, s...), true
	}
}

// Package vars implements nginx's embedded variables for fulcrum.
//
// A configuration string such as `$host:$server_port` or a log_format line is
// compiled once, at load time, into a [Template]: a list of literal parts and
// variable getters (nginx's ngx_http_script_compile). At request time the
// template appends its value into a caller-supplied buffer, reading the
// per-request [State]; nothing is parsed and, with a reused buffer and a
// pooled State, nothing is allocated.
//
// The package never sees *http.Request. The request engine (net/http today,
// fulcrum's own HTTP/1.1 engine later) fills the engine-neutral [Request]
// view embedded in [State]; header sections are read through the small
// [Headers] interface, for which [HeaderMap] (an http.Header-shaped map) and
// [HeaderList] (an ordered list of fields) are ready-made adapters.
//
// Values follow nginx exactly where nginx defines them: variable names are
// case-insensitive, a variable is either "found" (possibly empty) or "not
// found", a not-found value is empty in proxy_set_header-like contexts and
// "-" in an access log line with escape=default, and the list-shaped
// $upstream_* variables hold one entry per attempt joined by ", ".
package vars

// Package admin serves fulcrum's views of itself: the runtime API (the api
// directive, modelled on NGINX Plus's ngx_http_api_module, version 9) and
// the metrics page (the metrics directive, Prometheus's text exposition
// format 0.0.4).
//
// It reads the daemon through the small Source interface it defines, so
// it knows nothing of snapshots or listeners; the counters it shows are
// kept by the daemon (connections, requests) and by package upstream (per
// server state and traffic).
package admin

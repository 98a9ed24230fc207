// Package statuszone keeps NGINX Plus's status zone counters (the
// status_zone directive): per http server zone, per location zone and per
// stream server zone, the requests or sessions, their responses and bytes.
//
// A zone is a struct of atomics that a request adds to without a lock or a
// lookup: the daemon resolves each server's and location's zone when it
// builds a configuration, from a Registry that outlives reloads, so a zone
// whose name stays keeps its counts, as NGINX Plus's shared zones do.
package statuszone

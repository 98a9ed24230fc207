// Package balancer chooses the upstream server for each attempt of a
// request, reproducing nginx's load-balancing methods exactly:
//
//   - [RoundRobin]: smooth weighted round robin (ngx_http_upstream_round_robin.c);
//   - [LeastConn]: fewest active requests per weight, ties by weighted round
//     robin (ngx_http_upstream_least_conn_module.c);
//   - [IPHash]: nginx's 89/113/6271 hash of the client address
//     (ngx_http_upstream_ip_hash_module.c);
//   - [Hash] and [ConsistentHash]: a caller-evaluated key, plain crc32 hash
//     with rehash, or ketama with 160 points per weight unit
//     (ngx_http_upstream_hash_module.c);
//   - [Random]: by weight, or the better of two ("random two least_conn")
//     (ngx_http_upstream_random_module.c).
//   - [LeastTime]: NGINX Plus's least_time, the least average time (fed by
//     the caller through Attempt.Sample) times active requests per weight.
//
// The hash and random methods fall back to round robin after 20 unusable
// candidates, as nginx does.
//
// The per-request flow is an [Attempt]: Reset it for a request, call Next
// for a server, Release it with the outcome, and call Next again for a
// retry while Tries allows. Next never returns a server twice within one
// request (a tried set, reset only when it moves to the backup servers)
// and returns [ErrNoLiveUpstream] when no server is usable.
//
// A pool with a queue (NGINX Plus's "queue", upstream.Queue) lets a request
// whose attempt finds no server wait for one, in arrival order: the first
// attempt with [Attempt.First], a retry with [Attempt.Retry].
//
// The package sees no *http.Request and no config: the caller passes the
// evaluated hash key and the client address.
package balancer

// Package upstream holds the servers of an upstream block and their live
// state: in-flight requests, passive health (max_fails / fail_timeout) and
// the smooth weighted round robin weights, all the nginx way.
//
// The pieces:
//   - [Settings]: one "server" line of an upstream block, as plain data. The
//     package does not import the config package; the daemon maps config to
//     Settings.
//   - [Pool]: one upstream block built for one config snapshot, with its
//     primary servers (nginx's peers) and backup servers (peers->next). The
//     runtime API changes a pool in place: [Pool.Patch] a server's settings,
//     [Pool.Add] and [Pool.Remove] its membership, which is an immutable list
//     swapped under the pool's lock so that a pick pays one atomic load.
//   - [Server]: a server of a Pool: its settings plus a pointer to live state
//     that may be shared with the pools of other snapshots.
//   - [Registry]: owned by the daemon; builds pools so that a reload keeps the
//     live state (fails, checked, in-flight count...) of servers that stay.
//
// Choosing a server is done by a [Chooser] (package balancer implements the
// nginx methods) called by [Pool.Acquire] with the pool's lock held; the
// chosen server is acquired (in-flight count +1) before the lock is dropped,
// and every acquired server must be released exactly once with
// [Server.Release] and the [Outcome] of the attempt.
//
// Passive health follows ngx_http_upstream_round_robin.c (nginx 1.11.5+):
//   - on a failure: fails++, accessed = checked = now, and
//     effective_weight -= weight/max_fails (not below 0);
//   - a server with max_fails > 0 and fails >= max_fails is skipped while
//     now - checked <= fail_timeout;
//   - when a server is acquired and now - checked > fail_timeout, checked =
//     now, so after the window exactly one request probes a failed server
//     while the others keep skipping it for another fail_timeout;
//   - on a non-failure release, if accessed < checked (the server was picked
//     after the last failure's window), fails = 0.
//
// There are no timers and no goroutines: every call takes the current time
// as an argument, so tests run instantly with made-up times.
//
// One deliberate difference from nginx: nginx compares whole seconds
// (ngx_time()); this package compares time.Time values at full precision.
package upstream

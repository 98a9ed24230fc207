// Package clientwatch stops an upstream exchange when the client it serves
// goes away, as nginx closes the upstream connection of a client that left
// (ngx_http_upstream_check_broken_connection). The client's writer watches
// when it can (the daemon's engine, for HTTP/1.x connections, which checks
// its clients' sockets); otherwise the request's context does (HTTP/2
// streams, whose context net/http cancels). proxy_pass, the FastCGI, SCGI
// and uwsgi passes and memcached_pass share it.
package clientwatch

import "context"

// An Aborter is an exchange another goroutine can stop: Abort makes its
// connection's pending and future reads and writes fail at once. It is an
// alias of the unnamed interface, so that any type with the method serves.
type Aborter = interface {
	Abort()
}

// A Watcher is a ResponseWriter that tells an upstream module when its
// client goes away during an exchange, as the daemon's engine does. It
// stands in for context.AfterFunc on the request's context, which costs
// three allocations per exchange.
type Watcher interface {
	// WatchClient arranges for a.Abort to be called, once, if the client
	// goes away before UnwatchClient. It reports false when the writer
	// cannot watch: the caller then watches the request's context.
	WatchClient(a Aborter) bool
	// UnwatchClient ends the watch. It reports false when Abort was called
	// (or is being called): the exchange's connection must not be reused.
	UnwatchClient() bool
}

// Watch is one exchange's watch of its client: the writer's, or
// context.AfterFunc's stop. The zero Watch watches nothing.
type Watch struct {
	w    Watcher
	stop func() bool
}

// Start watches the client for a: through w when it can (w may be nil),
// else through ctx. A ctx that is never done (*_ignore_client_abort on)
// needs no watch.
func Start(ctx context.Context, w Watcher, a Aborter) Watch {
	if w != nil && w.WatchClient(a) {
		return Watch{w: w}
	}
	if ctx.Done() == nil {
		return Watch{}
	}
	return Watch{stop: context.AfterFunc(ctx, a.Abort)}
}

// End ends the watch; false means the client went away and the exchange
// was stopped (its connection is not to be kept). Calling it again, or on
// the zero Watch, reports true.
func (c *Watch) End() bool {
	w, stop := c.w, c.stop
	*c = Watch{}
	switch {
	case w != nil:
		return w.UnwatchClient()
	case stop != nil:
		return stop()
	}
	return true
}

// Active reports whether the watch watches the client (through the writer
// or the context), as it does not under *_ignore_client_abort on.
func (c *Watch) Active() bool { return c.w != nil || c.stop != nil }

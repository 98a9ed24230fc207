// Package accesslog writes nginx's access log: log_format compiled once at load,
// access_log per location, buffered files shared across reloads and reopened on
// SIGUSR1.
//
// Three types divide the work:
//
//   - [Files] owns the open files of the process and outlives reloads. Each file
//     has one buffer; lines are appended to it whole under a short lock, and the
//     buffer is written with one write system call when the next line does not
//     fit, when its oldest line is older than flush= (by [Files.Run]), on
//     [Files.Reopen] and on [Files.Close].
//   - [Logs] is the access logging of one configuration snapshot: it compiles the
//     snapshot's formats, holds a reference to each of its files, and builds one
//     [Logger] per location. [Logs.Release] after the snapshot has drained closes
//     the files no newer snapshot uses.
//   - [Logger] is a location's access_log list; [Logger.Log] formats the line for
//     a request's [vars.State] into a pooled buffer and appends it to each file,
//     without allocating.
//
// # Buffering: where fulcrum differs from nginx
//
// nginx writes each line at once unless access_log has buffer= (or gzip), and
// with buffer= but no flush= it keeps lines until the buffer fills. fulcrum
// buffers by default ([DefaultBuffer], 64 KiB) and never keeps a line longer than
// flush= ([DefaultFlush], one second, when not given): a log line appears at most
// a second late, and a busy proxy makes one write per 64 KiB instead of one per
// request. An explicit buffer=0 gives nginx's default (every line written at
// once); flush= alone sets the delay of the default buffer (nginx requires
// buffer= with it). gzip= and paths with variables are not supported.
//
// # Use by the daemon
//
//	files := accesslog.NewFiles(accesslog.FilesOptions{OnError: errorLogFunc})
//	go files.Run(ctx)                       // timed flushes
//
//	// building a snapshot from cfg:
//	logs := accesslog.NewLogs(files, compiler)
//	lg, err := logs.Logger(accesslog.Targets(loc.Settings.AccessLogs))
//	// ... on a failed build: logs.Release()
//
//	// per request, when the response is done:
//	lg.Log(st)
//
//	// reload: build the new snapshot (its Logs takes the kept paths over
//	// without reopening them), swap it in, and when the old one has
//	// drained: oldLogs.Release()
//	// SIGUSR1: files.Reopen()
//	// exit, after requests have finished: files.Close()
package accesslog

package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is fulcrum's version.
const version = "0.1.0"

// printVersion prints -v's line and, for -V, how the binary was built.
func printVersion(w io.Writer, build bool) {
	fmt.Fprintf(w, "fulcrum version: fulcrum/%s\n", version)
	if !build {
		return
	}
	fmt.Fprintf(w, "built with %s %s/%s%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, revision())
	fmt.Fprintln(w, "TLS support enabled (Go's crypto/tls), SNI support enabled")
	fmt.Fprintln(w, modules)
}

// modules is -V's last line. nginx lists its configure arguments; fulcrum has
// none: every module it has is built in, and docs/directives.md gives each
// directive's status.
const modules = "configure arguments: none (a single Go binary; everything is built in: " +
	"http (proxy, fastcgi, scgi, uwsgi, grpc, memcached, cache, ssl, http2 and more), stream, mail, " +
	"and NGINX Plus's api, health_check, keyval, sticky, jwt and oidc; docs/directives.md gives each directive's status)"

// revision describes the source revision recorded by the Go toolchain, if any:
// ", revision 4033bc8" plus " (modified)" for a dirty tree.
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return ", revision " + rev[:min(len(rev), 12)] + modified
}

// usage is -h's text, in nginx's layout.
const usage = `Usage: fulcrum [-?hvVtTq] [-s signal] [-p prefix]
               [-e filename] [-c filename] [-g directives]
       fulcrum demo [args]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and build details then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to the running fulcrum: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the configuration file's directory)
  -e filename   : set error log file (default: logs/error.log)
  -c filename   : set configuration file (default: ` + defaultConfFile + `)
  -g directives : set global directives out of configuration file

Commands:
  demo [args]   : run the demo (see fulcrum demo -h)

Exit status: 0 success, 1 configuration or runtime error, 2 usage error.
`

// printUsage prints -h's text.
func printUsage(w io.Writer) {
	io.WriteString(w, usage)
}

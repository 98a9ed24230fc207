package accesslog

import (
	"fmt"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// CombinedName and Combined are nginx's predefined log_format, used by an
// access_log without a format.
const (
	CombinedName = "combined"
	Combined     = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
)

// Format is a compiled log_format. It is immutable and safe for concurrent use.
type Format struct {
	name   string
	escape vars.Escape
	tmpl   *vars.Template
}

// NewFormat compiles lf with c, once, at load time. An empty Escape is
// "default". Errors are nginx's with the format's position appended, such as
// `unknown "foo" variable in /etc/fulcrum/fulcrum.conf:12`.
func NewFormat(c *vars.Compiler, lf *config.LogFormat) (*Format, error) {
	esc := vars.EscapeDefault
	if lf.Escape != "" {
		e, err := vars.ParseEscape(lf.Escape)
		if err != nil {
			return nil, posError(err, lf.Pos)
		}
		esc = e
	}
	t, err := c.Compile(lf.Template)
	if err != nil {
		return nil, posError(err, lf.Pos)
	}
	return &Format{name: lf.Name, escape: esc, tmpl: t}, nil
}

// posError appends " in FILE:LINE" to err when the position is known.
func posError(err error, pos config.Pos) error {
	if pos.File == "" {
		return err
	}
	return fmt.Errorf("%w in %s", err, pos)
}

// Name returns the log_format's name.
func (f *Format) Name() string { return f.name }

// Escape returns the format's escape= mode.
func (f *Format) Escape() vars.Escape { return f.escape }

// AppendLine appends the log line for st, newline included, to dst: the
// format's literal text unchanged, each variable's value escaped in the
// format's mode, and a variable that is not found as "-" with escape=default
// (nothing with json and none), as nginx writes it.
func (f *Format) AppendLine(dst []byte, st *vars.State) []byte {
	return append(f.tmpl.AppendEscaped(dst, st, f.escape), '\n')
}

package accesslog

import (
	"errors"
	"fmt"
	"os"

	"fulcrum/internal/vars"
)

// dynamicPath is an access_log whose path has variables. As nginx's
// ngx_http_log_script_write, each line opens the file its request names
// (relative paths were made absolute when the configuration was read),
// appends the line and closes it again: no buffer, no file kept open. When
// the request's root directory ($document_root) does not exist, nothing is
// written (nginx's "testing ... existence failed"), so that requests for
// missing sites do not create log files.
type dynamicPath struct {
	path, root *vars.Template
	// onError receives the failures (see FilesOptions.OnRequestError); nil
	// drops them.
	onError func(st *vars.State, crit bool, what string, err error)
}

// dynamic compiles an access_log path with variables. nginx refuses buffer=
// for such a path, as its file is opened for each line.
func (ls *Logs) dynamic(path string, p Params) (*dynamicPath, error) {
	if p.BufferSet {
		return nil, errors.New("buffered logs cannot have variables in name")
	}
	t, err := ls.comp.Compile(path)
	if err != nil {
		return nil, err
	}
	root, err := ls.comp.Compile("$document_root")
	if err != nil {
		return nil, err
	}
	return &dynamicPath{path: t, root: root, onError: ls.files.onRequestError}, nil
}

// write appends line to the file st's request names.
func (d *dynamicPath) write(line []byte, st *vars.State) {
	if root := d.root.String(st); root != "" {
		if _, err := os.Stat(root); err != nil {
			d.fail(st, false, fmt.Sprintf(`testing "%s" existence failed`, root), err)
			return
		}
	}
	path := d.path.String(st)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		d.fail(st, true, fmt.Sprintf(`open() "%s" failed`, path), err)
		return
	}
	if _, err := f.Write(line); err != nil {
		d.fail(st, true, fmt.Sprintf(`write() to "%s" failed`, path), err)
	}
	if err := f.Close(); err != nil {
		d.fail(st, true, fmt.Sprintf(`close() "%s" failed`, path), err)
	}
}

func (d *dynamicPath) fail(st *vars.State, crit bool, what string, err error) {
	if d.onError != nil {
		d.onError(st, crit, what, err)
	}
}

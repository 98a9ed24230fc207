package config

import (
	"io/fs"
	"strings"
)

// DAVMethods is the set of WebDAV methods dav_methods enables, one bit each.
type DAVMethods uint8

// The methods dav_methods names.
const (
	DAVPut DAVMethods = 1 << iota
	DAVDelete
	DAVMkcol
	DAVCopy
	DAVMove
)

// davMethodNames maps dav_methods' values (compared case-insensitively, as
// nginx's bitmask slot does) to their bits; "off" has none.
var davMethodNames = map[string]DAVMethods{
	"off": 0, "put": DAVPut, "delete": DAVDelete, "mkcol": DAVMkcol, "copy": DAVCopy, "move": DAVMove,
}

// Has reports whether the HTTP method m is one of the set.
func (d DAVMethods) Has(m string) bool {
	switch m {
	case "PUT":
		return d&DAVPut != 0
	case "DELETE":
		return d&DAVDelete != 0
	case "MKCOL":
		return d&DAVMkcol != 0
	case "COPY":
		return d&DAVCopy != 0
	case "MOVE":
		return d&DAVMove != 0
	}
	return false
}

// checkDAVMethods refuses a value that is not a method dav_methods knows,
// as nginx's ngx_conf_set_bitmask_slot does: `invalid value "get"`.
func checkDAVMethods(d *Directive) error {
	for _, a := range d.Args {
		if _, ok := davMethodNames[strings.ToLower(a)]; !ok {
			return hintf(d.Pos, "dav_methods takes off or any of PUT DELETE MKCOL COPY MOVE", `invalid value "%s"`, a)
		}
	}
	return nil
}

// applyDAVMethods ORs every dav_methods of the nearest level that writes
// one, as nginx's bitmask slot does ("dav_methods PUT; dav_methods
// DELETE;" enables both; "off" adds nothing, so it only stops inheritance).
func applyDAVMethods(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var m DAVMethods
	for _, d := range dirs {
		for _, a := range d.Args {
			bit := davMethodNames[strings.ToLower(a)]
			if m&bit != 0 {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			m |= bit
		}
	}
	st.DAVMethods = m
	return nil
}

// checkDAVAccess checks dav_access's "user:rw group:r all:r" arguments as
// nginx's ngx_conf_set_access_slot does.
func checkDAVAccess(d *Directive) error {
	_, err := parseAccessRights(d)
	return err
}

// applyDAVAccess reads dav_access.
func applyDAVAccess(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	m, err := parseAccessRights(dirs[0])
	st.DAVAccess = m
	return err
}

// parseAccessRights is ngx_conf_set_access_slot: each argument is
// user:, group: or all: followed by r or rw, OR-ed together; the user has
// rw unless an argument names the user.
func parseAccessRights(d *Directive) (fs.FileMode, error) {
	var m fs.FileMode
	user := fs.FileMode(0o600)
	for _, a := range d.Args {
		who, right, ok := strings.Cut(a, ":")
		shift := map[string]uint{"user": 6, "group": 3, "all": 0}
		sh, known := shift[who]
		bits := map[string]fs.FileMode{"r": 4, "rw": 6}[right]
		if !ok || !known || bits == 0 {
			return 0, hintf(d.Pos, "write user:, group: or all: followed by r or rw, as in dav_access user:rw group:r all:r", `invalid value "%s"`, a)
		}
		if who == "user" {
			user = 0
		}
		m |= bits << sh
	}
	return m | user, nil
}

// applyMinDeleteDepth reads min_delete_depth (the table checks the number).
func applyMinDeleteDepth(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	v, err := parseInt(dirs[0].Args[0])
	st.MinDeleteDepth = v
	return err
}

// applyAdditionTypes reads addition_types as nginx's ngx_http_types_slot
// (typesSlot): text/html always, "*" every type.
func applyAdditionTypes(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.AdditionTypes, st.AdditionAnyType = typesSlot(b, dirs)
	return nil
}

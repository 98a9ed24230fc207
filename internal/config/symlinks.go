package config

import "strings"

// SymlinkPolicy is the mode of disable_symlinks.
type SymlinkPolicy int

// The disable_symlinks modes.
const (
	// SymlinksOff follows symbolic links (nginx's default).
	SymlinksOff SymlinkPolicy = iota
	// SymlinksOn refuses a symbolic link in any checked path component.
	SymlinksOn
	// SymlinksIfNotOwner refuses a symbolic link whose owner differs from
	// its target's.
	SymlinksIfNotOwner
)

// String is the policy as written in the configuration.
func (p SymlinkPolicy) String() string {
	switch p {
	case SymlinksOn:
		return "on"
	case SymlinksIfNotOwner:
		return "if_not_owner"
	}
	return "off"
}

// applyDisableSymlinks reads "disable_symlinks off | on | if_not_owner
// [from=part]" with ngx_http_disable_symlinks's checks and words.
func applyDisableSymlinks(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	mode, set, from := SymlinksOff, false, ""
	for i, a := range d.Args {
		var m SymlinkPolicy
		switch a {
		case "off":
			m = SymlinksOff
		case "on":
			m = SymlinksOn
		case "if_not_owner":
			m = SymlinksIfNotOwner
		default:
			v, ok := strings.CutPrefix(a, "from=")
			if !ok {
				return errorf(d.Pos, `invalid parameter "%s"`, a)
			}
			from = v
			continue
		}
		if set {
			return errorf(d.Pos, `duplicate parameters "%s %s"`, d.Args[i-1], a)
		}
		mode, set = m, true
	}
	if !set {
		return errorf(d.Pos, `"disable_symlinks" must have "off", "on" or "if_not_owner" parameter`)
	}
	if len(d.Args) == 2 && mode == SymlinksOff {
		return errorf(d.Pos, `"from=" cannot be used with "off" parameter`)
	}
	if mode != SymlinksOff && !symlinkCheckOn(b.goos) {
		return hintf(d.Pos, `remove it or write "disable_symlinks off;" to run here; the check works on Linux and FreeBSD`,
			`"disable_symlinks %s" is not supported on this platform (%s)`, mode, b.goos)
	}
	st.DisableSymlinks, st.DisableSymlinksFrom = mode, from
	return nil
}

// symlinkCheckOn reports whether disable_symlinks can check links on goos:
// internal/static opens each path component with openat(2), which package
// syscall offers on Linux and FreeBSD only. nginx without openat does not
// know the directive at all; fulcrum refuses it rather than serve links the
// configuration forbids.
func symlinkCheckOn(goos string) bool { return goos == "linux" || goos == "freebsd" }

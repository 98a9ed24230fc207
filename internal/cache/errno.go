package cache

import (
	"errors"
	"strconv"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// errnoText renders the system error inside err as nginx prints errno
// after a failed call ("2: No such file or directory"); an err without one
// is rendered by its own text. (errlog.Errno's twin: this package imports
// only the standard library.)
func errnoText(err error) string {
	var no syscall.Errno
	if !errors.As(err, &no) {
		return err.Error()
	}
	s := no.Error()
	r, n := utf8.DecodeRuneInString(s)
	return strconv.Itoa(int(no)) + ": " + string(unicode.ToUpper(r)) + s[n:]
}

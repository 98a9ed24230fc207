package errlog

import (
	"errors"
	"strconv"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Errno renders the system error inside err the way nginx prints errno after a
// failed call: "2: No such file or directory", "3: No such process". An err without
// a syscall.Errno inside is rendered by its own text.
func Errno(err error) string {
	var no syscall.Errno
	if !errors.As(err, &no) {
		return err.Error()
	}
	return strconv.Itoa(int(no)) + ": " + capitalize(no.Error())
}

// capitalize upper-cases the first letter: Go's errno texts are strerror's with a
// lower-case start.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

package config

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a configuration error at a place in a file. Its text follows nginx's
// `MESSAGE in FILE:LINE`, followed by a hint when one helps.
type Error struct {
	// Pos is where the error was found; a zero Pos means no particular place.
	Pos Pos
	// Msg is nginx's message, such as `unknown directive "proxy_pas"`.
	Msg string
	// Hint, if not empty, says how to fix it, such as `did you mean "proxy_pass"?`.
	Hint string
}

// Error formats the error as nginx would, with the hint appended.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Pos.File != "" {
		b.WriteString(" in ")
		b.WriteString(e.Pos.String())
	}
	if e.Hint != "" {
		b.WriteString(", ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// errorf returns an *Error at pos.
func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// hintf returns an *Error at pos with a hint.
func hintf(pos Pos, hint string, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// AsError returns the *Error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

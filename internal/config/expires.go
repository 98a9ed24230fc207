package config

import (
	"errors"
	"strconv"
	"strings"
)

// ExpiresMode is what the expires directive asks for (nginx's
// ngx_http_expires_t).
type ExpiresMode int

// The expires modes. The zero value, ExpiresOff, is nginx's default.
const (
	// ExpiresOff adds nothing (expires off).
	ExpiresOff ExpiresMode = iota
	// ExpiresEpoch sends "Expires: Thu, 01 Jan 1970 00:00:01 GMT" and
	// "Cache-Control: no-cache".
	ExpiresEpoch
	// ExpiresMax sends "Expires: Thu, 31 Dec 2037 23:55:55 GMT" and
	// "Cache-Control: max-age=315360000" (ten years).
	ExpiresMax
	// ExpiresAccess counts Time from the time of the request (expires 1h).
	ExpiresAccess
	// ExpiresModified counts Time from the response's Last-Modified, or from
	// the request when it has none (expires modified 1h).
	ExpiresModified
	// ExpiresDaily expires at the next Time of day, local time (expires @15h30m).
	ExpiresDaily
)

// String is the mode's name, for dumps.
func (m ExpiresMode) String() string {
	switch m {
	case ExpiresOff:
		return "off"
	case ExpiresEpoch:
		return "epoch"
	case ExpiresMax:
		return "max"
	case ExpiresAccess:
		return "access"
	case ExpiresModified:
		return "modified"
	case ExpiresDaily:
		return "daily"
	}
	return "ExpiresMode(" + strconv.Itoa(int(m)) + ")"
}

// Expires is the expires directive of a level (ngx_http_headers_module),
// inherited by the levels below that have none of their own.
type Expires struct {
	// Mode is what to send; ExpiresOff (the zero value) sends nothing.
	Mode ExpiresMode
	// Time is in seconds: the offset for ExpiresAccess and ExpiresModified
	// (negative for the past), the time of day for ExpiresDaily (0 to 24h).
	// It is 0 when Value is set.
	Time int64
	// Value, when not empty, is the argument with variables, evaluated and
	// parsed (ParseExpires) per request; Mode is then ExpiresAccess or
	// ExpiresModified, which the value may turn into another.
	Value string
	// Pos is where the directive is written.
	Pos Pos
}

// The reasons ParseExpires gives, in nginx's words.
var (
	errExpiresDailyModified = errors.New(`daily time cannot be used with "modified" parameter`)
	errExpiresDailyLong     = errors.New("daily time value must be less than 24 hours")
)

// ParseExpires parses an expires value as nginx does (ngx_http_parse_expires),
// at load time and, for a value with variables, per request: "epoch", "max"
// and "off" (compared exactly, and not after "modified"), "@time" for a time
// of day (at most 24h, not after "modified"), or a time in seconds' units
// ("1h", "30d", "1y", "+1h", "-1"). modified is the "modified" parameter. The
// error says why in nginx's words ("invalid value", ...).
func ParseExpires(value string, modified bool) (ExpiresMode, int64, error) {
	mode := ExpiresAccess
	if modified {
		mode = ExpiresModified
	} else {
		switch value {
		case "epoch":
			return ExpiresEpoch, 0, nil
		case "max":
			return ExpiresMax, 0, nil
		case "off":
			return ExpiresOff, 0, nil
		}
	}
	minus := false
	switch {
	case strings.HasPrefix(value, "@"):
		if modified {
			return 0, 0, errExpiresDailyModified
		}
		mode, value = ExpiresDaily, value[1:]
	case strings.HasPrefix(value, "+"):
		value = value[1:]
	case strings.HasPrefix(value, "-"):
		minus, value = true, value[1:]
	}
	secs, err := parseSeconds(value)
	if err != nil {
		return 0, 0, errBadValue
	}
	if mode == ExpiresDaily && secs > 24*60*60 {
		return 0, 0, errExpiresDailyLong
	}
	if minus {
		secs = -secs
	}
	return mode, secs, nil
}

// checkExpires checks an expires directive's arguments as nginx's handler
// does once the directive is known not to be a duplicate: a first argument of
// two must be "modified", and a value without variables must parse.
func checkExpires(d *Directive) error {
	_, err := buildExpires(d)
	return err
}

// buildExpires turns an expires directive into its setting.
func buildExpires(d *Directive) (Expires, error) {
	e := Expires{Mode: ExpiresAccess, Pos: d.Pos}
	value := d.Args[0]
	if len(d.Args) == 2 {
		if d.Args[0] != "modified" {
			return e, hintf(d.Pos, `the first of two arguments can only be "modified" (expires modified 1h;)`, `"expires" directive invalid value`)
		}
		e.Mode, value = ExpiresModified, d.Args[1]
	}
	if strings.Contains(value, "$") {
		// nginx compiles any value with a "$" as a complex value and
		// parses what it evaluates to per request.
		e.Value = value
		return e, nil
	}
	mode, secs, err := ParseExpires(value, e.Mode == ExpiresModified)
	if err != nil {
		return e, hintf(d.Pos, expiresHint(err), `"expires" directive %s`, err)
	}
	e.Mode, e.Time = mode, secs
	return e, nil
}

// expiresHint says what to write instead of a value ParseExpires refused
// with err.
func expiresHint(err error) string {
	switch err {
	case errExpiresDailyModified:
		return `"modified" takes a time such as 1h; a time of day (@15h30m) stands alone`
	case errExpiresDailyLong:
		return "use a time of day from @0 to @24h, such as @15h30m"
	}
	return "use a time such as 1h, 30d or -1 (seconds' units, ms not allowed), @15h30m, epoch, max or off"
}

// applyExpires fills Settings.Expires from the nearest level's directive
// (the validator has refused a second one in a block).
func applyExpires(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	e, err := buildExpires(dirs[0])
	if err != nil {
		return err
	}
	st.Expires = e
	return nil
}

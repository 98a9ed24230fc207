package accesslog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"fulcrum/internal/config"
)

// DefaultBuffer is the size of a log file's buffer when access_log has no buffer=
// parameter. nginx writes every line at once in that case; fulcrum buffers, as
// nginx does with "buffer=64k flush=1s", because one write system call per request
// is a measurable share of a proxy's CPU. Write "buffer=0" for nginx's behaviour.
const DefaultBuffer = 64 << 10

// DefaultFlush is how long a buffered line may wait for the buffer to be written
// when access_log has no flush= parameter. nginx without flush= keeps buffered
// lines until the buffer fills, the logs are reopened or the process exits;
// fulcrum bounds the delay to one second (written by [Files.Run]).
const DefaultFlush = time.Second

// Params are the parameters of one access_log directive after the format name:
// nginx's buffer=SIZE, flush=TIME and if=CONDITION. The zero value means none
// given: a [DefaultBuffer] buffer flushed at least every [DefaultFlush].
type Params struct {
	// Buffer is buffer=SIZE in bytes; it is used only when BufferSet is true.
	// buffer=0 means unbuffered: every line is one write system call, as nginx
	// does without a buffer= parameter.
	Buffer    int
	BufferSet bool
	// Flush is flush=TIME, the longest a line stays buffered; 0 means
	// DefaultFlush.
	Flush time.Duration
	// If is the if=CONDITION template; "" logs every request. A request is not
	// logged when the condition evaluates to "" or "0".
	If string
}

// ParseParams parses the access_log arguments that follow the format name, such as
// ["buffer=32k", "flush=5m", "if=$loggable"]. Sizes take nginx's k and m suffixes;
// times nginx's units (ms, s, m, h, d, w; a bare number is seconds). gzip= is
// rejected: fulcrum does not compress logs. The error texts are nginx's where
// nginx has one; the caller adds " in FILE:LINE".
func ParseParams(args []string) (Params, error) {
	var p Params
	for _, a := range args {
		if err := p.parse(a); err != nil {
			return Params{}, err
		}
	}
	return p, p.validate()
}

// parse applies one argument to p.
func (p *Params) parse(a string) error {
	name, value, _ := strings.Cut(a, "=")
	switch {
	case strings.HasPrefix(a, "buffer="):
		n, err := parseSize(value)
		if err != nil {
			return fmt.Errorf(`invalid buffer size "%s"`, value)
		}
		p.Buffer, p.BufferSet = n, true
	case strings.HasPrefix(a, "flush="):
		d, err := parseTime(value)
		if err != nil || d <= 0 {
			return fmt.Errorf(`invalid flush time "%s"`, value)
		}
		p.Flush = d
	case strings.HasPrefix(a, "if="):
		if value == "" {
			return fmt.Errorf(`invalid parameter "%s"`, a)
		}
		p.If = value
	case name == "gzip":
		return errors.New(`access_log "gzip" is not supported by fulcrum`)
	default:
		return fmt.Errorf(`invalid parameter "%s"`, a)
	}
	return nil
}

// validate rejects combinations nginx rejects.
func (p Params) validate() error {
	if p.Buffer < 0 || p.Flush < 0 {
		return errors.New("negative access_log buffer or flush")
	}
	if p.Flush > 0 && p.BufferSet && p.Buffer == 0 {
		return errors.New("no buffer is defined for access_log")
	}
	return nil
}

// bufferSize is the buffer size the parameters ask for; 0 means unbuffered.
func (p Params) bufferSize() int {
	if p.BufferSet {
		return p.Buffer
	}
	return DefaultBuffer
}

// flushEvery is the flush interval the parameters ask for.
func (p Params) flushEvery() time.Duration {
	if p.Flush > 0 {
		return p.Flush
	}
	return DefaultFlush
}

// sameFile reports whether p and q ask for the same buffering of one file; nginx
// refuses two access_log directives for one path that differ in it.
func (p Params) sameFile(q Params) bool {
	return p.bufferSize() == q.bufferSize() && p.flushEvery() == q.flushEvery()
}

// Target is one access_log directive with its parameters, the input of
// [Logs.Logger].
type Target struct {
	// Log is the directive as config built it: path, format (nil means
	// "combined"), off, position.
	Log config.AccessLog
	// Params are its buffer=, flush= and if= parameters.
	Params Params
}

// Targets turns a location's access_log list into Targets with default
// parameters. config.AccessLog does not carry buffer=, flush= and if= yet; when it
// does, this is the one place that copies them.
func Targets(logs []config.AccessLog) []Target {
	ts := make([]Target, len(logs))
	for i, l := range logs {
		ts[i] = Target{Log: l}
	}
	return ts
}

// parseSize parses a size as ngx_parse_size does: decimal digits with an optional
// k or m suffix (either case).
func parseSize(s string) (int, error) {
	scale := 1
	if s != "" {
		switch s[len(s)-1] | 0x20 {
		case 'k':
			scale, s = 1<<10, s[:len(s)-1]
		case 'm':
			scale, s = 1<<20, s[:len(s)-1]
		}
	}
	n, err := parseDigits(s, 1<<31/scale)
	return n * scale, err
}

// parseDigits parses a non-empty run of decimal digits no greater than limit.
func parseDigits(s string, limit int) (int, error) {
	if s == "" {
		return 0, errors.New("no digits")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errors.New("not a digit")
		}
		if n = n*10 + int(c-'0'); n > limit {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

// timeUnits are nginx's units of a milliseconds time, largest first; each may
// appear once, in this order.
var timeUnits = [...]struct {
	suffix string
	unit   time.Duration
}{
	{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour},
	{"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond},
}

// parseTime parses a time as ngx_parse_time does for milliseconds: numbers each
// followed by a unit from the largest to the smallest ("1m30s", "500ms"); a bare
// number, or digits after the last unit, are seconds.
func parseTime(s string) (time.Duration, error) {
	var total time.Duration
	next := 0 // index of the smallest unit still allowed
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, err := parseDigits(s[:i], 1<<31)
		if err != nil {
			return 0, err
		}
		s = s[i:]
		if s == "" {
			return total + time.Duration(n)*time.Second, nil
		}
		k := unitAt(s, next)
		if k < 0 {
			return 0, errors.New("bad unit")
		}
		total += time.Duration(n) * timeUnits[k].unit
		s, next = s[len(timeUnits[k].suffix):], k+1
	}
	return total, nil
}

// unitAt returns the index of the unit s starts with, searching from index from,
// or -1. "ms" is tried before "m".
func unitAt(s string, from int) int {
	for k := len(timeUnits) - 1; k >= from; k-- {
		if strings.HasPrefix(s, timeUnits[k].suffix) {
			return k
		}
	}
	return -1
}

package accesslog

import (
	"errors"
	"time"

	"fulcrum/internal/config"
)

// DefaultBuffer is the size of a log file's buffer when access_log has no buffer=
// parameter. nginx writes every line at once in that case; fulcrum buffers, as
// nginx does with "buffer=64k flush=1s", because one write system call per request
// is a measurable share of a proxy's CPU. An explicit buffer=0 (Params.BufferSet
// with Buffer 0; config.AccessLog.Buffer < 0) gives nginx's behaviour.
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

// Targets turns a location's access_log list into Targets, copying each
// directive's buffer=, flush= and if= from config. config.AccessLog.Buffer
// cannot tell "buffer=0" from no buffer= (both are 0), so 0 is taken as not
// given (the default buffer) and a negative Buffer as an explicit buffer=0:
// unbuffered, nginx's default.
func Targets(logs []config.AccessLog) []Target {
	ts := make([]Target, len(logs))
	for i, l := range logs {
		ts[i] = Target{Log: l, Params: paramsOf(l)}
	}
	return ts
}

// paramsOf returns the parameters config parsed for l.
func paramsOf(l config.AccessLog) Params {
	p := Params{Flush: l.Flush, If: l.If}
	switch {
	case l.Buffer < 0:
		p.BufferSet = true
	case l.Buffer > 0:
		p.Buffer, p.BufferSet = int(min(l.Buffer, 1<<31)), true
	}
	return p
}

package ssi

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultErrmsg is what replaces a command that fails, until a config
// command's errmsg changes it (unless ssi_silent_errors is on).
const DefaultErrmsg = "[an error occurred while processing the directive]"

// DefaultTimefmt is the strftime format of $date_local and $date_gmt until
// a config command's timefmt changes it.
const DefaultTimefmt = "%A, %d-%b-%Y %H:%M:%S %Z"

// ErrAborted is the error of a Filter whose response Env.Abort ended.
var ErrAborted = errors.New("ssi: response aborted")

// ErrCycle is what Env.Include returns when subrequests nest too deeply
// (nginx: "subrequests cycle while processing").
var ErrCycle = errors.New("subrequests cycle")

// Env is what a Filter needs from the request it filters.
type Env interface {
	// Variable appends the value of the nginx variable name (lower-case)
	// to dst and reports whether it was found.
	Variable(dst []byte, name string) ([]byte, bool)
	// URI is the request's $uri, which relative include paths start from.
	URI() string
	// Include runs a GET subrequest to uri with args and writes its body
	// to w; failed reports that the subrequest ended in an error of its own
	// (one nginx finalizes with an error status, such as a missing file),
	// err that it could not run. With a stub (not nil), a subrequest that
	// failed or sent nothing writes the stub to w instead, through the
	// subrequest's own SSI filter when its location has one (nginx's
	// ngx_http_ssi_stub_output sends the block through the subrequest's
	// filters).
	Include(uri, args string, w io.Writer, stub []byte) (failed bool, err error)
	// Start is Include for an include without wait: it starts the
	// subrequest, whose output (or stub) goes to part, and returns once
	// the subrequest ended (part finished) or waits on something outside
	// such as an upstream (part yielded): it then goes on beside the
	// including response, which drains part when its turn comes. The
	// subrequest may also run to its end before Start returns (a bound on
	// the includes running at once). An error (ErrCycle) means it did not
	// run, and part is not used.
	Start(uri, args string, stub []byte, part *Part) error
	// Yield says that the filter is about to wait for an include: a
	// request waiting for this response's request (Part.WaitStarted) may
	// go on.
	Yield()
	// Done is closed when the response is given up (the client went
	// away): the filter stops waiting for its includes.
	Done() <-chan struct{}
	// Log logs msg at level error for the request.
	Log(msg string)
	// LogAlert logs msg at level alert for the request (a regex whose
	// match hit its bound, which nginx logs at alert).
	LogAlert(msg string)
	// Abort ends the response without finishing it, the connection
	// closed, as nginx ends a request whose filter fails (NGX_ERROR).
	Abort()
	// Now is the current time ($date_local, $date_gmt).
	Now() time.Time
}

// Options are a location's ssi_* settings.
type Options struct {
	// SilentErrors is ssi_silent_errors: a failing command outputs
	// nothing.
	SilentErrors bool
	// ValueLength is ssi_value_length: the longest parameter value.
	ValueLength int
	// SetLimit is subrequest_output_buffer_size: the longest body an
	// include's set= keeps.
	SetLimit int
	// TempDir is where the output of an include that cannot go out yet
	// goes past PartMemory ("": os.TempDir()).
	TempDir string
}

// Shared is the state the SSI commands of a main request and of all its
// included subrequests share, as nginx keeps it in the main request's
// context: the variables set, the blocks, the last regex's captures. Its
// methods may be called from the goroutines of includes that run at once.
type Shared struct {
	mu       sync.Mutex // guards the fields below
	vars     []variable
	blocks   []block
	captures []capture // $0..$9 of the last if's regex that matched
	subject  string
}

type variable struct{ name, value string }

type block struct {
	name string
	body []byte
}

type capture struct{ start, end int }

// lookup returns the SSI variable name (lower-case): a capture digit of
// the last regex match, else one the set command made.
func (s *Shared) lookup(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(name) == 1 && '0' <= name[0] && name[0] <= '9' {
		if i := int(name[0] - '0'); i < len(s.captures) {
			c := s.captures[i]
			if c.start < 0 {
				return "", true
			}
			return s.subject[c.start:c.end], true
		}
	}
	for i := range s.vars {
		if s.vars[i].name == name {
			return s.vars[i].value, true
		}
	}
	return "", false
}

// set gives the SSI variable name (lower-case) value.
func (s *Shared) set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(name, value)
}

// setLocked is set with s.mu held.
func (s *Shared) setLocked(name, value string) {
	for i := range s.vars {
		if s.vars[i].name == name {
			s.vars[i].value = value
			return
		}
	}
	s.vars = append(s.vars, variable{name, value})
}

// conditions: a command's place in if/elif/else/endif
// (NGX_HTTP_SSI_COND_IF, NGX_HTTP_SSI_COND_ELSE).
const (
	condIf   = 1
	condElse = 2
)

// encodings of echo.
const (
	encNone = iota
	encURL
	encEntity
)

// Filter carries out the SSI commands of one response body: its text and
// what the commands produce go to the writer given to Reset. Its zero
// value is not ready: call Reset.
type Filter struct {
	p      Parser
	out    io.Writer
	env    Env
	shared *Shared
	opts   Options
	err    error // the first error of out

	output       bool // text goes out (not in a false branch or a block)
	outputChosen bool // a branch of the current if was taken
	inBlock      bool // text goes into the last block
	conditional  int
	encoding     int
	timefmt      string
	errmsg       string
	scratch      []byte
	// queue is the output that cannot go out yet: nginx runs an include
	// without wait only once its request's filter has gone through the
	// buffer at hand, so the commands after it in that buffer see the
	// variables as they were before it; then it runs beside the response
	// (Env.Start), and its output, and the text after it, wait here until
	// what comes before went out, as in nginx's postpone filter.
	queue  []segment
	queued int // bytes of text in queue
}

// maxQueued is how many bytes of text may wait in Filter.queue behind a
// running include before the filter waits for the include to end.
const maxQueued = 4 * PartMemory

// segment is what waits in Filter.queue: text, an include not started yet
// (include), or a started one's output (part).
type segment struct {
	text       []byte
	path, args string
	stub       *block
	include    bool
	part       *Part
}

// Reset readies f for a response whose output goes to out, with its
// request's env, the state shared with the main request (nil: f's
// response is the main request's, and a new one is made) and the
// location's options. Includes f still had running are given up.
func (f *Filter) Reset(out io.Writer, env Env, shared *Shared, opts Options) {
	f.Discard()
	if shared == nil {
		shared = &Shared{}
	}
	if opts.ValueLength <= 0 {
		opts.ValueLength = 255
	}
	f.p.reset(f, opts.ValueLength)
	f.out, f.env, f.shared, f.opts, f.err = out, env, shared, opts, nil
	f.output, f.outputChosen, f.inBlock, f.conditional = true, false, false, 0
	f.encoding, f.timefmt, f.errmsg = encEntity, DefaultTimefmt, DefaultErrmsg
}

// Shared is the state f's commands share with those of its main request
// and its other subrequests.
func (f *Filter) Shared() *Shared { return f.shared }

// Write implements io.Writer: p goes through the commands, and the
// includes it had start. Its error is the output writer's first.
func (f *Filter) Write(p []byte) (int, error) {
	f.p.feed(p)
	f.flush()
	return len(p), f.err
}

// Close ends the body: a command not finished is dropped, as nginx drops
// it, and what the includes output goes out as they end, in order. The
// error is the output writer's first; includes still running then are
// given up.
func (f *Filter) Close() error {
	f.flush()
	for f.err == nil && len(f.queue) > 0 {
		f.waitHead()
		f.drainReady()
	}
	f.Discard()
	return f.err
}

// Discard gives up the includes still running (their output goes
// nowhere) and waits for their goroutines to end. The response is
// over: a client gone, a failure, or the request's end.
func (f *Filter) Discard() {
	for i := range f.queue {
		if part := f.queue[i].part; part != nil {
			part.Cancel()
		}
	}
	for i := range f.queue {
		if part := f.queue[i].part; part != nil {
			part.waitDone()
			part.release(false)
		}
	}
	clear(f.queue)
	f.queue, f.queued = f.queue[:0], 0
}

// emit writes p to the output, or queues it behind an include.
func (f *Filter) emit(p []byte) {
	if f.err != nil || len(p) == 0 {
		return
	}
	if n := len(f.queue); n > 0 {
		if last := &f.queue[n-1]; !last.include && last.part == nil {
			last.text = append(last.text, p...)
		} else {
			f.queue = append(f.queue, segment{text: append([]byte(nil), p...)})
		}
		f.queued += len(p)
		for f.queued > maxQueued && f.err == nil && f.queue[0].part != nil {
			f.waitHead()
			f.drainReady()
		}
		return
	}
	f.write(p)
}

// write writes p to the output.
func (f *Filter) write(p []byte) {
	if _, err := f.out.Write(p); err != nil {
		f.err = err
	}
}

// flush starts the includes of the write at hand, in order, each once
// the one before it ended or waits on something outside, as nginx runs
// its posted subrequests, then outputs what can go out.
func (f *Filter) flush() {
	for i := range f.queue {
		s := &f.queue[i]
		if !s.include || f.err != nil {
			continue
		}
		s.include = false
		var stub []byte
		if s.stub != nil {
			stub = stubText(s.stub.body)
		}
		part := NewPart(f.opts.TempDir)
		if err := f.env.Start(s.path, s.args, stub, part); err != nil {
			if !f.opts.SilentErrors {
				s.text = []byte(f.errmsg)
				f.queued += len(s.text)
			}
			continue
		}
		s.part = part
	}
	f.drainReady()
}

// drainReady outputs the queue's head while it can: text, and the output
// of includes, up to the first one still running.
func (f *Filter) drainReady() {
	n := 0
	for ; n < len(f.queue) && f.err == nil; n++ {
		s := &f.queue[n]
		if s.include {
			break
		}
		if s.part == nil {
			f.write(s.text)
			f.queued -= len(s.text)
			continue
		}
		done, err := s.part.drain(f.out)
		if err != nil {
			if f.err == nil {
				f.err = err
			}
			break
		}
		if !done {
			break
		}
		s.part.release(true)
	}
	if f.err != nil {
		f.Discard()
		return
	}
	rest := copy(f.queue, f.queue[n:])
	clear(f.queue[rest:])
	f.queue = f.queue[:rest]
}

// waitHead waits until the include at the queue's head output something
// or ended, or the client went away (which ends the response). A request
// waiting for f's own response may go on meanwhile (Env.Yield).
func (f *Filter) waitHead() {
	part := f.queue[0].part
	if part == nil {
		return
	}
	ready, changed := part.ready()
	if ready {
		return
	}
	f.env.Yield()
	select {
	case <-changed:
	case <-f.env.Done():
		f.err = ErrAborted
		f.Discard()
	}
}

// text implements events.
func (f *Filter) text(p []byte) {
	switch {
	case f.output:
		f.emit(p)
	case f.inBlock:
		f.shared.appendBlock(p)
	}
}

// logf implements events.
func (f *Filter) logf(format string, args ...any) {
	f.env.Log(fmt.Sprintf(format, args...))
}

// malformed implements events.
func (f *Filter) malformed() { f.fail() }

// fail outputs the error message of a command that failed, whatever the
// branch: nginx's ssi_error.
func (f *Filter) fail() {
	if !f.opts.SilentErrors {
		f.emit([]byte(f.errmsg))
	}
}

// spec is a command nginx knows (ngx_http_ssi_command_t).
type spec struct {
	name        string
	run         func(f *Filter, params []*string) bool
	params      []paramSpec
	conditional int
	block       bool // runs while a block is being recorded (endblock)
}

// paramSpec is a parameter of a command.
type paramSpec struct {
	name      string
	mandatory bool
}

var commands []spec

func init() {
	ifParams := []paramSpec{{"expr", true}}
	commands = []spec{
		{name: "include", run: (*Filter).include, params: []paramSpec{{"virtual", false}, {"file", false}, {"wait", false}, {"set", false}, {"stub", false}}},
		{name: "echo", run: (*Filter).echo, params: []paramSpec{{"var", true}, {"default", false}, {"encoding", false}}},
		{name: "config", run: (*Filter).config, params: []paramSpec{{"errmsg", false}, {"timefmt", false}}},
		{name: "set", run: (*Filter).set, params: []paramSpec{{"var", true}, {"value", true}}},
		{name: "if", run: (*Filter).ifCommand, params: ifParams},
		{name: "elif", run: (*Filter).ifCommand, params: ifParams, conditional: condIf},
		{name: "else", run: (*Filter).elseCommand, conditional: condIf},
		{name: "endif", run: (*Filter).endif, conditional: condElse},
		{name: "block", run: (*Filter).blockCommand, params: []paramSpec{{"name", true}}},
		{name: "endblock", run: (*Filter).endblock, block: true},
	}
}

// find returns the command name (compared with case), or nil.
func find(name string) *spec {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// command implements events: what nginx's body filter does with a command
// its parser read.
func (f *Filter) command(c *Command) {
	cmd := find(c.Name)
	if cmd == nil {
		if f.output {
			f.logf("invalid SSI command: \"%s\"", c.Name)
			f.fail()
		}
		return
	}
	if !f.output && !cmd.block {
		if f.inBlock {
			f.shared.appendBlock([]byte(c.String()))
			return
		}
		if cmd.conditional == 0 {
			return
		}
	}
	if cmd.conditional != 0 && (f.conditional == 0 || f.conditional > cmd.conditional) {
		f.logf("invalid context of SSI command: \"%s\"", c.Name)
		f.fail()
		return
	}
	params, ok := f.bind(cmd, c)
	if ok && !cmd.run(f, params) {
		ok = false
	}
	if !ok {
		f.fail()
	}
}

// bind matches a command's parameters to its spec, as nginx does: a name
// it does not know, a name twice, a mandatory one missing and more than
// 16 are errors.
func (f *Filter) bind(cmd *spec, c *Command) ([]*string, bool) {
	if len(c.Params) > maxParams {
		f.logf("too many SSI command parameters: \"%s\"", c.Name)
		return nil, false
	}
	params := make([]*string, len(cmd.params))
	for i := range c.Params {
		p := &c.Params[i]
		j := 0
		for j < len(cmd.params) && cmd.params[j].name != p.Key {
			j++
		}
		if j == len(cmd.params) {
			f.logf("invalid parameter name: \"%s\" in \"%s\" SSI command", p.Key, c.Name)
			return nil, false
		}
		if params[j] != nil {
			f.logf("duplicate \"%s\" parameter in \"%s\" SSI command", p.Key, c.Name)
			return nil, false
		}
		params[j] = &p.Value
	}
	for j, ps := range cmd.params {
		if ps.mandatory && params[j] == nil {
			f.logf("mandatory \"%s\" parameter is absent in \"%s\" SSI command", ps.name, c.Name)
			return nil, false
		}
	}
	return params, true
}

// variable appends the value of name (lower-cased here) to dst: an SSI
// variable, else $date_local or $date_gmt in f's time format, else an
// nginx variable.
func (f *Filter) variable(dst []byte, name string) ([]byte, bool) {
	name = lower(name)
	if v, ok := f.shared.lookup(name); ok {
		return append(dst, v...), true
	}
	switch name {
	case "date_local":
		return f.appendDate(dst, false), true
	case "date_gmt":
		return f.appendDate(dst, true), true
	}
	return f.env.Variable(dst, name)
}

// appendDate appends the current time in f's time format: "%s" is the
// Unix time; anything else goes through strftime.
func (f *Filter) appendDate(dst []byte, gmt bool) []byte {
	return AppendDate(dst, f.timefmt, f.env.Now(), gmt)
}

// AppendDate appends t as $date_gmt (gmt) or $date_local shows it in
// format: the local time, or UTC named "GMT" as C's gmtime() names it.
// Outside SSI commands nginx's format is DefaultTimefmt.
func AppendDate(dst []byte, format string, t time.Time, gmt bool) []byte {
	if gmt {
		t = t.In(gmtZone)
	} else {
		t = t.Local()
	}
	return Strftime(dst, format, t)
}

// gmtZone is UTC under the name C's gmtime() gives it.
var gmtZone = time.FixedZone("GMT", 0)

// lower lower-cases the ASCII letters of s.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

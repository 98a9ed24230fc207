package ssi

import (
	"errors"
	"fmt"
	"io"
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
}

// Shared is the state the SSI commands of a main request and of all its
// included subrequests share, as nginx keeps it in the main request's
// context: the variables set, the blocks, the last regex's captures.
type Shared struct {
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
	// queue is what waits for the includes of the current write: nginx
	// runs an include without wait only once its request's filter has
	// gone through the buffer at hand, so the commands after it in that
	// buffer see the variables as they were before it. Its output still
	// goes in its place: the text after it waits in the queue too.
	queue []segment
}

// segment is text or an include waiting in Filter.queue.
type segment struct {
	text       []byte
	path, args string
	stub       *block
	include    bool
}

// Reset readies f for a response whose output goes to out, with its
// request's env, the state shared with the main request (nil: f's
// response is the main request's, and a new one is made) and the
// location's options.
func (f *Filter) Reset(out io.Writer, env Env, shared *Shared, opts Options) {
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
	f.queue = f.queue[:0]
}

// Shared is the state f's commands share with those of its main request
// and its other subrequests.
func (f *Filter) Shared() *Shared { return f.shared }

// Write implements io.Writer: p goes through the commands. Its error is
// the output writer's first.
func (f *Filter) Write(p []byte) (int, error) {
	f.p.feed(p)
	f.flush()
	return len(p), f.err
}

// Close ends the body: a command not finished is dropped, as nginx drops
// it. The error is the output writer's first.
func (f *Filter) Close() error {
	f.flush()
	return f.err
}

// emit writes p to the output, or queues it behind an include.
func (f *Filter) emit(p []byte) {
	if f.err != nil || len(p) == 0 {
		return
	}
	if n := len(f.queue); n > 0 {
		if last := &f.queue[n-1]; !last.include {
			last.text = append(last.text, p...)
		} else {
			f.queue = append(f.queue, segment{text: append([]byte(nil), p...)})
		}
		return
	}
	if _, err := f.out.Write(p); err != nil {
		f.err = err
	}
}

// flush runs the queued includes, and outputs the text between them.
func (f *Filter) flush() {
	q := f.queue
	f.queue = nil
	for i := range q {
		if s := &q[i]; s.include {
			f.runInclude(s.path, s.args, s.stub)
		} else {
			f.emit(s.text)
		}
	}
	f.queue = q[:0]
}

// text implements events.
func (f *Filter) text(p []byte) {
	switch {
	case f.output:
		f.emit(p)
	case f.inBlock:
		bl := &f.shared.blocks[len(f.shared.blocks)-1]
		bl.body = append(bl.body, p...)
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
			bl := &f.shared.blocks[len(f.shared.blocks)-1]
			bl.body = append(bl.body, c.String()...)
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

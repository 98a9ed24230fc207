// Package ssi is nginx's SSI filter (ngx_http_ssi_filter_module) for
// fulcrum's responses: the commands written as HTML comments,
// `<!--# command param="value" ... -->`, in a response body are carried
// out as the body streams through, and what they produce replaces them.
//
// The package has two parts: Parser, nginx's state machine that finds the
// commands in the body (ngx_http_ssi_parse), and Filter, which carries
// them out (echo, set, config, if/elif/else/endif, include, block/endblock)
// with the variables, blocks and subrequests its Env gives it.
package ssi

import (
	"fmt"
)

// nginx's limits (ngx_http_ssi_filter_module.h).
const (
	// commandLen is the longest command name.
	commandLen = 32
	// paramLen is the longest parameter name.
	paramLen = 32
	// maxParams is the most parameters a command may have.
	maxParams = 16
)

// Param is one parameter of a command, as written (a value keeps the
// backslashes of its escapes, as nginx keeps them: the commands that
// evaluate a value remove them).
type Param struct {
	Key, Value string
}

// Command is one `<!--# ... -->` the parser found.
type Command struct {
	Name   string
	Params []Param
}

// events is what a Parser tells as it reads a body.
type events interface {
	// text is body bytes that are not part of a command.
	text(p []byte)
	// command is a complete, well-formed command.
	command(c *Command)
	// malformed is the end (-->) of a command the parser could not read;
	// it logged why when it found the fault.
	malformed()
	// logf logs a fault at level error.
	logf(format string, args ...any)
}

// state is ngx_http_ssi_state_e.
type state uint8

const (
	startState state = iota
	tagState
	comment0State
	comment1State
	sharpState
	precommandState
	commandState
	preparamState
	paramState
	preequalState
	prevalueState
	doubleQuotedValueState
	quotedValueState
	quotedSymbolState
	postparamState
	commentEnd0State
	commentEnd1State
	errorState
	errorEnd0State
	errorEnd1State
)

// prefix is what starts a command, "<!--" followed by '#'.
const prefix = "<!--"

// Parser is nginx's SSI state machine over a body that arrives in any
// number of writes. Text goes out as soon as it cannot start a command;
// the bytes of a command (and of a "<!--" that may start one) are held
// until it ends. A body that ends inside a command, or inside "<!--",
// loses those bytes, as nginx's does.
type Parser struct {
	ev events
	// valueLen is ssi_value_length: the longest parameter value.
	valueLen int

	state      state
	savedState state // the quoted state a backslash came from
	looked     int   // the bytes of prefix matched so far
	cmd        []byte
	params     []Param
	key, value []byte // the parameter being read
}

// reset readies p for a new body.
func (p *Parser) reset(ev events, valueLen int) {
	*p = Parser{ev: ev, valueLen: valueLen, cmd: p.cmd[:0], params: p.params[:0]}
}

// feed runs the state machine over b.
func (p *Parser) feed(b []byte) {
	for i := 0; i < len(b); {
		if p.state == startState {
			j := indexByte(b[i:], '<')
			if j < 0 {
				p.ev.text(b[i:])
				return
			}
			if j > 0 {
				p.ev.text(b[i : i+j])
			}
			i += j + 1
			p.state, p.looked = tagState, 1
			continue
		}
		if p.step(b[i]) {
			i++
		}
	}
}

// indexByte is bytes.IndexByte without the import in this file's hot loop.
func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// isSpace is the whitespace nginx skips between a command's parts.
func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

// step takes one byte in a state other than startState and reports whether
// it was consumed (a byte that ends a failed "<!--#" is read again as text).
func (p *Parser) step(ch byte) bool {
	switch p.state {
	case tagState, comment0State, comment1State, sharpState:
		return p.stepPrefix(ch)
	case precommandState:
		if !isSpace(ch) {
			p.cmd = append(p.cmd[:0], ch)
			p.params = p.params[:0]
			p.state = commandState
		}
	case commandState:
		p.stepCommand(ch)
	case preparamState:
		switch {
		case isSpace(ch):
		case ch == '-':
			p.state = commentEnd0State
		default:
			p.key = append(p.key[:0], ch)
			p.value = p.value[:0]
			p.state = paramState
		}
	case paramState:
		p.stepParam(ch)
	case preequalState:
		switch {
		case isSpace(ch):
		case ch == '=':
			p.state = prevalueState
		default:
			p.errorAt(ch, "unexpected \"%c\" symbol after \"%s\" parameter in \"%s\" SSI command", ch, p.key, p.cmd)
		}
	case prevalueState:
		switch {
		case isSpace(ch):
		case ch == '"':
			p.state = doubleQuotedValueState
		case ch == '\'':
			p.state = quotedValueState
		default:
			p.errorAt(ch, "unexpected \"%c\" symbol before value of \"%s\" parameter in \"%s\" SSI command", ch, p.key, p.cmd)
		}
	case doubleQuotedValueState, quotedValueState, quotedSymbolState:
		p.stepValue(ch)
	case postparamState:
		p.params = append(p.params, Param{Key: string(p.key), Value: string(p.value)})
		switch {
		case isSpace(ch):
			p.state = preparamState
		case ch == '-':
			p.state = commentEnd0State
		default:
			p.ev.logf("unexpected \"%c\" symbol after \"%s\" value of \"%s\" parameter in \"%s\" SSI command", ch, p.value, p.key, p.cmd)
			p.state = errorState
		}
	case commentEnd0State:
		if ch == '-' {
			p.state = commentEnd1State
		} else {
			p.ev.logf("unexpected \"%c\" symbol in \"%s\" SSI command", ch, p.cmd)
			p.state = errorState
		}
	case commentEnd1State:
		if ch == '>' {
			p.state = startState
			p.ev.command(&Command{Name: string(p.cmd), Params: p.params})
		} else {
			p.ev.logf("unexpected \"%c\" symbol in \"%s\" SSI command", ch, p.cmd)
			p.state = errorState
		}
	default:
		p.stepError(ch)
	}
	return true
}

// stepPrefix matches "<!--#" after the '<': a byte that does not fit sends
// the bytes matched so far as text and is read again.
func (p *Parser) stepPrefix(ch byte) bool {
	want := byte('#')
	if p.looked < len(prefix) {
		want = prefix[p.looked]
	}
	if ch != want {
		p.ev.text([]byte(prefix[:p.looked]))
		p.state, p.looked = startState, 0
		return false
	}
	if ch == '#' {
		p.state, p.looked = precommandState, 0
		return true
	}
	p.looked++
	p.state++
	return true
}

// stepCommand reads the command name.
func (p *Parser) stepCommand(ch byte) {
	switch {
	case isSpace(ch):
		p.state = preparamState
	case ch == '-':
		p.state = commentEnd0State
	case len(p.cmd) == commandLen:
		p.ev.logf("the \"%s%c...\" SSI command is too long", p.cmd, ch)
		p.state = errorState
	default:
		p.cmd = append(p.cmd, ch)
	}
}

// stepParam reads a parameter name.
func (p *Parser) stepParam(ch byte) {
	switch {
	case isSpace(ch):
		p.state = preequalState
	case ch == '=':
		p.state = prevalueState
	case ch == '-':
		// nginx 1.22 reports it as after the name, and the "-" may
		// begin the "-->" that ends the command.
		p.errorAt(ch, "unexpected \"%c\" symbol after \"%s\" parameter in \"%s\" SSI command", ch, p.key, p.cmd)
	case len(p.key) == paramLen:
		p.ev.logf("too long \"%s%c...\" parameter in \"%s\" SSI command", p.key, ch, p.cmd)
		p.state = errorState
	default:
		p.key = append(p.key, ch)
	}
}

// stepValue reads a quoted value: a backslash is kept with the byte after
// it, which does not end the value.
func (p *Parser) stepValue(ch byte) {
	switch {
	case p.state == quotedSymbolState:
		p.state = p.savedState
	case p.state == doubleQuotedValueState && ch == '"', p.state == quotedValueState && ch == '\'':
		p.state = postparamState
		return
	case ch == '\\':
		p.savedState, p.state = p.state, quotedSymbolState
	}
	if len(p.value) == p.valueLen {
		p.ev.logf("too long \"%s%c...\" value of \"%s\" parameter in \"%s\" SSI command", p.value, ch, p.key, p.cmd)
		p.state = errorState
		return
	}
	p.value = append(p.value, ch)
}

// errorAt logs a fault found at ch and skips to the command's end; a '-'
// may be the first of its "-->".
func (p *Parser) errorAt(ch byte, format string, args ...any) {
	p.ev.logf(format, args...)
	if ch == '-' {
		p.state = errorEnd0State
	} else {
		p.state = errorState
	}
}

// stepError skips a malformed command up to its "-->".
func (p *Parser) stepError(ch byte) {
	switch {
	case ch == '-' && p.state == errorState:
		p.state = errorEnd0State
	case ch == '-' && p.state == errorEnd0State:
		p.state = errorEnd1State
	case ch == '>' && p.state == errorEnd1State:
		p.state = startState
		p.ev.malformed()
	default:
		p.state = errorState
	}
}

// String shows a command as nginx writes one back into a block:
// `<!--#name key="value" -->`.
func (c *Command) String() string {
	s := "<!--#" + c.Name
	for _, p := range c.Params {
		s += fmt.Sprintf(" %s=\"%s\"", p.Key, p.Value)
	}
	return s + " -->"
}

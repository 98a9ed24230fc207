package ssi

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"fulcrum/internal/pcre"
)

// echo outputs a variable's value, encoded: var, default, encoding. An
// encoding given stays for the echo commands after it, as nginx keeps it.
func (f *Filter) echo(params []*string) bool {
	name := *params[0]
	value, found := f.variable(f.scratch[:0], name)
	f.scratch = value[:0]
	if !found {
		if def := params[1]; def != nil {
			value = append(value[:0], *def...)
		} else {
			value = append(value[:0], "(none)"...)
		}
	}
	if len(value) == 0 {
		return true
	}
	if enc := params[2]; enc != nil {
		switch *enc {
		case "none":
			f.encoding = encNone
		case "url":
			f.encoding = encURL
		case "entity":
			f.encoding = encEntity
		default:
			f.logf("unknown encoding \"%s\" in the \"echo\" command", *enc)
		}
	}
	switch f.encoding {
	case encURL:
		f.emit(appendEscapeHTMLURI(nil, value))
	case encEntity:
		f.emit(appendEscapeHTML(nil, value))
	default:
		f.emit(value)
	}
	return true
}

// config sets errmsg and timefmt for the rest of the response.
func (f *Filter) config(params []*string) bool {
	if v := params[1]; v != nil {
		f.timefmt = *v
	}
	if v := params[0]; v != nil {
		f.errmsg = *v
	}
	return true
}

// set gives an SSI variable (shared with the main request and its
// subrequests) a value, its variables evaluated.
func (f *Filter) set(params []*string) bool {
	value, ok := f.evaluate(*params[1], false)
	if !ok {
		return false
	}
	f.shared.set(lower(*params[0]), value)
	return true
}

// ifCommand is if and elif: nginx's ngx_http_ssi_if.
func (f *Filter) ifCommand(params []*string) bool {
	if f.p.cmdIs("if") && f.conditional != 0 {
		f.logf("the \"if\" command inside the \"if\" command")
		return false
	}
	if f.outputChosen {
		f.output = false
		return true
	}
	match, ok := f.expression(*params[0])
	if !ok {
		return false
	}
	f.output = match
	if match {
		f.outputChosen = true
	}
	f.conditional = condIf
	return true
}

// expression evaluates an if's expr: "left", "left = right",
// "left != right", with right a string or a /regex/.
func (f *Filter) expression(expr string) (match, ok bool) {
	b := []byte(expr)
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			b[i] = c | 0x20 // nginx lower-cases the left side in place
			continue
		}
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("${}_\"'", c) >= 0 {
			continue
		}
		break
	}
	left, ok := f.evaluate(string(b[:i]), false)
	if !ok {
		return false, false
	}
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i == len(b) {
		return left != "", true
	}
	negative := false
	switch {
	case b[i] == '=':
		i++
	case i+1 < len(b) && b[i] == '!' && b[i+1] == '=':
		negative = true
		i += 2
	default:
		f.logf("invalid expression in \"%s\"", expr)
		return false, false
	}
	for i < len(b) && b[i] == ' ' {
		i++
	}
	last := len(b)
	regex := false
	if i < last-1 && b[i] == '/' {
		if b[last-1] != '/' {
			f.logf("invalid expression in \"%s\"", expr)
			return false, false
		}
		regex = true
		last--
		i++
	} else if i < last-1 && b[i] == '\\' && b[i+1] == '/' {
		i++
	}
	right, ok := f.evaluate(string(b[i:last]), false)
	if !ok {
		return false, false
	}
	if regex {
		match, ok = f.regexMatch(right, left)
		if !ok {
			return false, false
		}
	} else {
		match = left == right
	}
	return match != negative, true
}

// regexMatch matches subject with pattern and, on a match, keeps its
// captures ($0..$9) and makes its named captures SSI variables.
func (f *Filter) regexMatch(pattern, subject string) (match, ok bool) {
	re, err := pcre.Compile(pattern, false)
	if err != nil {
		var pe *pcre.SyntaxError
		if errors.As(err, &pe) { // nginx's own line (recorded)
			f.logf("%s", pe.Line())
			return false, false
		}
		var se *syntax.Error
		msg := "regexp compile failed: " + err.Error()
		if _, reErr := regexp.Compile(pattern); errors.As(reErr, &se) && !strings.HasPrefix(string(se.Code), "invalid or unsupported Perl") {
			msg = "regexp compile failed: " + string(se.Code) + ": " + se.Expr
		}
		f.logf("%s in \"%s\"", msg, pattern)
		return false, false
	}
	loc, err := re.Submatch(subject)
	if err != nil { // over pcre.MatchLimit: nginx's ngx_http_regex_exec failed
		f.env.LogAlert(err.Error())
		return false, false
	}
	if loc == nil {
		return false, true
	}
	// As PCRE counts them: up to the last group that matched.
	n := len(loc) / 2
	for n > 1 && loc[2*(n-1)] < 0 {
		n--
	}
	sh := f.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.subject = subject
	sh.captures = sh.captures[:0]
	for i := 0; i < n; i++ {
		sh.captures = append(sh.captures, capture{loc[2*i], loc[2*i+1]})
	}
	for i, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		v := ""
		if loc[2*i] >= 0 {
			v = subject[loc[2*i]:loc[2*i+1]]
		}
		sh.setLocked(lower(name), v)
	}
	return true, true
}

// elseCommand takes the else branch when no other was.
func (f *Filter) elseCommand([]*string) bool {
	f.output = !f.outputChosen
	f.conditional = condElse
	return true
}

// endif ends an if.
func (f *Filter) endif([]*string) bool {
	f.output, f.outputChosen, f.conditional = true, false, 0
	return true
}

// blockCommand starts recording a block (for an include's stub): the text
// and the commands up to endblock are kept, not output.
func (f *Filter) blockCommand(params []*string) bool {
	f.shared.newBlock(*params[0])
	f.output, f.inBlock = false, true
	return true
}

// endblock ends a block.
func (f *Filter) endblock([]*string) bool {
	f.output, f.inBlock = true, false
	return true
}

// findBlock returns a copy of the block named name, or nil.
func (s *Shared) findBlock(name string) *block {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.blocks {
		if s.blocks[i].name == name {
			return &block{name: name, body: slices.Clone(s.blocks[i].body)}
		}
	}
	return nil
}

// newBlock starts recording the block name.
func (s *Shared) newBlock(name string) {
	s.mu.Lock()
	s.blocks = append(s.blocks, block{name: name})
	s.mu.Unlock()
}

// appendBlock adds p to the last block.
func (s *Shared) appendBlock(p []byte) {
	s.mu.Lock()
	bl := &s.blocks[len(s.blocks)-1]
	bl.body = append(bl.body, p...)
	s.mu.Unlock()
}

// include is nginx's ngx_http_ssi_include: a subrequest to virtual (or
// file, which is the same with wait), its body output in place, or kept in
// an SSI variable (set), or replaced by a block when it fails or is empty
// (stub). Without wait or set it is queued, and started at the end of the
// write at hand (flush) to run beside the response (Env.Start); with
// either, the includes queued before it start and it runs in place, the
// commands after it waiting for its end.
func (f *Filter) include(params []*string) bool {
	uri, file, wait, set, stub := params[0], params[1], params[2], params[3], params[4]
	switch {
	case uri != nil && file != nil:
		f.logf("inclusion may be either virtual=\"%s\" or file=\"%s\"", *uri, *file)
		return false
	case uri == nil && file == nil:
		f.logf("no parameter in \"include\" SSI command")
		return false
	case set != nil && stub != nil:
		f.logf("\"set\" and \"stub\" cannot be used together in \"include\" SSI command")
		return false
	}
	if wait != nil {
		if uri == nil {
			f.logf("\"wait\" cannot be used with file=\"%s\"", *file)
			return false
		}
		if !strings.EqualFold(*wait, "no") && !strings.EqualFold(*wait, "yes") {
			f.logf("invalid value \"%s\" in the \"wait\" parameter", *wait)
			return false
		}
	}
	if uri == nil {
		uri = file
	}
	target, ok := f.evaluate(*uri, true)
	if !ok {
		return false
	}
	path, args, ok := splitUnsafeURI(target)
	if !ok {
		f.logf("unsafe URI \"%s\" was detected", path)
		return false
	}
	var bl *block
	if stub != nil {
		if bl = f.shared.findBlock(*stub); bl == nil {
			f.logf("\"stub\"=\"%s\" for \"include\" not found", *stub)
			return false
		}
	}
	if set != nil {
		f.flush()
		return f.includeSet(path, args, lower(*set))
	}
	if wait != nil && strings.EqualFold(*wait, "yes") || file != nil {
		f.flush()
		f.runInclude(path, args, bl)
		return true
	}
	f.queue = append(f.queue, segment{path: path, args: args, stub: bl, include: true})
	return true
}

// runInclude runs an include whose output goes in place: the subrequest's
// body, or for a stub the block when it fails or sends nothing.
func (f *Filter) runInclude(path, args string, bl *block) {
	ok := true
	if bl != nil {
		ok = f.includeStub(path, args, bl)
	} else {
		_, err := f.env.Include(path, args, errWriter{f}, nil)
		ok = f.included(err)
	}
	if !ok {
		f.fail()
	}
}

// included reports whether a subrequest ran.
func (f *Filter) included(err error) bool {
	return !errors.Is(err, ErrCycle)
}

// includeSet keeps a subrequest's body in the SSI variable name. A body
// longer than Options.SetLimit ends the whole response, as nginx's "too
// big subrequest response" does.
func (f *Filter) includeSet(path, args, name string) bool {
	f.shared.set(name, "")
	var buf bytes.Buffer
	lw := &limitWriter{buf: &buf, n: f.opts.SetLimit}
	_, err := f.env.Include(path, args, lw, nil)
	if !f.included(err) {
		return false
	}
	if lw.total > buf.Len() {
		f.logf("too big subrequest response: %d", lw.total)
		f.env.Abort()
		f.err = ErrAborted
		return true
	}
	f.shared.set(name, buf.String())
	return true
}

// includeStub outputs a subrequest's body, or, when it failed or sent
// nothing, the block (see Env.Include).
func (f *Filter) includeStub(path, args string, bl *block) bool {
	var buf bytes.Buffer
	_, err := f.env.Include(path, args, &buf, stubText(bl.body))
	if !f.included(err) {
		return false
	}
	f.emit(buf.Bytes())
	return true
}

// stubText is a block's text as Env.Include takes it: never nil.
func stubText(body []byte) []byte {
	if body == nil {
		return []byte{}
	}
	return body
}

// errWriter writes a subrequest's body to the filter's output.
type errWriter struct{ f *Filter }

func (w errWriter) Write(p []byte) (int, error) {
	w.f.emit(p)
	return len(p), w.f.err
}

// limitWriter keeps the first n bytes written to it (all with n <= 0),
// and counts them all.
type limitWriter struct {
	buf   *bytes.Buffer
	n     int
	total int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	w.total += len(p)
	if w.n > 0 {
		if room := w.n - w.buf.Len(); len(p) > room {
			w.buf.Write(p[:max(room, 0)])
			return len(p), nil
		}
	}
	return w.buf.Write(p)
}

// splitUnsafeURI is nginx's ngx_http_parse_unsafe_uri for a subrequest's
// URI: the arguments after '?' split off; an empty URI, a NUL byte or a
// ".." path segment is unsafe (then path is the URI as judged, decoded
// when it had %XX escapes, for the log). A URI with escapes is decoded
// and judged again, and used decoded.
func splitUnsafeURI(uri string) (path, args string, ok bool) {
	if uri == "" || uri[0] == '?' || uri == ".." || strings.HasPrefix(uri, "../") {
		return uri, "", false
	}
	for i := 0; i < len(uri); i++ {
		switch c := uri[i]; {
		case c == '?':
			path, args = uri[:i], uri[i+1:]
			return decodeUnsafe(path, args)
		case c == 0:
			return uri, "", false
		case c == '/':
			rest := uri[i+1:]
			if rest == ".." || strings.HasPrefix(rest, "../") {
				return uri, "", false
			}
		}
	}
	return decodeUnsafe(uri, "")
}

// decodeUnsafe decodes the %XX escapes of a safe path and judges it again
// for NUL bytes and ".." segments. A decoded '?' stays in the path, as in
// nginx's second pass (recorded with nginx 1.22.1: include virtual=
// "/unescape.html%3f" serves the file "unescape.html?", and
// "/test1.html%3ftest=test" opens "test1.html?test=test", 404;
// nginx-tests' ssi.t).
func decodeUnsafe(path, args string) (string, string, bool) {
	if strings.IndexByte(path, '%') < 0 {
		return path, args, true
	}
	d, err := url.PathUnescape(path)
	if err != nil || d == path {
		return path, args, true
	}
	if d == ".." || strings.HasPrefix(d, "../") || strings.IndexByte(d, 0) >= 0 ||
		strings.HasSuffix(d, "/..") || strings.Contains(d, "/../") {
		return d, "", false
	}
	return d, args, true
}

// cmdIs reports whether the command being run is name.
func (p *Parser) cmdIs(name string) bool { return string(p.cmd) == name }

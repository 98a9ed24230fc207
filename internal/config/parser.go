package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxIncludeDepth bounds nested includes; deeper nesting is almost surely a cycle
// through different paths.
const maxIncludeDepth = 32

// Tree is a parsed configuration: the main context's directives, with every include
// already replaced by the directives of the files it names.
type Tree struct {
	// Directives are the main context's directives.
	Directives []*Directive
	// Files lists every file read, main file first, each once.
	Files []SourceFile
}

// ParseOptions control how a configuration is read.
type ParseOptions struct {
	// IncludeDir is the directory that relative include paths resolve against. Empty
	// means the directory of the main file.
	IncludeDir string
	// ReadFile reads a file; nil means os.ReadFile. Tests use it to read from memory.
	ReadFile func(path string) ([]byte, error)
	// Glob expands an include pattern; nil means filepath.Glob.
	Glob func(pattern string) ([]string, error)
}

// ParseFile reads the configuration file at path, following include directives, into
// a Tree. It checks only the language (quotes, braces, semicolons, includes); the
// directive table is checked later by Load.
func ParseFile(path string, opts ParseOptions) (*Tree, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve config path %q: %w", path, err)
	}
	p := newParser(opts, filepath.Dir(abs))
	dirs, err := p.parseFile(abs, Pos{}, 0)
	if err != nil {
		return nil, p.firstError(err)
	}
	return &Tree{Directives: dirs, Files: p.files}, nil
}

// ParseBytes parses src as if it were the file named name. Includes are resolved
// against dir (or the current directory when dir is empty).
func ParseBytes(name string, src []byte, opts ParseOptions) (*Tree, error) {
	dir := opts.IncludeDir
	if dir == "" {
		dir = filepath.Dir(name)
	}
	p := newParser(opts, dir)
	p.files = append(p.files, SourceFile{Path: name, Text: src})
	p.seen[name] = true
	dirs, err := p.parse(newLexer(name, src), 0)
	if err != nil {
		return nil, p.firstError(err)
	}
	return &Tree{Directives: dirs, Files: p.files}, nil
}

type parser struct {
	opts       ParseOptions
	includeDir string
	files      []SourceFile
	seen       map[string]bool // files already in files
	stack      []string        // files being read, outermost first, to catch cycles
	// openers are the blocks read whose "{" nginx's handler may refuse, in
	// the order of the file: a directive that never takes a block, a line
	// of a map (geo, types...), a location, an if. firstError reports the
	// first that nginx refuses.
	openers []opener
	// blocks are the names of the blocks being read, outermost first.
	blocks []string
}

// opener is a block whose "{" nginx's handler may refuse: err when that is
// known when it is read, else d, which openingError checks when the parse
// failed (a location's regex is compiled only then).
type opener struct {
	d   *Directive
	err error
}

// listBlocks are the blocks whose lines nginx hands to the block's own
// handler (cf->handler) instead of reading them as directives: a "{" in
// them is nginx's `unexpected "{"` at once (recorded with nginx 1.22.1 for
// a map's unquoted "~^/a{2}$" key).
var listBlocks = map[string]bool{"map": true, "geo": true, "split_clients": true, "types": true, "charset_map": true}

func newParser(opts ParseOptions, mainDir string) *parser {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Glob == nil {
		opts.Glob = filepath.Glob
	}
	dir := opts.IncludeDir
	if dir == "" {
		dir = mainDir
	}
	return &parser{opts: opts, includeDir: dir, seen: map[string]bool{}}
}

// parseFile reads and parses one file; from is the include directive that named it
// (zero for the main file).
func (p *parser) parseFile(path string, from Pos, depth int) ([]*Directive, error) {
	for _, f := range p.stack {
		if f == path {
			return nil, hintf(from, "remove the include that leads back to it", `include cycle: "%s" includes itself`, path)
		}
	}
	src, err := p.opts.ReadFile(path)
	if err != nil {
		return nil, &Error{Pos: from, Msg: fmt.Sprintf(`open() "%s" failed (%s)`, path, describeOSError(err))}
	}
	if !p.seen[path] {
		p.seen[path] = true
		p.files = append(p.files, SourceFile{Path: path, Text: src})
	}
	p.stack = append(p.stack, path)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	return p.parse(newLexer(path, src), depth)
}

// describeOSError renders an os error the way nginx prints errno, e.g.
// "2: No such file or directory".
func describeOSError(err error) string {
	switch {
	case os.IsNotExist(err):
		return "2: No such file or directory"
	case os.IsPermission(err):
		return "13: Permission denied"
	}
	return err.Error()
}

// parse reads directives until the end of the input (depth 0 of a file) and returns
// them. Blocks are read by parseBlock.
func (p *parser) parse(lx *lexer, depth int) ([]*Directive, error) {
	list, _, err := p.parseList(lx, depth, false)
	return list, err
}

// parseList reads directives until EOF (inBlock false) or a closing brace (inBlock
// true), and returns the line of that brace (0 at EOF).
func (p *parser) parseList(lx *lexer, depth int, inBlock bool) ([]*Directive, int, error) {
	list := []*Directive{}
	for {
		tok, err := lx.next()
		if err != nil {
			return nil, 0, err
		}
		pos := Pos{File: lx.file, Line: tok.line}
		switch tok.kind {
		case tokEOF:
			if inBlock {
				return nil, 0, hintf(pos, `add the missing "}"`, `unexpected end of file, expecting "}"`)
			}
			return list, 0, nil
		case tokClose:
			if !inBlock {
				return nil, 0, hintf(pos, `remove it or add the "{" it closes`, `unexpected "}"`)
			}
			return list, tok.line, nil
		case tokSemicolon:
			return nil, 0, errorf(pos, `unexpected ";"`)
		case tokOpen:
			return nil, 0, errorf(pos, `unexpected "{"`)
		}
		d, err := p.directive(lx, tok, pos, depth)
		if err != nil {
			return nil, 0, err
		}
		if d.Name == "include" && !d.IsBlock {
			included, err := p.include(d, depth)
			if err != nil {
				return nil, 0, err
			}
			list = append(list, included...)
			continue
		}
		list = append(list, d)
	}
}

// directive reads the arguments and block of the directive whose name is first.
func (p *parser) directive(lx *lexer, first token, pos Pos, depth int) (*Directive, error) {
	d := &Directive{Name: first.text, Pos: pos, Args: []string{}}
	for {
		tok, err := lx.next()
		if err != nil {
			return nil, err
		}
		switch tok.kind {
		case tokWord:
			d.Args = append(d.Args, tok.text)
		case tokSemicolon:
			d.Pos.Line = tok.line
			return d, nil
		case tokOpen:
			d.Pos.Line = tok.line
			switch {
			case len(p.blocks) > 0 && listBlocks[p.blocks[len(p.blocks)-1]]:
				// nginx hands a map's (geo's, types'...) lines to the
				// block's handler, which takes no block
				p.openers = append(p.openers, opener{err: hintf(d.Pos, `quote a value that holds "{" or "}" (a regular expression such as "~^/a{2}$")`, `unexpected "{"`)})
			case neverBlock(d.Name):
				p.openers = append(p.openers, opener{err: hintf(d.Pos, fmt.Sprintf(`end the "%s" directive with ";" (quote an argument that holds a "{")`, d.Name),
					`directive "%s" is not terminated by ";"`, d.Name)})
			case d.Name == "location" || d.Name == "if" || strings.Contains(d.Name, "}"):
				p.openers = append(p.openers, opener{d: d})
			}
			p.blocks = append(p.blocks, d.Name)
			block, closeLine, err := p.parseList(lx, depth, true)
			p.blocks = p.blocks[:len(p.blocks)-1]
			if err != nil {
				return nil, err
			}
			d.IsBlock, d.Block = true, block
			d.End = Pos{File: lx.file, Line: closeLine}
			return d, nil
		case tokClose:
			return nil, hintf(Pos{File: lx.file, Line: tok.line}, fmt.Sprintf(`end the "%s" directive with ";"`, d.Name), `unexpected "}"`)
		case tokEOF:
			return nil, hintf(Pos{File: lx.file, Line: tok.line}, fmt.Sprintf(`end the "%s" directive with ";"`, d.Name), `unexpected end of file, expecting ";" or "}"`)
		}
	}
}

// neverBlock reports whether name is a known directive that takes no block
// in any context.
func neverBlock(name string) bool {
	specs := directiveIndex[name]
	for _, s := range specs {
		if s.args&argsBlock != 0 {
			return false
		}
	}
	return len(specs) > 0
}

// firstError is the error a parse that failed with err reports: nginx runs a
// directive's handler at its "{", before it reads the block, so a block
// opened after a directive that takes none (`return 200 a{b;`) stops it there
// with `directive "return" is not terminated by ";"`, before the later
// unbalanced brace or end of file that fulcrum's parser meets. When the whole
// file parses, validate's checkShape gives that error at the same line, in
// the order of the file.
func (p *parser) firstError(err error) error {
	for _, o := range p.openers {
		if o.err != nil {
			return o.err
		}
		if e := openingError(o.d); e != nil {
			return e
		}
	}
	return err
}

// openingError is the error nginx's handler of a location or an if gives at
// its "{", before nginx reads the block: an unquoted "{" in a regular
// expression (`location ~ ^/(\d{4})/ {`, `if ($uri ~ ^/a{2}$) {`) opens the
// block early, and nginx 1.22.1 stops there (recorded: `pcre2_compile()
// failed: missing closing parenthesis in "^/(\d"`, `invalid condition
// "^/a"`) where fulcrum's parser would meet an unbalanced brace later. It is
// nil for any other directive and for arguments the handler accepts. A
// block opened by a name with a "}" that no directive has is nginx's
// `unknown directive "2}$"`.
func openingError(d *Directive) error {
	switch {
	case d.Name == "location" && (len(d.Args) == 1 || len(d.Args) == 2):
		_, err := parseLocation(d)
		return err
	case d.Name == "if" && len(d.Args) > 0:
		_, err := parseCondition(d)
		return err
	case strings.Contains(d.Name, "}") && directiveIndex[d.Name] == nil:
		// the rest of a regular expression whose "{" opened a block:
		// `location ~ ^/a{2}$ {` reads "2}$" as a directive
		return hintf(d.Pos, `an unquoted "{" in a regular expression before it opened a block: quote that regular expression`,
			`unknown directive "%s"`, d.Name)
	}
	return nil
}

// include expands an include directive into the directives of the files it names.
// A pattern (with * ? or [) that matches nothing is not an error; a plain path that
// does not exist is, as in nginx.
func (p *parser) include(d *Directive, depth int) ([]*Directive, error) {
	if len(d.Args) != 1 {
		return nil, errorf(d.Pos, `invalid number of arguments in "include" directive`)
	}
	if depth >= maxIncludeDepth {
		return nil, errorf(d.Pos, `includes nested more than %d deep`, maxIncludeDepth)
	}
	path := d.Args[0]
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.includeDir, path)
	}
	files := []string{path}
	if strings.ContainsAny(path, "*?[") {
		matches, err := p.opts.Glob(path)
		if err != nil {
			return nil, hintf(d.Pos, "fix the pattern", `invalid include pattern "%s": %v`, path, err)
		}
		sort.Strings(matches)
		files = matches
	}
	var out []*Directive
	for _, f := range files {
		dirs, err := p.parseFile(f, d.Pos, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, dirs...)
	}
	return out, nil
}

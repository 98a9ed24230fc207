package config

import "fmt"

// tokenKind is the kind of a lexical token.
type tokenKind int

const (
	tokEOF       tokenKind = iota // end of input
	tokWord                       // a bare or quoted argument
	tokSemicolon                  // ;
	tokOpen                       // {
	tokClose                      // }
)

// token is one lexical token. For tokWord, text holds the value with quotes removed
// and escapes resolved.
type token struct {
	kind   tokenKind
	text   string
	quoted bool
	line   int
}

// lexer splits nginx configuration text into tokens the way ngx_conf_read_token does:
// whitespace separates words, `#` at the start of a word starts a comment, `;` and `{`
// end a word (except `{` right after `$`, as in `${name}`), `}` ends a word only at its
// start, and quoted strings may contain anything. It is a pull lexer: the parser asks
// for one token at a time.
type lexer struct {
	src  []byte
	i    int
	line int
	file string
}

func newLexer(file string, src []byte) *lexer {
	return &lexer{src: src, line: 1, file: file}
}

// next returns the next token, or an error for text that cannot be a token.
func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	if l.i >= len(l.src) {
		return token{kind: tokEOF, line: l.line}, nil
	}
	line := l.line
	switch c := l.src[l.i]; c {
	case ';':
		l.i++
		return token{kind: tokSemicolon, line: line}, nil
	case '{':
		l.i++
		return token{kind: tokOpen, line: line}, nil
	case '}':
		l.i++
		return token{kind: tokClose, line: line}, nil
	case '"', '\'':
		start := l.i
		tok, err := l.quoted(c)
		if err != nil {
			return tok, err
		}
		return tok, l.checkLength(tok, c, l.i-start-2)
	}
	start := l.i
	tok := l.word()
	return tok, l.checkLength(tok, 0, l.i-start)
}

// confBuffer is nginx's NGX_CONF_BUFFER: ngx_conf_read_token reads the file
// through a buffer of this size and refuses a token that does not fit.
const confBuffer = 4096

// checkLength refuses a token of n bytes as written (quote q, or 0 for a bare
// word) that nginx's buffer does not hold, with nginx's words and the line the
// token starts on (recorded with nginx 1.22.1: a bare word of 4096 bytes, a
// quoted one of 4095 between its quotes).
func (l *lexer) checkLength(tok token, q byte, n int) error {
	limit := confBuffer
	if q != 0 {
		limit--
	}
	if n < limit {
		return nil
	}
	pos := Pos{File: l.file, Line: tok.line}
	if q != 0 && n > limit {
		return hintf(pos, "close the quote, or shorten the string", `too long parameter, probably missing terminating "%c" character`, q)
	}
	return hintf(pos, fmt.Sprintf("nginx reads at most %d bytes of one parameter; shorten it", limit),
		`too long parameter "%s..." started`, tok.text[:min(10, len(tok.text))])
}

func (l *lexer) skipSpaceAndComments() {
	for l.i < len(l.src) {
		switch l.src[l.i] {
		case '\n':
			l.line++
			l.i++
		case ' ', '\t', '\r':
			l.i++
		case '#':
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.i++
			}
		default:
			return
		}
	}
}

// word reads a bare word.
func (l *lexer) word() token {
	line := l.line
	var b []byte
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == '\\' && l.i+1 < len(l.src):
			b = l.escape(b, l.src[l.i+1])
			l.i += 2
			continue
		case c == '$' && l.i+1 < len(l.src) && l.src[l.i+1] == '{':
			b = append(b, '$', '{')
			l.i += 2
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{':
			return token{kind: tokWord, text: string(b), line: line}
		}
		b = append(b, c)
		l.i++
	}
	return token{kind: tokWord, text: string(b), line: line}
}

// quoted reads a string in quote q. After the closing quote nginx requires white
// space, `;` or `{` (or `)`, used by `if`).
func (l *lexer) quoted(q byte) (token, error) {
	line := l.line
	l.i++
	b := []byte{}
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == '\\' && l.i+1 < len(l.src):
			b = l.escape(b, l.src[l.i+1])
			l.i += 2
			continue
		case c == q:
			l.i++
			if err := l.checkAfterQuote(); err != nil {
				return token{}, err
			}
			return token{kind: tokWord, text: string(b), quoted: true, line: line}, nil
		case c == '\n':
			l.line++
		}
		b = append(b, c)
		l.i++
	}
	return token{}, hintf(Pos{File: l.file, Line: l.line}, fmt.Sprintf("close the %c quote opened on line %d", q, line),
		`unexpected end of file, expecting ";" or "}"`)
}

func (l *lexer) checkAfterQuote() error {
	if l.i >= len(l.src) {
		return nil
	}
	switch c := l.src[l.i]; c {
	case ' ', '\t', '\r', '\n', ';', '{', ')':
		return nil
	default:
		return errorf(Pos{File: l.file, Line: l.line}, `unexpected "%c"`, c)
	}
}

// escape appends the meaning of backslash + c, as nginx does: \" \' \\ \t \r \n are
// resolved, any other pair is kept as written (so regexes keep their \d and \.).
func (l *lexer) escape(b []byte, c byte) []byte {
	switch c {
	case '"', '\'', '\\':
		return append(b, c)
	case 't':
		return append(b, '\t')
	case 'r':
		return append(b, '\r')
	case 'n':
		return append(b, '\n')
	case '\n':
		l.line++
	}
	return append(b, '\\', c)
}

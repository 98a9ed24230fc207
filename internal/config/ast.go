// Package config reads fulcrum's configuration, written in nginx's configuration
// language, into a typed, validated, immutable Config.
//
// Loading happens in three steps: the lexer and parser turn files into a tree of
// Directives (following include), the validator checks every directive against the
// directive table (contexts, argument counts, value kinds), and the builder turns the
// tree into a Config with nginx's defaults and inheritance applied. Every error names
// the file and line, in nginx's words, and says how to fix it where it can.
package config

// Directive is one directive of a configuration file: a simple directive
// (`name arg ...;`) or a block (`name arg ... { ... }`).
type Directive struct {
	// Name is the directive's name, as written.
	Name string
	// Args are the arguments with quotes removed and escapes resolved.
	// Variables ($name) are kept as text; they are compiled later.
	Args []string
	// IsBlock reports whether the directive has a block, possibly empty.
	IsBlock bool
	// Block holds the directives inside the block; nil when IsBlock is false.
	Block []*Directive
	// Pos is where the directive ends: the line of its ";" or "{", which is
	// the line nginx names in its messages about the directive.
	Pos Pos
	// End is where a block ends: the line of its "}", which nginx names in
	// the messages of checks made once the block is read ("no servers are
	// inside upstream"). Zero for a simple directive and for a directive
	// that was not parsed from a file.
	End Pos
}

// Pos is a place in a configuration file.
type Pos struct {
	// File is the absolute path of the file.
	File string
	// Line is the 1-based line number.
	Line int
}

// String formats the position as nginx does: "file:line".
// A position without a line (such as "command line" for -g) is just the file.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + itoa(p.Line)
}

// SourceFile is one file read while loading a configuration, in the order files were
// first read (the main file first). `fulcrum -T` prints them.
type SourceFile struct {
	// Path is the absolute path.
	Path string
	// Text is the file's content as read.
	Text []byte
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

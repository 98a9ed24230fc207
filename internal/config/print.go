package config

import (
	"strings"
)

// Print renders directives as canonical configuration text: four-space indentation,
// one directive per line, arguments quoted only when they need it. Parsing the output
// gives back the same directives (names, arguments and blocks).
func Print(dirs []*Directive) string {
	var b strings.Builder
	printList(&b, dirs, 0)
	return b.String()
}

func printList(b *strings.Builder, dirs []*Directive, depth int) {
	for _, d := range dirs {
		b.WriteString(strings.Repeat("    ", depth))
		b.WriteString(quoteArg(d.Name))
		for _, a := range d.Args {
			b.WriteByte(' ')
			b.WriteString(quoteArg(a))
		}
		if !d.IsBlock {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n")
		printList(b, d.Block, depth+1)
		b.WriteString(strings.Repeat("    ", depth))
		b.WriteString("}\n")
	}
}

// quoteArg returns s as written in a config file: bare when the lexer would read it
// back unchanged, otherwise double-quoted with ", \ and control characters escaped.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}#\"'\\") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

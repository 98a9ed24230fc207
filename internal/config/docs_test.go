package config

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// docEntry is one directive section of docs/directives.md.
type docEntry struct {
	name, syntax, context, status string
	example                       bool
}

// readDirectiveDocs reads the sections "### name" and the Syntax, Context and Status
// lines of the code block under each.
func readDirectiveDocs(t *testing.T) []docEntry {
	t.Helper()
	f, err := os.Open("../../docs/directives.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "### "); ok {
			out = append(out, docEntry{name: name})
			continue
		}
		if len(out) == 0 {
			continue
		}
		e := &out[len(out)-1]
		for prefix, field := range map[string]*string{"Syntax:  ": &e.syntax, "Context: ": &e.context, "Status:  ": &e.status} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				*field = v
			}
		}
		if line == "```nginx" {
			e.example = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDirectiveDocs keeps docs/directives.md and the directive table in step: every
// spec has a section with its syntax, contexts and status and an example, and every
// section describes a spec.
func TestDirectiveDocs(t *testing.T) {
	docs := readDirectiveDocs(t)
	key := func(name, syntax, ctx, status string) string {
		return name + "|" + syntax + "|" + ctx + "|" + status
	}
	documented := map[string]bool{}
	for _, e := range docs {
		if !e.example {
			t.Errorf("docs: %s has no example", e.name)
		}
		documented[key(e.name, e.syntax, e.context, e.status)] = true
	}
	inTable := map[string]bool{}
	for i := range tableSpecs {
		s := &tableSpecs[i]
		k := key(s.name, s.syntax, s.ctx.String(), s.status.String())
		inTable[k] = true
		if !documented[k] {
			t.Errorf("docs: no section for %s (syntax %q, context %q, status %s)", s.name, s.syntax, s.ctx, s.status)
		}
	}
	for _, e := range docs {
		if !inTable[key(e.name, e.syntax, e.context, e.status)] {
			t.Errorf("docs: section %s (%q, %q, %s) matches nothing in the table", e.name, e.syntax, e.context, e.status)
		}
	}
}

// TestDirectiveStatusLists keeps the "Directives by status" lists of
// docs/directives.md in step with the table: each status's names, sorted, and
// their count.
func TestDirectiveStatusLists(t *testing.T) {
	text, err := os.ReadFile("../../docs/directives.md")
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]map[string]bool{}
	for i := range tableSpecs {
		s := &tableSpecs[i]
		st := s.status.String()
		if byStatus[st] == nil {
			byStatus[st] = map[string]bool{}
		}
		byStatus[st][s.name] = true
	}
	for st, names := range byStatus {
		want := make([]string, 0, len(names))
		for n := range names {
			want = append(want, n)
		}
		sort.Strings(want)
		for i, n := range want {
			want[i] = "`" + n + "`"
		}
		line := fmt.Sprintf("**%s** (%d): %s", st, len(want), strings.Join(want, ", "))
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("docs: the %s list is not\n%s", st, line)
		}
	}
}

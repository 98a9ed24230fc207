package vars

import (
	"errors"
	"testing"
)

// warnings records the names Uninitialized is told about.
type warnings []string

func (w *warnings) UninitializedVariable(name string) { *w = append(*w, name) }

func TestSettable(t *testing.T) {
	c := &Compiler{}
	c.Declare("cap")
	c.DefineCached("mapped", func(dst []byte, _ *State) ([]byte, bool) { return append(dst, "from-map"...), true })
	vars := map[string]Settable{}
	for _, n := range []string{"user", "User2", "mapped", "cap", "args"} {
		s, err := c.DefineSettable(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		vars[n] = s
	}
	tmpl, err := c.Compile("[$user][$USER2][$mapped][$cap][$args]")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	var w warnings
	st.Uninitialized = &w
	st.Args = "a=1"
	if got := tmpl.String(&st); got != "[][][from-map][][a=1]" {
		t.Errorf("before any set: %q", got)
	}
	if len(w) != 2 || w[0] != "user" || w[1] != "user2" {
		t.Errorf("warned about %q, want user and user2", w)
	}
	_ = tmpl.String(&st)
	if len(w) != 2 {
		t.Errorf("warned again: %q (nginx warns once per request)", w)
	}
	vars["user"].Set(&st, []byte("u"))
	vars["User2"].Set(&st, []byte("v"))
	vars["mapped"].Set(&st, []byte("m"))
	vars["cap"].Set(&st, []byte("c"))
	vars["args"].Set(&st, []byte("b=2"))
	vars["user"].Set(&st, []byte("u2")) // a later set replaces
	if got := tmpl.String(&st); got != "[u2][v][m][c][b=2]" {
		t.Errorf("after set: %q", got)
	}
	if !st.Rewritten {
		t.Error("set $args did not mark the URI rewritten")
	}
	st.Reset()
	if got := tmpl.String(&st); got != "[][][from-map][][]" {
		t.Errorf("after Reset: %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		vars["user"].Set(&st, []byte("value"))
		st.Reset()
	}); allocs != 0 {
		t.Errorf("%v allocations per set once warm, want 0", allocs)
	}
}

func TestDefineSettableRefusesBuiltins(t *testing.T) {
	c := &Compiler{}
	for _, n := range []string{"uri", "host", "Request_URI", "remote_addr", "status"} {
		_, err := c.DefineSettable(n)
		var dup *DuplicateVariableError
		if !errors.As(err, &dup) {
			t.Errorf("%s: %v, want a DuplicateVariableError", n, err)
			continue
		}
		if want := `the duplicate "` + dup.Name + `" variable`; err.Error() != want {
			t.Errorf("%s: %q", n, err)
		}
	}
	// prefixed families are not built-in names: set makes its own variable
	if _, err := c.DefineSettable("http_x_mine"); err != nil {
		t.Errorf("http_x_mine: %v", err)
	}
}

func TestAppendEscapedCaptures(t *testing.T) {
	c := &Compiler{}
	tmpl, err := c.Compile("x=$1&y=$2&u=$uri")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	st.Path = "/a b"
	subject := "a b+c#d;e?f%g&h"
	st.SetCaptures(Captures{Subject: subject, Index: []int{0, len(subject), 0, len(subject), 0, 3}})
	got := string(tmpl.AppendEscapedCaptures(nil, st))
	if want := "x=a%20b%2Bc%23d%3Be%3Ff%25g%26h&y=a%20b&u=/a b"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestAppendEscapeArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain/path-._~:@!$'()*,=", "plain/path-._~:@!$'()*,="},
		{" #%&+;?", "%20%23%25%26%2B%3B%3F"},
		{`"<>\^` + "`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D"}, // nginx 1.22's table, checked against it
		{"\x00\x1f\x7f\x80\xff", "%00%1F%7F%80%FF"},
		{"é", "%C3%A9"},
	}
	for _, tt := range tests {
		if got := string(AppendEscapeArgs(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendEscapeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package vars

import (
	"slices"
	"testing"
)

// cycleLog records the cycles a State reports.
type cycleLog []string

func (l *cycleLog) VariableCycle(name string) { *l = append(*l, name) }

// TestDefineCachedCycle checks that a cached variable whose value needs
// itself (map $a from "x$b", map $b from "y$a") is not found at the
// second reference, with the cycle reported, as nginx 1.22.1 logs "cycle
// while evaluating variable" and answers (recorded: "v=$a" gave "v=" and
// 200). Before, the getters called each other until Go's stack limit
// ended the process; the getters here stop at a depth of 50 instead.
func TestDefineCachedCycle(t *testing.T) {
	c := &Compiler{}
	var a, b *Template
	depth, deepest := 0, 0
	from := func(prefix string, tp **Template) Getter {
		return func(dst []byte, st *State) ([]byte, bool) {
			depth++
			defer func() { depth-- }()
			deepest = max(deepest, depth)
			if depth > 50 {
				return dst, false
			}
			return (*tp).Append(append(dst, prefix...), st), true
		}
	}
	c.DefineCached("a", from("x", &b))
	c.DefineCached("b", from("y", &a))
	var err error
	if a, err = c.Compile("$a"); err != nil {
		t.Fatal(err)
	}
	if b, err = c.Compile("$b"); err != nil {
		t.Fatal(err)
	}
	var log cycleLog
	st := &State{}
	for _, tt := range []struct{ first, want string }{{"a", "xy"}, {"b", "yx"}} {
		st.Reset()
		log = log[:0]
		st.Engine = &log
		tp := a
		if tt.first == "b" {
			tp = b
		}
		deepest = 0
		if got := string(tp.Append(nil, st)); got != tt.want {
			t.Errorf("$%s = %q, want %q", tt.first, got, tt.want)
		}
		if deepest > 2 {
			t.Errorf("$%s: the getters nested %d deep", tt.first, deepest)
		}
		if !slices.Equal(log, cycleLog{tt.first}) {
			t.Errorf("$%s: cycles reported %q, want %q", tt.first, log, []string{tt.first})
		}
	}
}

// TestDefineVolatileCycle is TestDefineCachedCycle for variables evaluated
// at each use (volatile maps and geos), which are computed again at every
// reference: each evaluation stops at its own cycle.
func TestDefineVolatileCycle(t *testing.T) {
	c := &Compiler{}
	var a, b *Template
	depth, deepest := 0, 0
	from := func(prefix string, tp **Template) Getter {
		return func(dst []byte, st *State) ([]byte, bool) {
			depth++
			defer func() { depth-- }()
			deepest = max(deepest, depth)
			if depth > 50 {
				return dst, false
			}
			return (*tp).Append(append(dst, prefix...), st), true
		}
	}
	c.DefineVolatile("a", from("x", &b))
	c.DefineVolatile("b", from("y", &a))
	var err error
	if a, err = c.Compile("$a"); err != nil {
		t.Fatal(err)
	}
	if b, err = c.Compile("$b"); err != nil {
		t.Fatal(err)
	}
	both, err := c.Compile("$a,$a")
	if err != nil {
		t.Fatal(err)
	}
	var log cycleLog
	st := &State{Engine: &log}
	if got := string(both.Append(nil, st)); got != "xy,xy" || deepest > 2 {
		t.Errorf("$a,$a = %q nesting %d deep, want \"xy,xy\" at most 2", got, deepest)
	}
	if !slices.Equal(log, cycleLog{"a", "a"}) {
		t.Errorf("cycles reported %q, want [a a]", log)
	}
}

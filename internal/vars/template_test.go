package vars

import (
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"testing"
)

// compileState is a small State for checking how templates are assembled.
func compileState() *State {
	st := &State{}
	st.Method = "GET"
	st.Host = "example.org"
	st.Local = netip.MustParseAddrPort("10.0.0.1:8080")
	st.Remote = netip.MustParseAddrPort("192.0.2.1:40000")
	st.Path = "/img/cat.png"
	st.Args = "a=1"
	st.RequestURI = "/img/cat.png?a=1"
	re := regexp.MustCompile(`^/(\w+)/(?P<file>.+)$`)
	st.Captures = Captures{
		Subject: st.Path,
		Index:   re.FindStringSubmatchIndex(st.Path),
		Names:   re.SubexpNames(),
	}
	return st
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   string
		names  []string
		consts bool
	}{
		{"empty", "", "", nil, true},
		{"literal", "plain text", "plain text", nil, true},
		{"lone variable", "$host", "example.org", []string{"host"}, false},
		{"adjacent text", "$host:$server_port", "example.org:8080", []string{"host", "server_port"}, false},
		{"braces", "${host}name", "example.orgname", []string{"host"}, false},
		{"name stops at dash", "$host-x", "example.org-x", []string{"host"}, false},
		{"name stops at dot", "$remote_addr.log", "192.0.2.1.log", []string{"remote_addr"}, false},
		{"case-insensitive name", "$HOST", "example.org", []string{"host"}, false},
		{"capture", "/$1/", "/img/", []string{"1"}, false},
		{"capture is one digit", "$10", "img0", []string{"1"}, false},
		{"capture then name chars", "$2x", "cat.pngx", []string{"2"}, false},
		{"named capture declared", "$file", "cat.png", []string{"file"}, false},
		{"missing capture group is empty", "[$9]", "[]", []string{"9"}, false},
		{"backslash is not an escape", `\$host`, `\example.org`, []string{"host"}, false},
		{"dollar in middle", "a${uri}b$is_args$args", "a/img/cat.pngb?a=1", []string{"uri", "is_args", "args"}, false},
		{"prefix variable", "$http_x_missing|", "|", []string{"http_x_missing"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Compiler
			c.Declare("file")
			tpl, err := c.Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.src, err)
			}
			if got := tpl.String(compileState()); got != tt.want {
				t.Errorf("value = %q, want %q", got, tt.want)
			}
			if got := tpl.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
			if _, ok := tpl.Constant(); ok != tt.consts {
				t.Errorf("Constant() ok = %v, want %v", ok, tt.consts)
			}
			if tpl.Source() != tt.src {
				t.Errorf("Source() = %q, want %q", tpl.Source(), tt.src)
			}
		})
	}
}

// TestVariable: Variable takes the whole name, as nginx's if condition does.
func TestVariable(t *testing.T) {
	st := compileState()
	st.Args = "add-to-cart=5&a=1"
	tests := []struct {
		name, want string
		found      bool
		err        bool
	}{
		{name: "arg_add-to-cart", want: "5", found: true},
		{name: "ARG_A", want: "1", found: true},
		{name: "host", want: "example.org", found: true},
		{name: "http_x-missing"}, // '-' in a header variable never matches
		{name: "1", err: true},   // not a capture: the unknown variable "1"
		{name: "no-such", err: true},
		{name: "", err: true},
	}
	for _, tt := range tests {
		var c Compiler
		tpl, err := c.Variable(tt.name)
		if (err != nil) != tt.err {
			t.Fatalf("Variable(%q): error %v, want error %v", tt.name, err, tt.err)
		}
		if err != nil {
			continue
		}
		got, found := tpl.AppendFound(nil, st)
		if string(got) != tt.want || found != tt.found {
			t.Errorf("Variable(%q) = %q, %v; want %q, %v", tt.name, got, found, tt.want, tt.found)
		}
	}
}

func TestCompileConstantValue(t *testing.T) {
	var c Compiler
	tpl, err := c.Compile("no variables here")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := tpl.Constant()
	if !ok || s != "no variables here" {
		t.Fatalf("Constant() = %q, %v", s, ok)
	}
	if got := string(tpl.Append([]byte("x="), nil)); got != "x=no variables here" {
		t.Errorf("Append with nil State = %q", got)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"$", "invalid variable name"},
		{"abc$", "invalid variable name"},
		{"$ x", "invalid variable name"},
		{"$-", "invalid variable name"},
		{"${}", "invalid variable name"},
		{"${", "invalid variable name"},
		{"$}", "invalid variable name"},
		{"${host", `the closing bracket in "host" variable is missing`},
		{"${host-x}", `the closing bracket in "host" variable is missing`},
		{"$foo", `unknown "foo" variable`},
		{"$Foo_Bar", `unknown "foo_bar" variable`},
		{"${1}", `unknown "1" variable`},
		{"$0", `unknown "0" variable`},
		{"$host $nope", `unknown "nope" variable`},
		{"$http", `unknown "http" variable`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			var c Compiler
			tpl, err := c.Compile(tt.src)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want error %q", tt.src, tpl, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestCompileErrorTypes(t *testing.T) {
	var c Compiler
	_, err := c.Compile("$")
	if !errors.Is(err, ErrInvalidName) {
		t.Errorf("Compile($): %v is not ErrInvalidName", err)
	}
	_, err = c.Compile("$Nope")
	var unknown *UnknownVariableError
	if !errors.As(err, &unknown) || unknown.Name != "nope" {
		t.Errorf("Compile($Nope): %v, want UnknownVariableError{nope}", err)
	}
	_, err = c.Compile("${x")
	var bracket *MissingBracketError
	if !errors.As(err, &bracket) || bracket.Name != "x" {
		t.Errorf("Compile(${x): %v, want MissingBracketError{x}", err)
	}
}

func TestDeclareAndSetVar(t *testing.T) {
	var c Compiler
	c.Declare("Backend_Pool", "term")
	tpl, err := c.Compile("$backend_pool/$TERM")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	if got := string(tpl.AppendEscaped(nil, st, EscapeDefault)); got != "-/-" {
		t.Errorf("unset declared variables logged as %q, want %q", got, "-/-")
	}
	st.SetVar("backend_pool", "blue")
	st.SetVar("BACKEND_POOL", "green") // replaces, names are case-insensitive
	st.SetVar("term", "from-set")
	if got := tpl.String(st); got != "green/from-set" {
		t.Errorf("after SetVar = %q, want %q", got, "green/from-set")
	}
	// A named capture of the last match wins over a set value.
	re := regexp.MustCompile(`^/(?P<term>\w+)$`)
	st.Captures = Captures{Subject: "/cats", Index: re.FindStringSubmatchIndex("/cats"), Names: re.SubexpNames()}
	if got := tpl.String(st); got != "green/cats" {
		t.Errorf("with capture = %q, want %q", got, "green/cats")
	}
	st.Reset()
	if got := tpl.String(st); got != "/" {
		t.Errorf("after Reset = %q, want %q", got, "/")
	}
}

func TestDefine(t *testing.T) {
	var c Compiler
	c.Define("upper_method", func(dst []byte, st *State) ([]byte, bool) {
		if st.Method == "" {
			return dst, false
		}
		return append(dst, "<"+st.Method+">"...), true
	})
	c.Define("host", func(dst []byte, _ *State) ([]byte, bool) { return append(dst, "hijacked"...), true })
	tpl, err := c.Compile("$upper_method $host")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	st.Method = "PUT"
	st.Host = "a.example"
	if got := tpl.String(st); got != "<PUT> a.example" {
		t.Errorf("= %q, want %q (a built-in name keeps its meaning)", got, "<PUT> a.example")
	}
}

// TestDefinePrefix checks an engine's prefix family: every name with the
// prefix resolves, with the lowercased rest of the name; exact names and
// built-in names keep their meaning, and an unrelated name stays unknown.
func TestDefinePrefix(t *testing.T) {
	var c Compiler
	c.DefinePrefix("jwt_claim_", func(suffix string) Getter { return constGetter("<" + suffix + ">") })
	c.Define("jwt_claim_exact", constGetter("exact"))
	tpl, err := c.Compile("$jwt_claim_sub $JWT_Claim_Email_Verified ${jwt_claim_} $jwt_claim_exact $http_jwt_claim_x")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	st.Header = HeaderMap{"Jwt-Claim-X": {"hdr"}}
	if got, want := tpl.String(st), "<sub> <email_verified> <> exact hdr"; got != want {
		t.Errorf("= %q, want %q", got, want)
	}
	if _, err := c.Compile("$jwt_header_alg"); err == nil {
		t.Error("$jwt_header_alg compiled without its family")
	}
}

func TestTemplateConcurrentUse(t *testing.T) {
	var c Compiler
	tpl, err := c.Compile("$remote_addr:$remote_port $http_x_id")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 8)
	for i := range 8 {
		go func() {
			st := &State{}
			st.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), uint16(1000+i))
			st.Header = HeaderList{{Name: "X-Id", Value: string(rune('a' + i))}}
			var buf []byte
			for range 200 {
				buf = tpl.Append(buf[:0], st)
			}
			done <- string(buf)
		}()
	}
	seen := map[string]bool{}
	for range 8 {
		seen[<-done] = true
	}
	if len(seen) != 8 {
		t.Errorf("8 goroutines produced %d distinct values: %v", len(seen), seen)
	}
	if !seen["10.0.0.3:1003 d"] {
		t.Errorf("missing value of goroutine 3 in %v", seen)
	}
}

// TestDefineCached: a DefineCached variable is computed once per request,
// found or not, and again after Reset; a Define one at every reference.
func TestDefineCached(t *testing.T) {
	var calls int
	counter := func(dst []byte, st *State) ([]byte, bool) {
		calls++
		if st.Method == "" {
			return dst, false
		}
		return append(dst, st.Method...), true
	}
	c := &Compiler{}
	c.DefineCached("once", counter)
	c.Define("each", counter)
	tests := []struct {
		src, method string
		want        string
		calls       int
	}{
		{"[$once][$once][$once]", "GET", "[GET][GET][GET]", 1},
		{"[$once][$once]", "", "[-][-]", 1},
		{"[$each][$each]", "GET", "[GET][GET]", 2},
	}
	st := &State{}
	for _, tt := range tests {
		tpl, err := c.Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		for req := range 2 { // the second request must not see the first's value
			st.Reset()
			st.Method = tt.method
			calls = 0
			if got := string(tpl.AppendEscaped(nil, st, EscapeDefault)); got != tt.want || calls != tt.calls {
				t.Errorf("%s, request %d: %q with %d calls, want %q with %d", tt.src, req, got, calls, tt.want, tt.calls)
			}
		}
	}
	tpl, _ := c.Compile("$once $once")
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		st.Reset()
		st.Method = "POST"
		buf = tpl.Append(buf[:0], st)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

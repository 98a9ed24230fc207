package vars

import (
	"net/netip"
	"testing"
)

// TestDefineAssigned: a variable auth_request_set assigns reads as not found
// until assigned, without an uninitialized-variable warning; one that set
// defined first keeps set's reading (empty, warned).
func TestDefineAssigned(t *testing.T) {
	c := &Compiler{}
	if _, err := c.DefineSettable("both"); err != nil {
		t.Fatal(err)
	}
	user, err := c.DefineAssigned("user")
	if err != nil {
		t.Fatal(err)
	}
	both, err := c.DefineAssigned("both")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DefineAssigned("uri"); err == nil {
		t.Error(`DefineAssigned("uri") accepted a built-in`)
	}
	tests := []struct {
		name, src string
		assign    bool
		want      string
		found     bool
		warned    int
	}{
		{"unassigned", "$user", false, "", false, 0},
		{"shared with set", "$both", false, "", true, 1},
		{"assigned", "$user|$both", true, "alice|bob", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := c.Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var st State
			var w warnings
			st.Uninitialized = &w
			if tt.assign {
				user.Set(&st, []byte("alice"))
				both.Set(&st, []byte("bob"))
			}
			got, found := tmpl.AppendFound(nil, &st)
			if string(got) != tt.want || found != tt.found || len(w) != tt.warned {
				t.Errorf("%q found %v warned %q, want %q found %v warned %d", got, found, w, tt.want, tt.found, tt.warned)
			}
		})
	}
}

// TestSubrequestState: a subrequest sees its own URI, method and upstream
// state, and the main request's come back after it; set variables and the
// subrequest's attempts do not leak into the main request's list.
func TestSubrequestState(t *testing.T) {
	c := &Compiler{}
	v, err := c.DefineSettable("v")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.Compile("$request_method $uri?$args $status [$upstream_status] [$upstream_http_x] $v")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	st.Method, st.Path, st.Args, st.Status = "PUT", "/main", "a=1", 0
	main := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	main.Status = 502
	st.SetUpstreamFields(append(st.UpstreamFields(), Field{Name: "X", Value: "main"}))

	saved := st.BeginSubrequest("/auth", "GET")
	a := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:2"), "")
	a.Status = 401
	st.SetUpstreamFields(append(st.UpstreamFields(), Field{Name: "X", Value: "sub"}))
	st.Status = 401
	v.Set(&st, []byte("kept"))
	if got, want := tmpl.String(&st), "GET /auth? 401 [401] [sub] kept"; got != want {
		t.Errorf("in the subrequest: %q, want %q", got, want)
	}
	st.EndSubrequest(saved)
	if got, want := tmpl.String(&st), "PUT /main?a=1 000 [502] [main] kept"; got != want {
		t.Errorf("after: %q, want %q", got, want)
	}
	if len(st.Upstreams) != 1 || st.Upstreams[0].Status != 502 {
		t.Errorf("upstreams after: %+v", st.Upstreams)
	}
}

// TestCloneState: a cloned subrequest (the slice module's) keeps the
// request's URI, arguments, method and URI state, gets its own status,
// upstream state and $upstream_cache_status, and the main request's come
// back after it.
func TestCloneState(t *testing.T) {
	c := &Compiler{}
	tmpl, err := c.Compile("$request_method $uri?$args $status [$upstream_status] [$upstream_cache_status]")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	st.Method, st.Path, st.Args, st.Rewritten, st.WholeURI = "GET", "/v", "a=1", false, false
	st.CacheStatus = "MISS"
	st.Status = 200
	main := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	main.Status = 206

	saved := st.BeginClone()
	if !st.InSubrequest || st.Rewritten || st.WholeURI {
		t.Errorf("in the clone: InSubrequest %v, Rewritten %v, WholeURI %v", st.InSubrequest, st.Rewritten, st.WholeURI)
	}
	if got, want := tmpl.String(&st), "GET /v?a=1 000 [] []"; got != want {
		t.Errorf("in the clone, before its answer: %q, want %q", got, want)
	}
	a := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:2"), "")
	a.Status = 206
	st.CacheStatus = "HIT"
	st.EndSubrequest(saved)
	if got, want := tmpl.String(&st), "GET /v?a=1 200 [206] [MISS]"; got != want {
		t.Errorf("after: %q, want %q", got, want)
	}
	if st.InSubrequest {
		t.Error("InSubrequest after the clone")
	}
}

// TestFork: a forked State reads the request and the set values it had,
// and what either side changes afterwards (set values, cached values,
// named captures, upstream attempts and fields, URI) stays its own.
func TestFork(t *testing.T) {
	c := &Compiler{}
	v, err := c.DefineSettable("v")
	if err != nil {
		t.Fatal(err)
	}
	c.Declare("name")
	calls := 0
	c.DefineCached("once", func(dst []byte, st *State) ([]byte, bool) {
		calls++
		return append(dst, st.Path...), true
	})
	tmpl, err := c.Compile("$request_method $uri?$args $v $once $name [$upstream_status] [$upstream_http_x]")
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Compile("$request_id")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	st.Method, st.Path, st.Args = "POST", "/main", "a=1"
	v.Set(&st, []byte("before"))
	st.SetVar("name", "main-name")
	a := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	a.Status = 200
	st.SetUpstreamFields(append(st.UpstreamFields(), Field{Name: "X", Value: "main"}))
	if got, want := tmpl.String(&st), "POST /main?a=1 before /main main-name [200] [main]"; got != want {
		t.Fatalf("before the fork: %q, want %q", got, want)
	}

	var fork State
	fork.SetVar("stale", "from a previous request") // a pooled State
	st.Fork(&fork)
	if got, want := tmpl.String(&fork), "POST /main?a=1 before /main main-name [] []"; got != want {
		t.Errorf("the fork: %q, want %q", got, want)
	}
	fork.BeginSubrequest("/mirror", "POST")
	v.Set(&fork, []byte("fork's, longer than the main request's"))
	fork.SetVar("name", "fork-name")
	fa := fork.StartAttempt(netip.MustParseAddrPort("127.0.0.1:2"), "")
	fa.Status = 502
	fork.SetUpstreamFields(append(fork.UpstreamFields(), Field{Name: "X", Value: "fork"}))
	v.Set(&st, []byte("main's"))
	b := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:3"), "")
	b.Status = 404

	if got, want := tmpl.String(&st), "POST /main?a=1 main's /main main-name [200, 404] [main]"; got != want {
		t.Errorf("the main request after: %q, want %q", got, want)
	}
	if got, want := tmpl.String(&fork), "POST /mirror? fork's, longer than the main request's /main fork-name [502] [fork]"; got != want {
		t.Errorf("the fork after: %q, want %q", got, want)
	}
	if calls != 1 {
		t.Errorf("the cached value was computed %d times, want once (the fork keeps it)", calls)
	}
	if a, b := id.String(&st), id.String(&fork); a != b || len(a) != 32 {
		t.Errorf("$request_id %q in the main request, %q in the fork: want one", a, b)
	}
}

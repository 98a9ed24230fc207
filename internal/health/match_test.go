package health

import (
	"net/http"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

func status(not bool, ranges ...[2]int) config.MatchTest {
	return config.MatchTest{Kind: config.MatchStatus, Not: not, Ranges: ranges}
}

func header(name string, not bool, op config.HeaderOp, val string) config.MatchTest {
	t := config.MatchTest{Kind: config.MatchHeader, Header: name, Not: not, Op: op, Value: val}
	if op == config.HeaderRegex {
		t.Regex = pcre.MustCompile(val, false)
	}
	return t
}

func body(not bool, re string) config.MatchTest {
	return config.MatchTest{Kind: config.MatchBody, Not: not, Regex: pcre.MustCompile(re, false)}
}

func TestMatches(t *testing.T) {
	hdr := http.Header{"Content-Type": {"text/html"}, "X-Role": {"primary", "ready"}}
	page := []byte("<h1>Welcome to nginx!</h1>")
	tests := []struct {
		name   string
		tests  []config.MatchTest // nil: no match block
		status int
		want   bool
	}{
		{"no match: 200", nil, 200, true},
		{"no match: 302", nil, 302, true},
		{"no match: 404", nil, 404, false},
		{"no match: 500", nil, 500, false},
		{"no match: 101", nil, 101, false},
		{"empty block: 204", []config.MatchTest{}, 204, true},
		{"empty block: 503", []config.MatchTest{}, 503, false},
		{"status 200", []config.MatchTest{status(false, [2]int{200, 200})}, 200, true},
		{"status 200 on 201", []config.MatchTest{status(false, [2]int{200, 200})}, 201, false},
		{"status ! 500 on 404", []config.MatchTest{status(true, [2]int{500, 500})}, 404, true},
		{"status ! 500 on 500", []config.MatchTest{status(true, [2]int{500, 500})}, 500, false},
		{"status 200 204 on 204", []config.MatchTest{status(false, [2]int{200, 200}, [2]int{204, 204})}, 204, true},
		{"status 200-399 on 399", []config.MatchTest{status(false, [2]int{200, 399})}, 399, true},
		{"status 200-399 on 400", []config.MatchTest{status(false, [2]int{200, 399})}, 400, false},
		{"status ! 400-599 on 302", []config.MatchTest{status(true, [2]int{400, 599})}, 302, true},
		{"status ! 400-599 on 503", []config.MatchTest{status(true, [2]int{400, 599})}, 503, false},
		{"header present", []config.MatchTest{header("content-type", false, config.HeaderPresent, "")}, 200, true},
		{"header present, absent", []config.MatchTest{header("X-Missing", false, config.HeaderPresent, "")}, 200, false},
		{"header ! absent", []config.MatchTest{header("X-Missing", true, config.HeaderPresent, "")}, 200, true},
		{"header ! present", []config.MatchTest{header("Content-Type", true, config.HeaderPresent, "")}, 200, false},
		{"header =", []config.MatchTest{header("Content-Type", false, config.HeaderEqual, "text/html")}, 200, true},
		{"header = is exact", []config.MatchTest{header("Content-Type", false, config.HeaderEqual, "text/htm")}, 200, false},
		{"header = any field", []config.MatchTest{header("X-Role", false, config.HeaderEqual, "ready")}, 200, true},
		{"header = absent", []config.MatchTest{header("X-Missing", false, config.HeaderEqual, "a")}, 200, false},
		{"header !=", []config.MatchTest{header("Content-Type", true, config.HeaderEqual, "text/plain")}, 200, true},
		{"header != same", []config.MatchTest{header("Content-Type", true, config.HeaderEqual, "text/html")}, 200, false},
		{"header != absent", []config.MatchTest{header("X-Missing", true, config.HeaderEqual, "a")}, 200, true},
		{"header ~", []config.MatchTest{header("Content-Type", false, config.HeaderRegex, "^text/")}, 200, true},
		{"header ~ no", []config.MatchTest{header("Content-Type", false, config.HeaderRegex, "json")}, 200, false},
		{"header !~", []config.MatchTest{header("Content-Type", true, config.HeaderRegex, "json")}, 200, true},
		{"header !~ matching", []config.MatchTest{header("Content-Type", true, config.HeaderRegex, "html")}, 200, false},
		{"body ~", []config.MatchTest{body(false, "Welcome to nginx!")}, 200, true},
		{"body ~ no", []config.MatchTest{body(false, "Welcome to Apache")}, 200, false},
		{"body !~", []config.MatchTest{body(true, "error")}, 200, true},
		{"body !~ matching", []config.MatchTest{body(true, "Welcome")}, 200, false},
		{"all tests: one fails", []config.MatchTest{status(false, [2]int{200, 200}), body(false, "nope")}, 200, false},
		{"all tests pass", []config.MatchTest{status(false, [2]int{200, 200}), header("Content-Type", false, config.HeaderEqual, "text/html"), body(false, "Welcome")}, 200, true},
		{"tests replace the 2xx/3xx rule", []config.MatchTest{status(false, [2]int{503, 503})}, 503, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *config.Match
			if tt.tests != nil {
				m = &config.Match{Name: "m", Tests: tt.tests}
			}
			if got := Matches(m, tt.status, hdr, page); got != tt.want {
				t.Errorf("Matches = %t, want %t", got, tt.want)
			}
		})
	}
}

// TestMatchesMatchLimit: a body or header regex whose match hits the
// backtracking engine's bound fails its test, with "!~" too: a check
// that could not tell is no pass (nginx's match blocks are NGINX Plus's,
// not in nginx 1.22.1, so this is fulcrum's rule).
func TestMatchesMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	hdr := http.Header{"X-Long": {long}}
	redos := `^(a|aa)+(?!x)$`
	for _, tc := range []struct {
		name string
		test config.MatchTest
	}{
		{"body ~", body(false, redos)},
		{"body !~", body(true, redos)},
		{"header ~", header("X-Long", false, config.HeaderRegex, redos)},
		{"header !~", header("X-Long", true, config.HeaderRegex, redos)},
	} {
		if Matches(&config.Match{Name: "m", Tests: []config.MatchTest{tc.test}}, 200, hdr, []byte(long)) {
			t.Errorf("%s: passes, want the test failed", tc.name)
		}
	}
}

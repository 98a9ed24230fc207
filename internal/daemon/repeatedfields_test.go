package daemon

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestEngineRepeatedFields: a repeated field's values join one header key
// in the order sent, whether the repeat comes among the first distinct
// keys (found by buildRequest's scan) or after more than scanKeys of them
// (found in the map); a key's case does not matter; and a request on the
// same connection with other fields sees none of the previous request's.
func TestEngineRepeatedFields(t *testing.T) {
	ts := startEngine(t, defaultLimits, echoHeader)
	var many strings.Builder
	for i := range scanKeys + 4 {
		fmt.Fprintf(&many, "X-F%02d: %d\r\n", i, i)
	}
	rc := dialEngine(t, ts.addr)
	for _, tc := range []struct {
		fields string
		want   []string // in the answer, besides Host
		keys   int      // Host included
	}{
		{"A: 1\r\nb: 2\r\na: 3\r\n", []string{"A=1,3;", "B=2;"}, 3},
		{"C: 1\r\n", []string{"C=1;"}, 2},
		{"X-F00: early\r\n" + many.String() + "x-f00: late\r\nX-F19: again\r\n", []string{"X-F00=early,0,late;", "X-F01=1;", "X-F19=19,again;"}, scanKeys + 5},
		{"D: 4\r\n", []string{"D=4;"}, 2},
	} {
		rc.send("GET / HTTP/1.1\r\nHost: a\r\n" + tc.fields + "\r\n")
		_, body := rc.response(http.MethodGet)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("fields %q: answer %q, want %q in it", tc.fields, body, w)
			}
		}
		if n := strings.Count(body, ";"); n != tc.keys {
			t.Errorf("fields %q: answer %q has %d keys, want %d", tc.fields, body, n, tc.keys)
		}
	}
}

// TestEngineFieldNamesReused: a request named exactly as the previous one
// on its connection takes that request's names (sameNames); any other
// (another spelling, another name, another count) gets its own, and a
// repeat is still joined under one key.
func TestEngineFieldNamesReused(t *testing.T) {
	ts := startEngine(t, defaultLimits, echoHeader)
	rc := dialEngine(t, ts.addr)
	for _, tc := range []struct{ fields, want string }{
		{"A: 1\r\nb: 2\r\n", "A=1;B=2;Host=a;"},
		{"A: 5\r\nb: 6\r\n", "A=5;B=6;Host=a;"},
		{"a: 7\r\nB: 8\r\n", "A=7;B=8;Host=a;"},
		{"a: 9\r\nB: 10\r\n", "A=9;B=10;Host=a;"},
		{"a: 1\r\nC: 2\r\n", "A=1;C=2;Host=a;"},
		{"a: 1\r\n", "A=1;Host=a;"},
		{"A: 1\r\na: 2\r\n", "A=1,2;Host=a;"},
		{"A: 3\r\na: 4\r\n", "A=3,4;Host=a;"},
		{"A: \r\na: x y\r\n", "A=,x y;Host=a;"},
	} {
		rc.send("GET / HTTP/1.1\r\nHost: a\r\n" + tc.fields + "\r\n")
		if _, body := rc.response(http.MethodGet); body != tc.want {
			t.Errorf("fields %q: answer %q, want %q", tc.fields, body, tc.want)
		}
	}
}

// TestEngineHeaderKeptAfterHandler: a request named as the previous one
// keeps that request's header keys (keptHeader) only when its handler left
// them as they were: whatever a handler did to r.Header (a key deleted,
// added, replaced, a value appended or set in place), the next request
// sees its own fields and nothing else.
func TestEngineHeaderKeptAfterHandler(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		echoHeader(w, r)
		switch r.Header.Get("Op") {
		case "del":
			delete(r.Header, "B")
		case "add":
			r.Header["Z"] = []string{"z"}
		case "swap":
			delete(r.Header, "B")
			r.Header["Z"] = []string{"z"}
		case "set":
			r.Header["B"] = []string{"set"}
		case "append":
			r.Header["B"] = append(r.Header["B"], "more")
		case "inplace":
			r.Header["B"][0] = "inplace"
		case "reslice":
			r.Header["B"] = r.Header["B"][:0]
		}
	})
	rc := dialEngine(t, ts.addr)
	for _, op := range []string{"none", "none", "del", "none", "add", "none", "swap", "none", "set", "none",
		"append", "none", "inplace", "none", "reslice", "none", "none"} {
		for _, b := range []string{"1", "2"} {
			rc.send("GET / HTTP/1.1\r\nHost: a\r\nOp: " + op + "\r\nB: " + b + "\r\n\r\n")
			want := "B=" + b + ";Host=a;Op=" + op + ";"
			if _, body := rc.response(http.MethodGet); body != want {
				t.Errorf("after op %q: answer %q, want %q", op, body, want)
			}
		}
	}
}

// echoHeader answers with r's header as "Key=v1,v2;" for each key, the keys
// sorted.
func echoHeader(w http.ResponseWriter, r *http.Request) {
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%s;", k, strings.Join(r.Header[k], ","))
	}
}

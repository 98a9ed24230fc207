package daemon

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/proxy"
)

// listTestWriter is a respWriter writing into out, its head dated at.
func listTestWriter(out *bytes.Buffer, at time.Time, head bool) *respWriter {
	cc := &clientConn{srv: &httpServer{date: &dateCache{}}, bw: bufio.NewWriter(out)}
	w := &respWriter{cc: cc, header: http.Header{}}
	w.reset(head)
	w.kaTimeout = time.Minute
	w.SetHeadTime(at)
	return w
}

// TestListedHeaderMatchesMap: a header the proxy hands over as a list
// (SetFields) goes out byte for byte as the same fields put in the header
// map with their order, and Header() asked for at any point (before the
// head, as a filter does, or after it, as $sent_http_NAME does) is the map
// the other way has.
func TestListedHeaderMatchesMap(t *testing.T) {
	type field struct{ name, key, value string }
	tests := []struct {
		name   string
		status int
		head   bool // a HEAD request
		server string
		fields []field
	}{
		{name: "small", status: 200, server: "fulcrum",
			fields: []field{{"Content-Length", "Content-Length", "13"}, {"Content-Type", "Content-Type", "text/plain"}}},
		{name: "spelling and order kept", status: 200, server: "fulcrum", fields: []field{
			{"x-first", "X-First", "1"}, {"content-type", "Content-Type", "text/html"}, {"ETag", "Etag", `"e"`},
			{"Last-Modified", "Last-Modified", "d"}, {"Location", "Location", "/x"}, {"content-length", "Content-Length", "2"},
			{"Set-Cookie", "Set-Cookie", "a=1"}}},
		{name: "server_tokens on", status: 200, server: serverTokensOn[0],
			fields: []field{{"Content-Length", "Content-Length", "13"}, {"Content-Type", "Content-Type", "text/plain"}}},
		{name: "the upstream's Date, fulcrum's Server", status: 200, server: "fulcrum", fields: []field{
			{"Date", "Date", "then"}, {"Content-Length", "Content-Length", "0"}}},
		{name: "the upstream's Date and Server", status: 200, fields: []field{
			{"Server", "Server", "up"}, {"Date", "Date", "then"}, {"Content-Length", "Content-Length", "0"}}},
		{name: "the upstream's Connection", status: 200, server: "fulcrum", fields: []field{
			{"Connection", "Connection", "close"}, {"Content-Length", "Content-Length", "1"}, {"X-A", "X-A", "a"}}},
		{name: "HEAD", status: 200, head: true, server: "fulcrum",
			fields: []field{{"Content-Length", "Content-Length", "13"}}},
		{name: "no length", status: 200, server: "fulcrum", fields: []field{{"Content-Type", "Content-Type", "t"}}},
		{name: "a length with zeros", status: 200, server: "fulcrum", fields: []field{{"Content-Length", "Content-Length", "007"}}},
		{name: "not a length", status: 200, server: "fulcrum", fields: []field{{"Content-Length", "Content-Length", "x"}}},
		{name: "204", status: 204, server: "fulcrum", fields: []field{{"Content-Length", "Content-Length", "0"}, {"X-A", "X-A", "a"}}},
		{name: "304", status: 304, server: "fulcrum", fields: []field{{"Content-Length", "Content-Length", "9"}, {"Etag", "Etag", "e"}}},
		{name: "a CR in a value of the order", status: 200, server: "fulcrum",
			fields: []field{{"Content-Length", "Content-Length", "1"}, {"X-Bad", "X-Bad", "a\r\nInjected: 1"}, {"X-Good", "X-Good", "g"}}},
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		for _, early := range []bool{false, true} {
			name := tt.name
			if early {
				name += ", Header() before the head"
			}
			t.Run(name, func(t *testing.T) {
				var listOut, mapOut bytes.Buffer
				order := make([]proxy.FieldPos, len(tt.fields))
				for i, f := range tt.fields {
					order[i] = proxy.FieldPos{Name: f.name, Key: f.key}
				}

				lw := listTestWriter(&listOut, at, tt.head)
				vals := lw.HeaderValues(len(tt.fields))
				for i, f := range tt.fields {
					vals[i] = f.value
				}
				if !lw.SetFields(order, vals) {
					t.Fatal("SetFields declined")
				}
				if tt.server != "" && !lw.listServer(tt.server) {
					t.Fatal("listServer declined")
				}
				if early {
					lw.Header()
				}
				lw.WriteHeader(tt.status)
				lw.commit(0) // an empty body, as finish would end it
				_ = lw.cc.bw.Flush()

				mw := listTestWriter(&mapOut, at, tt.head)
				mvals := mw.HeaderValues(len(tt.fields))
				h := mw.Header()
				for i, f := range tt.fields {
					mvals[i] = f.value
					h[f.key] = mvals[i : i+1 : i+1]
				}
				mw.SetFieldOrder(order)
				if tt.server != "" {
					h["Server"] = []string{tt.server}
				}
				mw.WriteHeader(tt.status)
				mw.commit(0)
				_ = mw.cc.bw.Flush()

				if listOut.String() != mapOut.String() {
					t.Errorf("listed head\n%q\nthe map's\n%q", listOut.String(), mapOut.String())
				}
				if got, want := lw.Header(), mw.Header(); !reflect.DeepEqual(got, want) {
					t.Errorf("Header() after the head\n%v\nthe map's\n%v", got, want)
				}
				if got, _, _ := lw.sentHeader().Lookup("Connection", 0); got != mw.Header().Get("Connection") {
					t.Errorf("$sent_http_connection %q, want %q", got, mw.Header().Get("Connection"))
				}
			})
		}
	}
}

// TestSetFieldsDeclines: what the list cannot carry goes to the map: a
// header with fields already, a Transfer-Encoding, values that are not the
// writer's storage, a Server value not fulcrum's own, and a second list.
func TestSetFieldsDeclines(t *testing.T) {
	var out bytes.Buffer
	at := time.Now()
	order := []proxy.FieldPos{{Name: "X-A", Key: "X-A"}}

	w := listTestWriter(&out, at, false)
	w.Header()["X-Before"] = []string{"1"}
	if w.SetFields(order, w.HeaderValues(1)) {
		t.Error("taken over a header with fields")
	}

	w = listTestWriter(&out, at, false)
	if w.SetFields([]proxy.FieldPos{{Name: "Transfer-Encoding", Key: "Transfer-Encoding"}}, w.HeaderValues(1)) {
		t.Error("a Transfer-Encoding taken")
	}

	w = listTestWriter(&out, at, false)
	w.HeaderValues(1)
	if w.SetFields(order, []string{"v"}) {
		t.Error("values not of the writer's storage taken")
	}

	w = listTestWriter(&out, at, false)
	vals := w.HeaderValues(1)
	vals[0] = "v"
	if !w.SetFields(order, vals) {
		t.Fatal("declined")
	}
	if w.listServer("other/1") {
		t.Error("a Server value not fulcrum's own listed")
	}
	if w.SetFields(order, w.HeaderValues(1)) {
		t.Error("a second list taken")
	}
	if got := w.Header()["X-A"]; len(got) != 1 || got[0] != "v" {
		t.Errorf("X-A = %q after HeaderValues, want the listed value", got)
	}
}

// TestSafeValueEveryPlace: safeValue, eight bytes a step, finds a CR, LF or
// NUL at every place of values up to three steps long, and only those.
func TestSafeValueEveryPlace(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				v := []byte(strings.Repeat("a", n))
				v[at] = byte(c)
				want := c != '\r' && c != '\n' && c != 0
				if got := safeValue(string(v)); got != want {
					t.Fatalf("safeValue(%q) = %v, want %v", v, got, want)
				}
				if got := safeValue(v); got != want {
					t.Fatalf("safeValue([]byte %q) = %v, want %v", v, got, want)
				}
			}
		}
	}
}

// TestListedAgainAfterClear: a header listed, built and cleared (an
// upgrade's or an error page's clear(Header())) and listed again has only
// the second list's fields: the first one's Server stays behind.
func TestListedAgainAfterClear(t *testing.T) {
	var out bytes.Buffer
	w := listTestWriter(&out, time.Now(), false)
	vals := w.HeaderValues(1)
	vals[0] = "1"
	if !w.SetFields([]proxy.FieldPos{{Name: "X-A", Key: "X-A"}}, vals) || !w.listServer("fulcrum") {
		t.Fatal("declined")
	}
	clear(w.Header())
	vals = w.HeaderValues(1)
	vals[0] = "2"
	if !w.SetFields([]proxy.FieldPos{{Name: "X-B", Key: "X-B"}}, vals) {
		t.Fatal("second list declined")
	}
	if got, want := w.Header(), (http.Header{"X-B": {"2"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Header() = %v, want %v", got, want)
	}
}

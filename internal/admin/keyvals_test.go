package admin

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/keyval"
	"fulcrum/internal/testutil"
)

// keyvalSource is a Source with keyval zones and nothing else: zones in
// http, streams in stream; changes counts the ChangeKeyval calls that
// succeeded (a state file write).
type keyvalSource struct {
	zoneSource
	zones, streams []KeyvalZone
	mu             sync.Mutex
	changes        int
}

func (s *keyvalSource) KeyvalZones(b Block) []KeyvalZone {
	if b == Stream {
		return s.streams
	}
	return s.zones
}

func (s *keyvalSource) ChangeKeyval(b Block, name string, change func(KeyvalZone) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.KeyvalZones(b) {
		if z.Name == name {
			if err := change(z); err != nil {
				return err
			}
			s.changes++
			return nil
		}
	}
	return ErrKeyvalNotFound
}

// TestKeyvalAPI runs every keyval method and error in order against two
// zones, as NGINX Plus's /http/keyvals endpoints answer them.
func TestKeyvalAPI(t *testing.T) {
	clock := testutil.NewClock(time.Unix(1000, 0))
	one := keyval.NewZone("one", 1<<20, keyval.String, clock.Now)
	deny := keyval.NewZone("deny", 32<<10, keyval.IP, clock.Now)
	names := keyval.NewZone("names", 1<<20, keyval.Prefix, clock.Now)
	src := &keyvalSource{zones: []KeyvalZone{{Name: "one", Zone: one}, {Name: "deny", Zone: deny, Timeout: 10 * time.Second}},
		streams: []KeyvalZone{{Name: "names", Zone: names}}}
	api := &API{Source: src, Write: true}
	big := strings.Repeat("x", 30<<10)
	tests := []struct {
		method, path, body string
		status             int
		want               string // the body, or the error's code
	}{
		{"GET", "/9/http/keyvals/", "", 200, `{"one":{},"deny":{}}`},
		{"GET", "/9/http/keyvals/nope", "", 404, "KeyvalNotFound"},
		{"POST", "/9/http/keyvals/nope", `{"a":"1"}`, 404, "KeyvalNotFound"},
		{"POST", "/9/http/keyvals/one", `{"a":"1","b":"2"}`, 201, ""},
		{"GET", "/9/http/keyvals/one", "", 200, `{"a":"1","b":"2"}`},
		{"GET", "/9/http/keyvals/one?key=b", "", 200, `{"b":"2"}`},
		{"GET", "/9/http/keyvals/one?key=c", "", 404, "KeyvalKeyNotFound"},
		{"POST", "/9/http/keyvals/one", `{"a":"3"}`, 409, "KeyvalKeyExists"},
		{"POST", "/9/http/keyvals/one", `{"c":"3","d":"4"}`, 400, "KeyvalFormatError"}, // only one key can be added
		{"POST", "/9/http/keyvals/one", `{}`, 400, "KeyvalFormatError"},                // key required
		{"POST", "/9/http/keyvals/one", `{"c":null}`, 400, "KeyvalFormatError"},
		{"POST", "/9/http/keyvals/one", `{"c":1}`, 400, "KeyvalFormatError"},
		{"POST", "/9/http/keyvals/one", `["c"]`, 400, "KeyvalFormatError"},
		{"POST", "/9/http/keyvals/one", `{"c":`, 400, "KeyvalFormatError"},
		{"POST", "/9/http/keyvals/one", `{"c":{"value":"3","expire":1000}}`, 400, "KeyvalFormatError"}, // timeout not enabled
		{"POST", "/9/http/keyvals/one", `{"c":{"value":"3","color":1}}`, 400, "KeyvalFormatError"},
		{"PATCH", "/9/http/keyvals/one", `{"a":"10"}`, 204, ""},
		{"PATCH", "/9/http/keyvals/one", `{"b":null}`, 204, ""},
		{"GET", "/9/http/keyvals/one", "", 200, `{"a":"10"}`},
		{"PATCH", "/9/http/keyvals/one", `{"zz":"1"}`, 404, "KeyvalKeyNotFound"},
		{"PATCH", "/9/http/keyvals/one", `{"a":"1","b":"2"}`, 400, "KeyvalFormatError"}, // only one key can be updated
		{"PATCH", "/9/http/keyvals/one", `{}`, 400, "KeyvalFormatError"},
		{"PUT", "/9/http/keyvals/one", `{}`, 405, "MethodNotSupported"},
		{"POST", "/9/http/keyvals/", `{"a":"1"}`, 405, "MethodNotSupported"},
		{"GET", "/9/http/keyvals/one/a", "", 404, "PathNotFound"},
		{"POST", "/9/http/keyvals/deny", `{"10.0.0.0/8":"1","192.0.2.1":{"value":"2","expire":2000}}`, 201, ""},
		{"POST", "/9/http/keyvals/deny", `{"host":"1"}`, 400, "KeyvalFormatError"}, // invalid key format
		{"POST", "/9/http/keyvals/deny", `{"10.1.0.0/16":"` + big + `"}`, 507, "KeyvalNoMemory"},
		{"GET", "/9/http/keyvals/", "", 200, `{"one":{"a":"10"},"deny":{"10.0.0.0/8":"1","192.0.2.1":"2"}}`},
		{"GET", "/9/http/keyvals/?fields=", "", 200, `{"one":{},"deny":{}}`},
		{"DELETE", "/9/http/keyvals/one", "", 204, ""},
		{"GET", "/9/http/keyvals/one", "", 200, `{}`},
		{"DELETE", "/9/http/keyvals/nope", "", 404, "KeyvalNotFound"},
		// The stream block's zones are apart.
		{"GET", "/9/stream/keyvals/", "", 200, `{"names":{}}`},
		{"GET", "/9/stream/keyvals/one", "", 404, "KeyvalNotFound"},
		{"POST", "/9/stream/keyvals/names", `{"db.":"10.0.0.1:5432"}`, 201, ""},
		{"GET", "/9/stream/keyvals/names?key=db.", "", 200, `{"db.":"10.0.0.1:5432"}`},
		{"PATCH", "/9/stream/keyvals/names", `{"db.":"10.0.0.2:5432"}`, 204, ""},
		{"GET", "/9/stream/keyvals", "", 200, `{"names":{"db.":"10.0.0.2:5432"}}`},
		{"DELETE", "/9/stream/keyvals/names", "", 204, ""},
		{"GET", "/9/http/keyvals/one", "", 200, `{}`},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		path, _, _ := strings.Cut(tt.path, "?")
		api.Serve(w, httptest.NewRequest(tt.method, "/api"+tt.path, strings.NewReader(tt.body)), Request{Path: path, ID: "id"})
		if w.Code != tt.status {
			t.Fatalf("%s %s %s: status %d, want %d (%s)", tt.method, tt.path, tt.body, w.Code, tt.status, w.Body)
		}
		got := w.Body.String()
		if tt.status >= 400 {
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != tt.want || e.Error.Status != tt.status || e.RequestID != "id" {
				t.Errorf("%s %s %s: error %s, want code %s", tt.method, tt.path, tt.body, got, tt.want)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s %s %s: body %s, want %s", tt.method, tt.path, tt.body, got, tt.want)
		}
	}
	// The per-key expire overrides the zone's timeout; a PATCH of expire
	// alone keeps the value.
	clock.Add(3 * time.Second)
	if _, ok := deny.Lookup([]byte("192.0.2.1")); ok {
		t.Error("192.0.2.1 outlived its 2s expire")
	}
	serve := func(method, body string) int {
		w := httptest.NewRecorder()
		api.Serve(w, httptest.NewRequest(method, "/api/9/http/keyvals/deny", strings.NewReader(body)), Request{Path: "/9/http/keyvals/deny"})
		return w.Code
	}
	clock.Add(5 * time.Second) // 8s: 10.0.0.0/8 lives until 10s
	if code := serve("PATCH", `{"10.0.0.0/8":{"expire":60000}}`); code != 204 {
		t.Fatalf("PATCH expire: %d", code)
	}
	clock.Add(30 * time.Second)
	if v, ok := deny.Lookup([]byte("10.9.9.9")); !ok || v != "1" {
		t.Errorf("after PATCH of expire: %q %v, want the value kept for 60s", v, ok)
	}
	if src.changes != 9 {
		t.Errorf("%d successful changes kept, want 9 (3 POST, 4 PATCH, 2 DELETE)", src.changes)
	}
}

// TestKeyvalAPIReadOnly checks that without write=on only GET works.
func TestKeyvalAPIReadOnly(t *testing.T) {
	z := keyval.NewZone("one", 1<<20, keyval.String, nil)
	api := &API{Source: &keyvalSource{zones: []KeyvalZone{{Name: "one", Zone: z}}}}
	for _, m := range []string{"POST", "PATCH", "DELETE"} {
		w := httptest.NewRecorder()
		api.Serve(w, httptest.NewRequest(m, "/api/9/http/keyvals/one", strings.NewReader(`{"a":"1"}`)), Request{Path: "/9/http/keyvals/one"})
		if w.Code != 405 || !strings.Contains(w.Body.String(), "MethodDisabled") {
			t.Errorf("%s: %d %s, want 405 MethodDisabled", m, w.Code, w.Body)
		}
	}
	if got := string(z.JSON()); got != "{}" {
		t.Errorf("zone changed: %s", got)
	}
	// A Source without keyval zones has none.
	w := httptest.NewRecorder()
	(&API{Source: zoneSource{}}).Serve(w, httptest.NewRequest("GET", "/api/9/http/keyvals/", nil), Request{Path: "/9/http/keyvals/"})
	if w.Body.String() != "{}" {
		t.Errorf("no zones: %s", w.Body)
	}
}

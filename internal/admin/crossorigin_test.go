package admin

import (
	"net/http/httptest"
	"strings"
	"testing"

	"fulcrum/internal/keyval"
)

// TestAPICrossOrigin: with "api write=on", a page of another site that
// the administrator's browser shows must not change fulcrum through the
// API. A POST with a text/plain body is a request a browser sends across
// origins without asking first (no CORS preflight), and the API takes
// the body as JSON whatever its Content-Type (as NGINX Plus, whose
// examples send it with curl -d): it would add a key, or a server to an
// upstream. Browsers say where a request comes from (Sec-Fetch-Site,
// Origin); a write from another origin is refused with 403, while curl and
// scripts (neither field) and the dashboard (same origin) go on.
func TestAPICrossOrigin(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers []string
		status  int
	}{
		{"curl: no Origin, no Sec-Fetch-Site", "POST", nil, 201},
		{"same origin (the dashboard)", "POST", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://admin.test"}, 201},
		{"same origin, older browser", "POST", []string{"Origin", "http://admin.test"}, 201},
		{"another site's page", "POST", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.test"}, 403},
		{"another site's page, older browser", "POST", []string{"Origin", "http://evil.test"}, 403},
		{"a sibling subdomain", "POST", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://www.admin.test"}, 403},
		{"a cross-site PATCH", "PATCH", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"a cross-site DELETE", "DELETE", []string{"Origin", "http://evil.test"}, 403},
		{"a cross-site GET reads (no CORS: the page cannot see it)", "GET", []string{"Sec-Fetch-Site", "cross-site"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := keyval.NewZone("one", 1<<20, keyval.String, nil)
			if tt.method != "POST" {
				_ = z.Add(map[string]keyval.Pair{"a": {Value: "1"}}, 0) // PATCH and DELETE find a key to change
			}
			api := &API{Source: &keyvalSource{zones: []KeyvalZone{{Name: "one", Zone: z}}}, Write: true}
			body := `{"a":"2"}`
			r := httptest.NewRequest(tt.method, "http://admin.test/api/9/http/keyvals/one", strings.NewReader(body))
			r.Header.Set("Content-Type", "text/plain")
			for i := 0; i+1 < len(tt.headers); i += 2 {
				r.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			before := string(z.JSON())
			w := httptest.NewRecorder()
			api.Serve(w, r, Request{Path: "/9/http/keyvals/one", ID: "id"})
			want := tt.status
			if tt.method == "PATCH" || tt.method == "DELETE" {
				if want != 403 {
					want = 204
				}
			}
			if w.Code != want {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, want)
			}
			if changed := string(z.JSON()) != before; changed != (want/100 == 2 && tt.method != "GET") {
				t.Errorf("zone %s (was %s): changed %v", z.JSON(), before, changed)
			}
			if want == 403 && !strings.Contains(w.Body.String(), `"code":"CrossOriginRequest"`) {
				t.Errorf("body %s, want the CrossOriginRequest error", w.Body)
			}
		})
	}
}

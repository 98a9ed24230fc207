package vars

import "testing"

// TestRequestPort checks $request_port and $is_request_port (nginx 1.29.3)
// and $http3 (nginx 1.25.0, always empty in fulcrum) for the hosts a
// request can name.
func TestRequestPort(t *testing.T) {
	c := &Compiler{}
	tests := []struct{ host, port, is string }{
		{"www.example.com:8443", "8443", ":"},
		{"www.example.com", "", ""},
		{"www.example.com.:80", "80", ":"},
		{"[2001:db8::1]:8080", "8080", ":"},
		{"[2001:db8::1]", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			st := &State{Request: Request{Host: tt.host}}
			for name, want := range map[string]string{"request_port": tt.port, "is_request_port": tt.is, "http3": ""} {
				got, ok := value(t, c, name, st)
				if !ok || got != want {
					t.Errorf("$%s = %q (found %v), want %q", name, got, ok, want)
				}
			}
		})
	}
}

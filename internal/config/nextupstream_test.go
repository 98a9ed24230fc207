package config

import "testing"

func TestIdempotent(t *testing.T) {
	for m, want := range map[string]bool{"GET": true, "HEAD": true, "PUT": true, "DELETE": true, "POST": false, "PATCH": false, "LOCK": false} {
		if Idempotent(m) != want {
			t.Errorf("Idempotent(%s) = %v, want %v", m, !want, want)
		}
	}
}

func TestStatusNextUpstream(t *testing.T) {
	for code, want := range map[int]NextUpstream{500: NextHTTP500, 502: NextHTTP502, 503: NextHTTP503, 504: NextHTTP504,
		403: NextHTTP403, 404: NextHTTP404, 429: NextHTTP429, 200: 0, 301: 0, 400: 0, 501: 0} {
		if got := StatusNextUpstream(code); got != want {
			t.Errorf("StatusNextUpstream(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestNextUpstreamAllows(t *testing.T) {
	on := NextError | NextTimeout
	tests := []struct {
		name   string
		m      NextUpstream
		cond   NextUpstream
		sent   bool
		method string
		want   bool
	}{
		{"listed", on, NextTimeout, false, "GET", true},
		{"not listed", on, NextHTTP502, false, "GET", false},
		{"off", NextOff, NextError, false, "GET", false},
		{"sent GET", on, NextError, true, "GET", true},
		{"sent POST", on, NextError, true, "POST", false},
		{"unsent POST", on, NextError, false, "POST", true},
		{"sent POST, non_idempotent", on | NextNonIdempotent, NextError, true, "POST", true},
	}
	for _, tt := range tests {
		if got := tt.m.Allows(tt.cond, tt.sent, tt.method); got != tt.want {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

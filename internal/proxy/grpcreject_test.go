package proxy

import (
	"errors"
	"testing"

	"fulcrum/internal/config"
)

// TestGRPCRejected: a stream the upstream reset before the head is nginx's
// "upstream rejected request with error CODE", an invalid header; other
// errors are left to classify.
func TestGRPCRejected(t *testing.T) {
	tests := []struct {
		err  string
		want string // "" for not a reset
	}{
		{"stream error: stream ID 1; INTERNAL_ERROR; received from peer",
			"upstream rejected request with error 2 while reading response header from upstream"},
		{"stream error: stream ID 3; CANCEL; received from peer",
			"upstream rejected request with error 8 while reading response header from upstream"},
		{"stream error: stream ID 5; NO_ERROR; received from peer",
			"upstream rejected request with error 0 while reading response header from upstream"},
		{"stream error: stream ID 7; unknown error code 0x1f; received from peer",
			"upstream rejected request with error 31 while reading response header from upstream"},
		{"stream error: stream ID 1; PROTOCOL_ERROR", ""}, // ours, not the peer's
		{"unexpected EOF", ""},
	}
	for _, tt := range tests {
		f := grpcRejected(errors.New(tt.err))
		switch {
		case tt.want == "" && f != nil:
			t.Errorf("%q: %q, want none", tt.err, f.msg)
		case tt.want != "" && f == nil:
			t.Errorf("%q: none, want %q", tt.err, tt.want)
		case f != nil && (f.msg != tt.want || f.cond != config.NextInvalidHeader || f.status != 502):
			t.Errorf("%q: %q cond %v status %d, want %q invalid_header 502", tt.err, f.msg, f.cond, f.status, tt.want)
		}
	}
}

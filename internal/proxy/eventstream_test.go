package proxy

import (
	"bytes"
	"testing"

	"fulcrum/internal/h1"
)

// isEventStreamBytes is the test copyBody made of the raw value before
// copyHeader noted it (h1's ASCII folding over bytes): the reference
// isEventStreamText must agree with.
func isEventStreamBytes(ct []byte) bool {
	if len(ct) < len("text/event-stream") {
		return false
	}
	ct = bytes.TrimSpace(ct)
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = bytes.TrimSpace(ct[:i])
	}
	return h1.EqualFold(ct, "text/event-stream")
}

// TestIsEventStreamText: the text form agrees with the byte form, also on
// values that only Unicode folding or Unicode spaces would change.
func TestIsEventStreamText(t *testing.T) {
	for _, ct := range []string{
		"text/event-stream", " Text/Event-Stream ; charset=utf-8", "text/event-stream;", "TEXT/EVENT-STREAM",
		"", "text/plain", "text/event-streams", "text/event-strea", "application/json; charset=utf-8",
		"text/event-\u017ftream", "\u212aext/event-stream", "\u00a0text/event-stream\u00a0", "\ttext/event-stream\t;x",
		"text/event-stream\x80", ";text/event-stream", "text/event-stream ;;",
	} {
		if got, want := isEventStreamText(ct), isEventStreamBytes([]byte(ct)); got != want {
			t.Errorf("isEventStreamText(%q) = %v, the byte form says %v", ct, got, want)
		}
	}
}

package proxy

import (
	"strings"
	"testing"

	"fulcrum/internal/h1"
)

// TestFieldTextKeepsEarlierStrings: the strings fieldText returned for
// earlier heads keep their text while later heads are written in the same
// arena, across a release (which keeps the arena) and past a chunk's end,
// and the text is what h1.Headers.AppendText writes.
func TestFieldTextKeepsEarlierStrings(t *testing.T) {
	req := new(request)
	var got, want []string
	for i := range 200 {
		value := strings.Repeat(string(rune('a'+i%26)), i%90)
		hs := h1.Headers{
			{Name: []byte("content-type"), Value: []byte("text/plain")},
			{Name: []byte("X-Value"), Value: []byte(value)},
		}
		got = append(got, req.fieldText(hs))
		want = append(want, string(hs.AppendText(nil)))
		if len(req.arena) != 0 {
			t.Fatalf("head %d: the arena's tail has length %d", i, len(req.arena))
		}
		if i%7 == 0 {
			req.release() // back to the pool, the arena kept
			req = requests.Get().(*request)
		}
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("head %d: %q, want %q", i, got[i], want[i])
		}
	}
	long := h1.Headers{{Name: []byte("X-Long"), Value: []byte(strings.Repeat("v", 3*arenaChunk))}}
	if s := req.fieldText(long); s != string(long.AppendText(nil)) {
		t.Errorf("a head longer than a chunk: %d bytes", len(s))
	}
}

package proxy

import (
	"bufio"
	"strings"
	"testing"
	"unsafe"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
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

// TestFieldStrings: the fields' strings fieldStrings returns for a head h1
// read (its region copied whole) are those fieldCopies makes field by
// field, names canonical, and sentName gives each name as received; they
// keep their text when the head's buffer is read into again. A field that
// does not lie in the head h1 read takes the field by field copy.
func TestFieldStrings(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\ncontent-TYPE: text/plain\r\nX-Empty:\r\nDate:  x \r\n" +
		"x-a-b: 1\r\nContent-Length: 2\r\nX-Last:\r\n\r\n"
	req := new(request)
	if err := h1.ReadResponse(bufio.NewReader(strings.NewReader(head)), &req.resp.head, []byte("GET"), h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	hs := req.resp.head.Headers
	want := req.fieldCopies(hs, nil)
	got := req.fieldStrings(hs, vars.HeaderList{{Name: "Kept", Value: "1"}})
	var sent []string
	for i := range hs {
		sent = append(sent, req.sentName(i, got[i+1].Name, hs[i].Name))
	}
	wantSent := []string{"content-TYPE", "X-Empty", "Date", "x-a-b", "Content-Length", "X-Last"}
	// The head's buffer read into again: the strings are the arena's.
	other := "HTTP/1.1 200 OK\r\nXXXXXXXXXXXX: XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n\r\n"
	if err := h1.ReadResponse(bufio.NewReader(strings.NewReader(other)), &req.resp.head, []byte("GET"), h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 || got[0] != (vars.Field{Name: "Kept", Value: "1"}) {
		t.Fatalf("fields %q, want %q after Kept", got, want)
	}
	for i := range want {
		if got[i+1] != want[i] {
			t.Errorf("field %d: %q, want %q", i, got[i+1], want[i])
		}
		if sent[i] != wantSent[i] {
			t.Errorf("field %d sent as %q, want %q", i, sent[i], wantSent[i])
		}
	}
	// The region copied whole: "content-TYPE: " before the first value.
	if d := uintptr(unsafe.Pointer(unsafe.StringData(got[1].Value))) - uintptr(unsafe.Pointer(unsafe.StringData(got[1].Name))); d != 14 {
		t.Errorf("the first value %d bytes past its name, want 14 (the head's region copied whole)", d)
	}
	if want[0] != (vars.Field{Name: "Content-Type", Value: "text/plain"}) || want[2] != (vars.Field{Name: "Date", Value: "x"}) {
		t.Errorf("fieldCopies: %q", want)
	}
	// One field not in the head's buffer: every field copied one by one.
	hs = append(h1.Headers(nil), req.resp.head.Headers...)
	hs = append(hs, h1.Header{Name: []byte("x-foreign"), Value: []byte("v")})
	got = req.fieldStrings(hs, nil)
	if len(got) != 2 || got[0].Name != "Xxxxxxxxxxxx" || got[1] != (vars.Field{Name: "X-Foreign", Value: "v"}) {
		t.Errorf("with a foreign field: %q", got)
	}
}

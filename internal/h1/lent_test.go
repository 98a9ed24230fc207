package h1

import (
	"io"
	"strings"
	"testing"
)

func TestLentReader(t *testing.T) {
	pool := NewReaderPool(16)
	var r LentReader
	r.Init(pool, strings.NewReader("ab"))
	if r.Held() != nil || r.Buffered() != 0 {
		t.Fatalf("a new LentReader holds a buffer")
	}
	r.Release() // nothing held: no effect
	b, err := r.Reader().ReadByte()
	if err != nil || b != 'a' {
		t.Fatalf("ReadByte = %q, %v; want 'a'", b, err)
	}
	if r.Buffered() != 1 {
		t.Fatalf("Buffered = %d, want 1", r.Buffered())
	}
	r.Release()
	if r.Held() == nil {
		t.Fatal("Release gave back a buffer that held an unread byte")
	}
	if b, _ := r.Reader().ReadByte(); b != 'b' {
		t.Fatalf("after Release, ReadByte = %q, want 'b'", b)
	}
	r.Release()
	if r.Held() != nil || r.Buffered() != 0 {
		t.Fatal("Release kept an empty buffer")
	}
	r.Init(pool, strings.NewReader("xyz"))
	r.Reader().ReadByte()
	r.Drop()
	if r.Held() != nil {
		t.Fatal("Drop kept the buffer")
	}
	// Drop discards what the buffer held: the source is at its end.
	if b, err := r.Reader().ReadByte(); err != io.EOF {
		t.Fatalf("after Drop, ReadByte = %q, %v; want io.EOF", b, err)
	}
}

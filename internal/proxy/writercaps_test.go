package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// keepingWriter is a writer that keeps the proxy's request state
// (RequestKeeper) and can set a reason phrase (ReasonSetter).
type keepingWriter struct {
	*httptest.ResponseRecorder
	slot RequestSlot
}

func (w *keepingWriter) KeptRequest() *RequestSlot           { return &w.slot }
func (w *keepingWriter) SetReason(status int, reason []byte) {}

// TestWriterCapsKept: the writer's interfaces are asserted for the writer
// the request state serves, kept with a state its writer keeps, and asserted
// again for another writer; a state that goes to the pool keeps no writer.
func TestWriterCapsKept(t *testing.T) {
	w := &keepingWriter{ResponseRecorder: httptest.NewRecorder()}
	req := takeRequest(w)
	if req.caps.w != http.ResponseWriter(w) || req.caps.reason == nil || req.caps.out == nil {
		t.Fatalf("caps of the keeping writer: %+v", *req.caps)
	}
	if req.caps.values != nil || req.caps.lister != nil {
		t.Errorf("caps assert interfaces the writer lacks: %+v", *req.caps)
	}
	caps := req.caps
	req.release()
	if w.slot.req != req || req.caps != caps || caps.w != http.ResponseWriter(w) {
		t.Fatal("the kept request state lost its writer's caps")
	}
	if again := takeRequest(w); again != req || again.caps != caps || caps.reason == nil {
		t.Fatal("the writer's next request does not reuse its caps")
	}
	req.release()

	// Another writer's request asserts its own; released to the pool, the
	// state forgets it.
	other := httptest.NewRecorder()
	req2 := takeRequest(other)
	if req2.caps.w != http.ResponseWriter(other) || req2.caps.reason != nil || req2.caps.out == nil {
		t.Fatalf("caps of a plain writer: %+v", *req2.caps)
	}
	c2 := req2.caps
	req2.release()
	if c2.w != nil || c2.out != nil {
		t.Errorf("a pooled request state keeps its writer: %+v", *c2)
	}
}

// TestSetWriterPairsCaps: setWriter puts a writer in the request with caps
// asserted from it, and its restore puts back the writer and the caps that
// were there, together.
func TestSetWriterPairsCaps(t *testing.T) {
	w := &keepingWriter{ResponseRecorder: httptest.NewRecorder()}
	req := takeRequest(w)
	req.w = w
	caps := req.caps
	other := httptest.NewRecorder()
	restore := req.setWriter(other)
	if req.w != http.ResponseWriter(other) || req.caps == caps || req.caps.w != http.ResponseWriter(other) || req.caps.reason != nil {
		t.Fatalf("after setWriter: w %T, caps %+v", req.w, *req.caps)
	}
	if caps.w != http.ResponseWriter(w) || caps.reason == nil {
		t.Fatalf("setWriter changed the caps it replaced: %+v", *caps)
	}
	restore()
	if req.w != http.ResponseWriter(w) || req.caps != caps {
		t.Fatalf("restore: w %T, caps %p, want %p", req.w, req.caps, caps)
	}
	req.release()
}

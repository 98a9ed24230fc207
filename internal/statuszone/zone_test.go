package statuszone

import (
	"fmt"
	"sync"
	"testing"
)

func TestHTTPZone(t *testing.T) {
	var z HTTP
	z.Begin()
	z.Begin()
	z.End(200, true, 100, 1000)
	if c := z.Read(); c.Processing != 1 || c.Requests != 2 {
		t.Fatalf("in progress: %+v", c)
	}
	z.End(444, false, 50, 0)
	z.Count(404, true, 10, 20)
	c := z.Read()
	want := HTTPCounts{Processing: 0, Requests: 3, Discarded: 1, Received: 160, Sent: 1020,
		Responses: ResponseCounts{Total: 2, Classes: [5]uint64{0, 1, 0, 1, 0}, Codes: []CodeCount{{200, 1}, {404, 1}}}}
	if c.Processing != want.Processing || c.Requests != want.Requests || c.Discarded != want.Discarded ||
		c.Received != want.Received || c.Sent != want.Sent || c.Responses.Total != want.Responses.Total ||
		c.Responses.Classes != want.Responses.Classes || len(c.Responses.Codes) != 2 ||
		c.Responses.Codes[0] != want.Responses.Codes[0] || c.Responses.Codes[1] != want.Responses.Codes[1] {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	z.Begin()
	z.Reset()
	if c := z.Read(); c.Processing != 1 || c.Requests != 0 || c.Responses.Total != 0 || len(c.Responses.Codes) != 0 || c.Sent != 0 {
		t.Fatalf("after reset %+v: processing stays, the rest is zero", c)
	}
}

func TestStreamZone(t *testing.T) {
	var z Stream
	for _, s := range []int{200, 403, 502, 0} {
		z.Begin()
		z.End(s, 3, 4)
	}
	c := z.Read()
	if c.Processing != 0 || c.Connections != 4 || c.Sessions2xx != 1 || c.Sessions4xx != 1 || c.Sessions5xx != 1 ||
		c.Total != 3 || c.Discarded != 1 || c.Received != 12 || c.Sent != 16 {
		t.Fatalf("counts %+v", c)
	}
}

// TestRegistry checks that a name keeps its zone (a reload keeps counts),
// and that the three kinds have names of their own; with -race, that
// counting while zones are handed out is safe.
func TestRegistry(t *testing.T) {
	var r Registry
	if r.Server("a") != r.Server("a") || r.Server("a") == r.Location("a") || r.Stream("a") != r.Stream("a") {
		t.Fatal("a name must keep its zone, per kind")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				z := r.Server("b")
				z.Begin()
				z.End(200, true, 1, 1)
			}
		}()
	}
	wg.Wait()
	if c := r.Server("b").Read(); c.Requests != 400 || c.Processing != 0 {
		t.Fatalf("counts %+v", c)
	}
	l := List([]string{"x", "y", "x"}, r.Location)
	if len(l) != 2 || l[0].Name != "x" || l[1].Name != "y" || l[0].Zone != r.Location("x") {
		t.Fatalf("List = %+v", l)
	}
}

// TestRegistryRetain: Retain keeps the zones of the names given, with
// their counts, and drops the others, so 40 reloads that each rename
// every zone leave only the last configuration's zones; a name dropped
// and named again starts at zero, as NGINX Plus's zones after a reload.
func TestRegistryRetain(t *testing.T) {
	var r Registry
	for i := range 40 {
		s, l, st := fmt.Sprint("s", i), fmt.Sprint("l", i), fmt.Sprint("st", i)
		r.Server(s).Count(200, true, 1, 1)
		r.Location(l).Count(200, true, 1, 1)
		r.Stream(st).Begin()
		r.Server("kept").Count(200, true, 1, 1)
		r.Retain([]string{s, "kept"}, []string{l}, []string{st})
		if n := r.Len(); n != 4 {
			t.Fatalf("after reload %d: %d zones, want 4", i, n)
		}
	}
	if c := r.Server("kept").Read(); c.Requests != 40 {
		t.Fatalf("kept zone: %+v, want its 40 requests", c)
	}
	if c := r.Server("s0").Read(); c.Requests != 0 {
		t.Fatalf("s0 named again: %+v, want a new zone", c)
	}
}

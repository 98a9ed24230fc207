package vars

import "testing"

// TestUpstreamFieldsReused: the list SetUpstreamFields installs answers
// $upstream_http_* lookups, Reset forgets it, and the next request's list
// reuses its storage: no allocation once warm.
func TestUpstreamFieldsReused(t *testing.T) {
	var st State
	set := func(values ...string) {
		fields := st.UpstreamFields()
		for _, v := range values {
			fields = append(fields, Field{Name: "X-Tag", Value: v})
		}
		st.SetUpstreamFields(fields)
	}
	set("a", "b")
	if v, next, ok := st.UpstreamHeader.Lookup("X-Tag", 0); !ok || v != "a" {
		t.Fatalf("first lookup %q %v", v, ok)
	} else if v, _, ok := st.UpstreamHeader.Lookup("X-Tag", next); !ok || v != "b" {
		t.Fatalf("second lookup %q %v", v, ok)
	}
	st.Reset()
	if st.UpstreamHeader != nil {
		t.Fatal("UpstreamHeader survived Reset")
	}
	if allocs := testing.AllocsPerRun(100, func() {
		set("c")
		st.Reset()
	}); allocs != 0 {
		t.Errorf("%v allocations per request once warm, want 0", allocs)
	}
	set("d")
	if v, _, ok := st.UpstreamHeader.Lookup("x-tag", 0); !ok || v != "d" {
		t.Errorf("lookup after reuse %q %v, want d", v, ok)
	}
}

package daemon

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/proxy"
)

// TestAppendFieldsOrder: nginx's front fields first, then the fields in the
// order and spelling the handler gave (the upstream's), each value once, then
// the rest sorted; values that would break the head never go out.
func TestAppendFieldsOrder(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		order  []proxy.FieldPos
		want   []string
	}{
		{
			name:   "no order: front fields, then sorted",
			header: http.Header{"X-B": {"b"}, "Content-Length": {"2"}, "Server": {"s"}, "A": {"a"}, "Connection": {"keep-alive"}, "Content-Type": {"t"}},
			want:   []string{"Server: s", "Content-Type: t", "Content-Length: 2", "Connection: keep-alive", "A: a", "X-B: b"},
		},
		{
			name:   "upstream order with a repeated field between others",
			header: http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Zeta": {"z"}, "Etag": {`"e"`}, "X-Added": {"yes"}, "Server": {"s"}},
			order: []proxy.FieldPos{
				{Name: "X-Zeta", Key: "X-Zeta"}, {Name: "Set-Cookie", Key: "Set-Cookie"},
				{Name: "ETag", Key: "Etag"}, {Name: "set-cookie", Key: "Set-Cookie", Index: 1},
			},
			want: []string{"Server: s", "X-Zeta: z", "Set-Cookie: a=1", `ETag: "e"`, "set-cookie: b=2", "X-Added: yes"},
		},
		{
			name:   "a value added after the upstream's goes after the ordered ones",
			header: http.Header{"Cache-Control": {"no-store", "private"}, "X-A": {"1"}},
			order:  []proxy.FieldPos{{Name: "cache-control", Key: "Cache-Control"}, {Name: "X-A", Key: "X-A"}},
			want:   []string{"cache-control: no-store", "X-A: 1", "Cache-Control: private"},
		},
		{
			name:   "out-of-step, out-of-range and misspelt positions are ignored",
			header: http.Header{"X-A": {"1", "2"}, "X-B": {"b"}},
			order: []proxy.FieldPos{
				{Name: "X-A", Key: "X-A", Index: 1}, {Name: "X-B", Key: "X-B", Index: 3},
				{Name: "X-Other", Key: "X-B"}, {Name: "X-Gone", Key: "X-Gone"},
			},
			want: []string{"X-A: 1", "X-A: 2", "X-B: b"},
		},
		{
			name:   "front fields are not moved by the order",
			header: http.Header{"Content-Type": {"t"}, "X-A": {"1"}},
			order:  []proxy.FieldPos{{Name: "X-A", Key: "X-A"}, {Name: "content-type", Key: "Content-Type"}},
			want:   []string{"Content-Type: t", "X-A: 1"},
		},
		{
			name:   "fulcrum's own ETag goes out as nginx spells it",
			header: http.Header{"Etag": {`"e"`}, "Last-Modified": {"d"}, "Accept-Ranges": {"bytes"}},
			// nginx 1.22's order for a static file: Last-Modified with the
			// front fields, Accept-Ranges (the range filter's) last.
			want: []string{"Last-Modified: d", `ETag: "e"`, "Accept-Ranges: bytes"},
		},
		{
			name:   "a precompressed file's Content-Encoding after its ETag",
			header: http.Header{"Etag": {`"e"`}, "Content-Encoding": {"gzip"}, "Last-Modified": {"d"}, "Accept-Ranges": {"bytes"}, "A": {"a"}},
			// nginx 1.22.1's gzip_static answer (recorded with
			// scripts/static-filters-nginx-sweep.py): ETag, Content-Encoding.
			want: []string{"Last-Modified: d", "A: a", `ETag: "e"`, "Content-Encoding: gzip", "Accept-Ranges: bytes"},
		},
		{
			name:   "an upstream's ETag keeps the upstream's spelling",
			header: http.Header{"Etag": {`"e"`}},
			order:  []proxy.FieldPos{{Name: "etag", Key: "Etag"}},
			want:   []string{`etag: "e"`},
		},
		{
			name:   "a value with CR or LF is dropped, in order or not",
			header: http.Header{"X-A": {"ok", "bad\r\nInjected: 1"}, "X-B": {"x\ny"}},
			order:  []proxy.FieldPos{{Name: "X-A", Key: "X-A"}, {Name: "X-A", Key: "X-A", Index: 1}},
			want:   []string{"X-A: ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &respWriter{header: tt.header}
			w.SetFieldOrder(tt.order)
			got := strings.Split(strings.TrimSuffix(string(w.appendFields(nil, false)), "\r\n"), "\r\n")
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("fields\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestAppendFieldsNoAllocs: writing a static file's head allocates nothing
// once the writer's buffers have grown (the ETag spelling included).
func TestAppendFieldsNoAllocs(t *testing.T) {
	w := &respWriter{header: http.Header{"Content-Type": {"text/plain"}, "Etag": {`"e"`},
		"Last-Modified": {"d"}, "Accept-Ranges": {"bytes"}}}
	buf := w.appendFields(nil, false)
	if allocs := testing.AllocsPerRun(100, func() { buf = w.appendFields(buf[:0], false) }); allocs != 0 {
		t.Errorf("appendFields: %v allocations, want 0", allocs)
	}
}

// BenchmarkAppendFields measures a proxied response's head fields: the
// upstream's, in its order, with the engine's front fields and Date, as for
// every small proxied response; and one with a field of fulcrum's own
// (add_header) after them.
func BenchmarkAppendFields(b *testing.B) {
	cases := []struct {
		name   string
		header http.Header
		order  []proxy.FieldPos
	}{
		{
			name:   "proxied",
			header: http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}, "Connection": {"keep-alive"}},
			order:  []proxy.FieldPos{{Name: "Content-Type", Key: "Content-Type"}, {Name: "Content-Length", Key: "Content-Length"}},
		},
		{
			name: "proxied-headers",
			header: http.Header{"Content-Type": {"text/html"}, "Content-Length": {"512"}, "Connection": {"keep-alive"},
				"Cache-Control": {"private"}, "Set-Cookie": {"a=1", "b=2"}, "Etag": {`"e"`}, "X-Added": {"yes"}},
			order: []proxy.FieldPos{{Name: "Content-Type", Key: "Content-Type"}, {Name: "Cache-Control", Key: "Cache-Control"},
				{Name: "Set-Cookie", Key: "Set-Cookie"}, {Name: "ETag", Key: "Etag"}, {Name: "Set-Cookie", Key: "Set-Cookie", Index: 1},
				{Name: "Content-Length", Key: "Content-Length"}},
		},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &respWriter{cc: &clientConn{srv: &httpServer{date: &dateCache{}}}, header: c.header}
			w.SetFieldOrder(c.order)
			w.SetHeadTime(time.Now())
			buf := w.appendFields(nil, true)
			b.ReportAllocs()
			for b.Loop() {
				buf = w.appendFields(buf[:0], true)
			}
		})
	}
}

// TestHeadersFilterOrder: the fields expires and add_header add go after the
// ones the response had, in the order added and spelt as given, as nginx's
// headers filter appends them; fulcrum's own fields are placed before them
// as they would have gone out, the range filter's after; an upstream's
// Expires and first Cache-Control keep their place and its other
// Cache-Control values leave it.
func TestHeadersFilterOrder(t *testing.T) {
	t.Run("static file", func(t *testing.T) {
		w := &respWriter{header: http.Header{"Content-Type": {"t"}, "Last-Modified": {"d"}, "Etag": {`"e"`},
			"Accept-Ranges": {"bytes"}, "X-Own": {"o"}}}
		w.pinFields()
		for _, f := range [][2]string{{"Expires", "Expires"}, {"Cache-Control", "Cache-Control"}, {"x-a", "X-A"}, {"Cache-Control", "Cache-Control"}} {
			w.header[f[1]] = append(w.header[f[1]], "v")
			w.placeField(f[0], f[1])
		}
		want := []string{"Content-Type: t", "Last-Modified: d", `ETag: "e"`, "X-Own: o", "Expires: v",
			"Cache-Control: v", "x-a: v", "Cache-Control: v", "Accept-Ranges: bytes"}
		checkFields(t, w, want)
	})
	t.Run("precompressed file", func(t *testing.T) {
		// nginx 1.22.1 (recorded): gzip_static's Content-Encoding after
		// the ETag, add_header's fields after both.
		w := &respWriter{header: http.Header{"Etag": {`"e"`}, "Content-Encoding": {"gzip"}}}
		w.pinFields()
		w.header["X-A"] = []string{"v"}
		w.placeField("X-A", "X-A")
		checkFields(t, w, []string{`ETag: "e"`, "Content-Encoding: gzip", "X-A: v"})
	})
	t.Run("upstream", func(t *testing.T) {
		w := &respWriter{header: http.Header{"Cache-Control": {"max-age=60", "no-store"}, "X-Mid": {"1"}, "Expires": {"new"}, "Content-Range": {"bytes 0-1/6"}}}
		w.SetFieldOrder([]proxy.FieldPos{{Name: "cache-control", Key: "Cache-Control"}, {Name: "X-Mid", Key: "X-Mid"},
			{Name: "Cache-Control", Key: "Cache-Control", Index: 1}, {Name: "expires", Key: "Expires"}})
		w.header["Cache-Control"] = w.header["Cache-Control"][:1:1]
		w.dropOrder("Cache-Control", 1)
		w.pinFields()
		w.header["Cache-Control"] = append(w.header["Cache-Control"], "public")
		w.placeField("Cache-Control", "Cache-Control")
		w.header["Content-Type"] = []string{"front"}
		w.placeField("Content-Type", "Content-Type") // front fields keep their place
		checkFields(t, w, []string{"Content-Type: front", "cache-control: max-age=60", "X-Mid: 1", "expires: new", "Cache-Control: public", "Content-Range: bytes 0-1/6"})
	})
}

// checkFields compares the fields appendFields writes with want.
func checkFields(t *testing.T, w *respWriter, want []string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(string(w.appendFields(nil, false)), "\r\n"), "\r\n")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fields\n%q\nwant\n%q", got, want)
	}
}

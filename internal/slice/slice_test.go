package slice

import (
	"strconv"
	"testing"
)

// TestBegin checks the first slice a request asks for, against what nginx
// 1.22.1 sent upstream for the same Range fields (slice 1000).
func TestBegin(t *testing.T) {
	tests := []struct {
		rng     string
		present bool
		ifRange bool
		want    string
	}{
		{"", false, false, "bytes=0-999"},
		{"bytes=100-200", true, false, "bytes=0-999"},
		{"bytes=1100-1200", true, false, "bytes=1000-1999"},
		{"bytes=2500-", true, false, "bytes=2000-2999"},
		{"BYTES=1500-1600", true, false, "bytes=1000-1999"},
		{"bytes= 1500-1600", true, false, "bytes=1000-1999"},
		{"bytes=1500-1600", true, true, "bytes=0-999"},              // If-Range
		{"bytes=-300", true, false, "bytes=0-999"},                  // suffix
		{"bytes=0-0,2000-2001", true, false, "bytes=0-999"},         // several ranges
		{"bytes=2000-2001,0-0", true, false, "bytes=0-999"},         // several ranges
		{"items=1500-1600", true, false, "bytes=0-999"},             // another unit
		{"bytes=abc", true, false, "bytes=0-999"},                   // no number
		{"bytes=9000-", true, false, "bytes=9000-9999"},             // past the end: the upstream says so
		{"bytes=99999999999999999999-", true, false, "bytes=0-999"}, // overflow
		{"bytes=9223372036854775000-", true, false, "bytes=0-999"},  // no whole slice fits
	}
	for _, tt := range tests {
		var c Context
		c.Begin(1000, tt.rng, tt.present, tt.ifRange)
		if got := string(c.Range()); got != tt.want || !c.Active() {
			t.Errorf("Begin(%q, if-range %v): %q (active %v), want %q", tt.rng, tt.ifRange, got, c.Active(), tt.want)
		}
	}
}

// TestParseContentRange checks nginx's reading of Content-Range.
func TestParseContentRange(t *testing.T) {
	tests := []struct {
		v    string
		want Part
		ok   bool
	}{
		{"bytes 0-999/3500", Part{0, 1000, 3500}, true},
		{"bytes  1000 - 1999 / 3500 ", Part{1000, 2000, 3500}, true},
		{"bytes 0-999/*", Part{0, 1000, -1}, true},
		{"Bytes 0-999/3500", Part{}, false},
		{"bytes 0-999", Part{}, false},
		{"bytes -999/3500", Part{}, false},
		{"bytes 0-999/3500x", Part{}, false},
		{"bytes 0-/3500", Part{}, false},
		{"bytes 0-999/", Part{}, false},
		{"bytes 99999999999999999999-1/2", Part{}, false},
		{"bytes */3500", Part{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseContentRange(tt.v)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseContentRange(%q) = %+v, %v; want %+v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

// answer is a slice's answer as Accept reads it.
type answer struct {
	status int
	etag   string // "" for none
	cr     string // "" for no Content-Range
}

func (a answer) accept(c *Context, first bool) (Part, error) {
	return c.Accept(first, a.status, a.etag, a.etag != "", a.cr, a.cr != "")
}

// TestAccept checks the slice header filter's verdicts and the messages
// nginx logs for them.
func TestAccept(t *testing.T) {
	ok := answer{206, `"v1"`, "bytes 1000-1999/3500"}
	tests := []struct {
		name  string
		first answer
		next  answer
		err   string
	}{
		{"consistent", answer{206, `"v1"`, "bytes 0-999/3500"}, ok, ""},
		{"last slice short", answer{206, `"v1"`, "bytes 0-999/1500"}, answer{206, `"v1"`, "bytes 1000-1499/1500"}, ""},
		{"no etag then one", answer{206, "", "bytes 0-999/3500"}, ok, ""},
		{"etag mismatch", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v2"`, "bytes 1000-1999/3500"}, "etag mismatch in slice response"},
		{"etag gone", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, "", "bytes 1000-1999/3500"}, "etag mismatch in slice response"},
		{"status", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{500, "", ""}, "unexpected status code 500 in slice response"},
		{"no content-range", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v1"`, ""}, "invalid range in slice response"},
		{"unknown total", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v1"`, "bytes 1000-1999/*"}, "no complete length in slice response"},
		{"shifted", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v1"`, "bytes 1001-2000/3500"},
			"unexpected range in slice response: 1001-2001"},
		// nginx compares the range, not the total: a longer object is
		// accepted while the slice is a whole one.
		{"total grew", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v1"`, "bytes 1000-1999/4500"}, ""},
		{"total shrank", answer{206, `"v1"`, "bytes 0-999/3500"}, answer{206, `"v1"`, "bytes 1000-1999/1500"},
			"unexpected range in slice response: 1000-2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Context
			c.Begin(1000, "", false, false)
			p, err := tt.first.accept(&c, true)
			if err != nil || p.Start != 0 {
				t.Fatalf("first: %+v, %v", p, err)
			}
			c.Want(0, p.Total)
			if !c.Next() {
				t.Fatal("no second slice")
			}
			if got := string(c.Range()); got != "bytes=1000-1999" {
				t.Fatalf("second range %q", got)
			}
			_, err = tt.next.accept(&c, false)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err) {
				t.Fatalf("second: %v, want %q", err, tt.err)
			}
			if tt.err != "" && c.Next() {
				t.Error("a slice after a refused one")
			}
		})
	}
}

// TestFirstNotPartial checks that a first answer other than 206 stops the
// slicing (nginx passes it on as it is).
func TestFirstNotPartial(t *testing.T) {
	var c Context
	c.Begin(1000, "", false, false)
	if _, err := (answer{200, `"v1"`, ""}).accept(&c, true); err != ErrNotPartial {
		t.Fatalf("err %v, want ErrNotPartial", err)
	}
	if c.Next() {
		t.Error("Next after a refused first slice")
	}
}

// TestSlices walks whole requests: the ranges fetched for a client range,
// as nginx 1.22.1 fetched them (slice 1000, object 3500).
func TestSlices(t *testing.T) {
	tests := []struct {
		name     string
		rng      string
		from, to int64 // the client's window, as the range filter decides it
		want     []int64
	}{
		{"whole", "", 0, 3500, []int64{0, 1000, 2000, 3000}},
		{"in the first", "bytes=100-200", 100, 201, []int64{0}},
		{"in the second", "bytes=1100-1200", 1100, 1201, []int64{1000}},
		{"across", "bytes=900-2100", 900, 2101, []int64{0, 1000, 2000}},
		{"suffix in the last", "bytes=-300", 3200, 3500, []int64{0, 3000}},
		{"suffix across", "bytes=-1300", 2200, 3500, []int64{0, 2000, 3000}},
		{"open", "bytes=2500-", 2500, 3500, []int64{2000, 3000}},
		// If-Range starts at 0; the range's start is in the second slice,
		// which nginx fetches next (it skips only when the range starts
		// past the slice after the first).
		{"if-range", "", 1500, 1601, []int64{0, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Context
			c.Begin(1000, tt.rng, tt.rng != "", false)
			var got []int64
			for i := 0; ; i++ {
				var start, last int64
				if _, err := fmtScan(string(c.Range()), &start, &last); err != nil {
					t.Fatal(err)
				}
				got = append(got, start)
				end := min(last+1, 3500)
				cr := "bytes " + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end-1, 10) + "/3500"
				if _, err := c.Accept(i == 0, 206, `"v1"`, true, cr, true); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					c.Want(tt.from, tt.to)
				}
				if !c.Next() {
					break
				}
				if i > 10 {
					t.Fatal("no end")
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("slices %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("slices %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// fmtScan reads "bytes=START-LAST".
func fmtScan(v string, start, last *int64) (int, error) {
	p, ok := ParseContentRange("bytes " + v[len("bytes="):] + "/*")
	if !ok {
		return 0, strconv.ErrSyntax
	}
	*start, *last = p.Start, p.End-1
	return 2, nil
}

// TestWindow checks the cut of written bytes to the client's window.
func TestWindow(t *testing.T) {
	w := Window{Pos: 1000, From: 1100, To: 1201}
	var got []byte
	for _, n := range []int{50, 60, 40, 200, 650} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte((int(w.Pos) + i) % 251)
		}
		got = append(got, w.Cut(p)...)
	}
	if len(got) != 101 {
		t.Fatalf("%d bytes, want 101", len(got))
	}
	for i, b := range got {
		if b != byte((1100+i)%251) {
			t.Fatalf("byte %d is %d", i, b)
		}
	}
	if w.Pos != 2000 {
		t.Errorf("Pos %d, want 2000", w.Pos)
	}
	empty := Window{Pos: 0, From: 5000, To: 6000}
	if p := empty.Cut(make([]byte, 100)); len(p) != 0 {
		t.Errorf("cut %d bytes outside the window", len(p))
	}
}

package subfilter

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// replacements answers with fixed strings and counts the questions.
type replacements struct {
	subs  []string
	asked []int
}

func (r *replacements) Replacement(i int) []byte {
	r.asked = append(r.asked, i)
	return []byte(r.subs[i])
}

// nginxBody is the body the answers below were taken from: nginx 1.22.1
// proxying it with the location's sub_filter directives.
const nginxBody = "Hello World hello WORLD foo FOO foo abcabc ab abc\n"

// TestWriter: the answers nginx 1.22.1 gave, then the same body cut at
// every place and written in two and in one-byte pieces (a match spanning
// writes is found as in one piece).
func TestWriter(t *testing.T) {
	tests := []struct {
		name string
		pats []string
		subs []string
		once bool
		body string
		want string
	}{
		{"once per string, without case", []string{"hello", "foo"}, []string{"[hi GET]", "bar"}, true, nginxBody,
			"[hi GET] World hello WORLD bar FOO foo abcabc ab abc\n"},
		{"all", []string{"hello", "foo"}, []string{"</all/html>", "bar"}, false, nginxBody,
			"</all/html> World </all/html> WORLD bar bar bar abcabc ab abc\n"},
		{"first written wins at a place: ab before abc", []string{"ab", "abc"}, []string{"1", "2"}, false, nginxBody,
			"Hello World hello WORLD foo FOO foo 1c1c 1 1c\n"},
		{"first written wins at a place: abc before ab", []string{"abc", "ab"}, []string{"2", "1"}, false, nginxBody,
			"Hello World hello WORLD foo FOO foo 22 1 2\n"},
		{"split by upstream chunks", []string{"hello"}, []string{"[hi GET]"}, true, "one <HELLO> two hello three hell",
			"one <[hi GET]> two hello three hell"},
		{"split by upstream chunks, all", []string{"hello"}, []string{"</all/split>"}, false, "one <HELLO> two hello three hell",
			"one <</all/split>> two </all/split> three hell"},
		{"a replacement is not searched again", []string{"a"}, []string{"aa"}, false, "aaa", "aaaaaa"},
		{"overlapping: leftmost, then after it", []string{"aba"}, []string{"X"}, false, "ababa", "Xba"},
		{"a partial match at the end is sent", []string{"abcd"}, []string{"X"}, false, "xxabc", "xxabc"},
		{"empty replacement", []string{"b"}, []string{""}, false, "abcb", "ac"},
		{"non-letters compare as they are", []string{"é<"}, []string{"X"}, false, "É< é<", "É< X"},
		{"once: the rest passes after every string was used", []string{"a", "b"}, []string{"1", "2"}, true, "ba ab", "21 ab"},
		{"no match", []string{"zz"}, []string{"X"}, true, nginxBody, nginxBody},
		{"empty body", []string{"a"}, []string{"X"}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := NewSet(tt.pats)
			check := func(label string, pieces []string) {
				t.Helper()
				var out bytes.Buffer
				var w Writer
				w.Reset(&out, set, &replacements{subs: tt.subs}, tt.once)
				for _, p := range pieces {
					if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
						t.Fatalf("%s: Write = %d, %v", label, n, err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatalf("%s: Close: %v", label, err)
				}
				if out.String() != tt.want {
					t.Errorf("%s: got %q, want %q", label, out.String(), tt.want)
				}
			}
			check("whole", []string{tt.body})
			for cut := 0; cut <= len(tt.body); cut++ {
				check("cut", []string{tt.body[:cut], tt.body[cut:]})
			}
			check("bytes", strings.Split(tt.body, ""))
		})
	}
}

// TestWriterAsksOnce: a replacement is asked for at its first match only,
// as nginx evaluates its variables once per response.
func TestWriterAsksOnce(t *testing.T) {
	r := &replacements{subs: []string{"1", "2"}}
	var out bytes.Buffer
	var w Writer
	w.Reset(&out, NewSet([]string{"a", "b"}), r, false)
	_, _ = w.Write([]byte("aaab"))
	_ = w.Close()
	if out.String() != "1112" || len(r.asked) != 2 {
		t.Errorf("out %q, asked %v", out.String(), r.asked)
	}
}

// TestWriterHoldsLittle: a body streamed through is never buffered whole;
// only a possible match's start is held back.
func TestWriterHoldsLittle(t *testing.T) {
	var out bytes.Buffer
	var w Writer
	w.Reset(&out, NewSet([]string{"hello"}), &replacements{subs: []string{"X"}}, false)
	_, _ = w.Write([]byte("abc hel"))
	if out.String() != "abc " {
		t.Errorf("after the first write: %q", out.String())
	}
	_, _ = w.Write([]byte("p "))
	if out.String() != "abc help " {
		t.Errorf("after the second write: %q", out.String())
	}
}

type failing struct{}

var errFull = errors.New("full")

func (failing) Write([]byte) (int, error) { return 0, errFull }

// TestWriterError: dst's error comes back, from Write or Close.
func TestWriterError(t *testing.T) {
	var w Writer
	w.Reset(failing{}, NewSet([]string{"a"}), &replacements{subs: []string{"X"}}, false)
	if _, err := w.Write([]byte("xxa")); !errors.Is(err, errFull) {
		t.Errorf("Write error = %v", err)
	}
	if err := w.Close(); !errors.Is(err, errFull) {
		t.Errorf("Close error = %v", err)
	}
	if w.Active() {
		t.Error("active after Close")
	}
}

// TestNewSet: empty strings are left out (a variable that evaluates to
// nothing), and a Set of none is nil.
func TestNewSet(t *testing.T) {
	if s := NewSet([]string{"", ""}); s != nil {
		t.Errorf("NewSet of empty strings = %v", s)
	}
	if s := NewSet([]string{"", "AbC"}); s.Len() != 1 || s.Pattern(0) != "abc" {
		t.Errorf("NewSet = %v", s)
	}
}

// TestTypeMatches: text/html always, the charset parameter aside, "*" for
// any response, one without a type too.
func TestTypeMatches(t *testing.T) {
	tests := []struct {
		types []string
		any   bool
		ct    string
		want  bool
	}{
		{nil, false, "text/html", true},
		{nil, false, "TEXT/HTML; charset=utf-8", true},
		{nil, false, "text/html; foo=bar", false},
		{nil, false, "text/plain", false},
		{[]string{"text/plain"}, false, "text/plain", true},
		{[]string{"text/css"}, false, "text/css; charset=utf-8", true},
		{nil, false, "", false},
		{nil, true, "", true},
		{nil, true, "image/png", true},
	}
	for _, tt := range tests {
		if got := TypeMatches(tt.types, tt.any, tt.ct); got != tt.want {
			t.Errorf("TypeMatches(%v, %v, %q) = %v, want %v", tt.types, tt.any, tt.ct, got, tt.want)
		}
	}
}

// TestWriterPieceSizes: a long body written in pieces of several sizes,
// matches falling across every kind of boundary, comes out whole.
func TestWriterPieceSizes(t *testing.T) {
	body := strings.Repeat("xxxxxhello", 20000)
	want := strings.Repeat("xxxxx</all/big>", 20000)
	for _, size := range []int{32 << 10, 4096, 1000, 7, 3} {
		var out bytes.Buffer
		var w Writer
		w.Reset(&out, NewSet([]string{"hello"}), &replacements{subs: []string{"</all/big>"}}, false)
		buf := make([]byte, size) // reused, as the proxy reuses its buffer
		for i := 0; i < len(body); i += size {
			n := copy(buf, body[i:])
			if _, err := w.Write(buf[:n]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil || out.String() != want {
			t.Errorf("pieces of %d: %d bytes, %v", size, out.Len(), err)
		}
	}
}

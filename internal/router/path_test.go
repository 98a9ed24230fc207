package router

import (
	"errors"
	"strings"
	"testing"
)

// Every case marked "nginx" was sent to nginx 1.22.1 (merge_slashes on) as a raw
// request line, and the expected value is the $uri it reported, or "" where it
// answered 400 Bad Request.
func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means an error
	}{
		// Already normal: returned as is.
		{"root", "/", "/"},
		{"plain", "/index.html", "/index.html"},
		{"dots inside names", "/x/.a/b./...", "/x/.a/b./..."},
		{"nginx ....", "/x/..../secret", "/x/..../secret"},
		{"semicolon is ordinary", "/x/..;/secret/", "/x/..;/secret/"},
		{"backslash is ordinary", `/x/..\secret/`, `/x/..\secret/`},
		{"plus", "/x/+", "/x/+"},
		{"high bytes", "/x/\x80\xff", "/x/\x80\xff"},
		{"empty is root", "", "/"},

		// Slashes and dot segments (nginx).
		{"nginx merge", "//x//y", "/x/y"},
		{"nginx only slashes", "///", "/"},
		{"nginx dot", "/a/./b", "/a/b"},
		{"nginx trailing dot", "/a/.", "/a/"},
		{"nginx root dot", "/.", "/"},
		{"nginx dotdot to root", "/a/..", "/"},
		{"nginx trailing dotdot", "/a/b/..", "/a/"},
		{"nginx dotdot slash", "/a/b/../", "/a/"},
		{"nginx two up", "/a/b/../..", "/"},
		{"nginx semicolon segment", "/x/;/../secret/", "/x/secret/"},
		{"dot then slashes", "/a/.//b", "/a/b"},
		{"dotdot after merge", "/a//..//b", "/b"},

		// Escapes (nginx).
		{"nginx upper A", "/x/%41", "/x/A"},
		{"nginx tilde", "/x/%7e", "/x/~"},
		{"nginx space", "/x/%20y", "/x/ y"},
		{"nginx escaped dotdot", "/x/%2e%2e/secret/", "/secret/"},
		{"nginx escaped dotdot upper", "/x/%2E%2E/secret/", "/secret/"},
		{"nginx half escaped 1", "/x/.%2e/secret/", "/secret/"},
		{"nginx half escaped 2", "/x/%2e./secret/", "/secret/"},
		{"nginx escaped dot", "/x/%2e/y", "/x/y"},
		{"nginx escaped trailing dot", "/x/%2E", "/x/"},
		{"nginx escaped slash separates", "/x%2f..%2fsecret/", "/secret/"},
		{"nginx escaped slashes merge", "/x/%2f%2fsecret", "/x/secret"},
		{"nginx escaped slash at end", "/x/%2F", "/x/"},
		{"nginx slash dot", "/x/%2f.", "/x/"},
		{"nginx dot slash", "/x/.%2f", "/x/"},
		{"nginx dotdot escaped dot", "/x/a/.%2e", "/x/"},
		{"nginx escaped backslash", "/x/%5c..%5csecret/", `/x/\..\secret/`},
		{"nginx double encoding", "/x/%252e%252e/secret/", "/x/%2e%2e/secret/"},
		{"nginx escaped percent", "/x/%25", "/x/%"},
		{"nginx escaped question", "/x/%3f", "/x/?"},
		{"nginx escaped hash", "/x/%23", "/x/#"},
		{"nginx escaped LF", "/x/%0a", "/x/\n"},
		{"nginx escaped DEL", "/x/%7f", "/x/\x7f"},
		{"nginx escaped utf-8", "/x/%c3%a9", "/x/\xc3\xa9"},
		{"escaped percent is not a dot", "/x/.%25", "/x/.%"},
		{"escaped question after dotdot", "/x/..%3f", "/x/..?"},

		// Errors (nginx answers 400).
		{"nginx above root", "/..", ""},
		{"nginx above root slash", "/../", ""},
		{"nginx escaped above root", "/%2e%2e/secret/", ""},
		{"nginx climb too far", "/a/../../b", ""},
		{"nginx climb too far at end", "/a/b/../../..", ""},
		{"nginx climb with escaped slashes", "/x/a%2F..%2F..%2F..", ""},
		{"nginx NUL", "/x/%00", ""},
		{"nginx NUL after dots", "/x/a/..%00", ""},
		{"nginx bad escape", "/x/%zz", ""},
		{"nginx bad escape upper", "/x/%ZZ", ""},
		{"nginx short escape", "/x/%2", ""},
		{"nginx lone percent", "/x/%", ""},
		{"nginx bad first digit", "/x/%g0", ""},
		{"nginx bad second digit", "/x/%0g", ""},
		{"nginx trailing percent", "/x/a%", ""},
		{"nginx raw control", "/x/\x01", ""},
		{"nginx raw DEL", "/x/\x7f", ""},
		{"nginx raw space", "/x/a b", ""},
		{"nginx raw tab", "/x/a\tb", ""},
		{"raw NUL", "/x/\x00", ""},
		{"raw hash", "/x/a#b", ""},
		{"raw question", "/x/a?q", ""},
		{"no leading slash", "x/y", ""},
		{"asterisk", "*", ""},
		{"escaped leading slash", "%2fx", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePath(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NormalizePath(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("error %v does not wrap ErrInvalidPath", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizePathNoAllocWhenNormal(t *testing.T) {
	for _, p := range []string{"/", "/index.html", "/a/b/c.jpg", "/x/..;/y", "/.well-known/x"} {
		allocs := testing.AllocsPerRun(100, func() {
			if got, err := NormalizePath(p); err != nil || got != p {
				t.Fatalf("NormalizePath(%q) = %q, %v", p, got, err)
			}
		})
		if allocs != 0 {
			t.Errorf("NormalizePath(%q) allocated %v times, want 0", p, allocs)
		}
	}
}

// TestIsNormalAgreesWithSlowPath guards the fast path: whenever isNormal says a
// path needs no work, the full state machine must return it unchanged.
func TestIsNormalAgreesWithSlowPath(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/", "/.a", "/a.", "/..a", "/a..", "/...", "/a/.b/..c/d..", "/;/\\/+"} {
		for _, merge := range []bool{true, false} {
			if !isNormal(p, merge) {
				t.Errorf("isNormal(%q, %v) = false, want true", p, merge)
				continue
			}
			if got, err := normalizeSlow(p, merge); err != nil || got != p {
				t.Errorf("normalizeSlow(%q, %v) = %q, %v; want it unchanged", p, merge, got, err)
			}
		}
	}
	// With slashes kept, "//" is normal too.
	for _, p := range []string{"//", "/a//b", "///x///", "//a/.b//"} {
		if !isNormal(p, false) || isNormal(p, true) {
			t.Errorf("isNormal(%q): want true with slashes kept, false merged", p)
		}
		if got, err := normalizeSlow(p, false); err != nil || got != p {
			t.Errorf("normalizeSlow(%q, false) = %q, %v; want it unchanged", p, got, err)
		}
	}
}

// TestNormalizePathKeepSlashes is merge_slashes off. Every case marked "nginx"
// was sent to nginx 1.22.1 with merge_slashes off (nginx-diff, "return 200
// $uri"), and the expected value is the $uri it reported, or "" where it
// answered 400 Bad Request.
func TestNormalizePathKeepSlashes(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means an error
	}{
		{"nginx kept", "/a//b", "/a//b"},
		{"nginx leading", "//a", "//a"},
		{"nginx only slashes", "///", "///"},
		{"nginx runs kept", "/a///b//", "/a///b//"},
		{"nginx dotdot after double", "/a//b/../c", "/a//c"},
		{"nginx dotdot removes the empty segment", "/a//../c", "/a/c"},
		{"nginx dotdot at end after double", "/a/b//..", "/a/b/"},
		{"nginx dotdot slash after double", "/a/b//../", "/a/b/"},
		{"nginx double dotdot at root", "//..", "/"},
		{"nginx double dotdot then name", "//../x", "/x"},
		{"nginx dot", "/a/./b", "/a/b"},
		{"nginx dot then double", "/a/.//b", "/a//b"},
		{"nginx double then dot", "/a//./b", "/a//b"},
		{"nginx root dot", "/./", "/"},
		{"nginx escaped slashes kept", "/a%2F%2Fb", "/a//b"},
		{"nginx escaped slash between", "/a/%2F/b", "/a///b"},
		{"nginx escaped dotdot", "/a%2f..%2fb", "/b"},
		{"nginx escaped double dotdot", "/a%2F%2F..%2Fb", "/a/b"},
		{"nginx climb over double", "/a/..//..", "/"},
		{"nginx climb twice over double", "/a//..//..", "/a/"},
		{"nginx climb thrice", "/a//..//../..", "/"},
		{"plain", "/index.html", "/index.html"},
		{"empty is root", "", "/"},
		{"nginx escaped dotdot upper", "/x/%2E%2E/secret/", "/secret/"},
		{"double encoding", "/x/%252e%252e/", "/x/%2e%2e/"},

		// Errors: nothing above the root, whatever the slashes.
		{"nginx above root", "/..", ""},
		{"above root after climb", "/a/../..", ""},
		{"above root after kept slashes", "//../..", ""},
		{"escaped above root", "/%2e%2e//x", ""},
		{"NUL", "//x/%00", ""},
		{"bad escape", "//x/%zz", ""},
		{"raw space", "//x/a b", ""},
		{"no leading slash", "x//y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePathKeepSlashes(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NormalizePathKeepSlashes(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("error %v does not wrap ErrInvalidPath", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePathKeepSlashes(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizePathKeepSlashesNoAllocWhenNormal(t *testing.T) {
	for _, p := range []string{"/", "/a//b", "//", "/a/b/c.jpg"} {
		allocs := testing.AllocsPerRun(100, func() {
			if got, err := NormalizePathKeepSlashes(p); err != nil || got != p {
				t.Fatalf("NormalizePathKeepSlashes(%q) = %q, %v", p, got, err)
			}
		})
		if allocs != 0 {
			t.Errorf("NormalizePathKeepSlashes(%q) allocated %v times, want 0", p, allocs)
		}
	}
}

// escapePath percent-encodes the bytes that NormalizePath would decode or reject,
// turning a normalised (decoded) path back into a request path.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' || rejectedByte(c) {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// FuzzNormalizePathKeepSlashes checks merge_slashes off against merge_slashes
// on: never a dot segment, never above the root, idempotent, and merging the
// result's slashes gives what NormalizePath gives whenever no ".." followed a
// "//" (where the two differ by design: an empty segment is climbed over).
func FuzzNormalizePathKeepSlashes(f *testing.F) {
	for _, s := range []string{"/", "//..", "/a//b/../c", "/a%2F%2F..%2Fb", "/x//%2e%2e/", "///", "/a/.//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePathKeepSlashes(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not wrap ErrInvalidPath", err)
			}
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("NormalizePathKeepSlashes(%q) = %q: does not start with /", in, out)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePathKeepSlashes(%q) = %q: has a dot segment", in, out)
			}
		}
		again, err := NormalizePathKeepSlashes(escapePath(out))
		if err != nil || again != out {
			t.Fatalf("NormalizePathKeepSlashes(escape(%q)) = %q, %v; want %q", out, again, err, out)
		}
		if !strings.Contains(in, "/") || strings.Contains(in, "%") || strings.Contains(in, "..") {
			return
		}
		// Without escapes or "..", merging the kept slashes is NormalizePath.
		merged, err := NormalizePath(in)
		if err != nil {
			t.Fatalf("NormalizePath(%q) failed (%v) where slashes kept did not", in, err)
		}
		if m, _ := NormalizePath(out); m != merged {
			t.Fatalf("NormalizePath(%q) = %q, but %q merged is %q", in, merged, out, m)
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/", "", "/a/b/../c", "/%2e%2e/", "/x/%2f%2fy", "/x/%5c..%5c", "/x/%00",
		"/x/%252e%252e/", "/x/;/../y", "/a/../../b", "//a//./b/.", "/a/%2e", "/%",
		"/x/%zz", "/x/.%2e/y", "/x/%2e./y", "/a/b/..", "/..", "/x/\x80", "/x/%c3%a9",
		"/x/..;/y", "/x/%25", "/x/%3f%23", "/x/a%2F..%2F..%2F..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not wrap ErrInvalidPath", err)
			}
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("NormalizePath(%q) = %q: does not start with /", in, out)
		}
		for _, bad := range []string{"//", "/./", "/../"} {
			if strings.Contains(out, bad) {
				t.Fatalf("NormalizePath(%q) = %q: contains %q", in, out, bad)
			}
		}
		if strings.HasSuffix(out, "/.") || strings.HasSuffix(out, "/..") {
			t.Fatalf("NormalizePath(%q) = %q: ends in a dot segment", in, out)
		}
		if len(out) > len(in) && in != "" {
			t.Fatalf("NormalizePath(%q) = %q: longer than its input", in, out)
		}
		// Idempotent: the output, put back on the wire, normalises to itself;
		// when it needs no escaping it is its own normal form, unchanged.
		again, err := NormalizePath(escapePath(out))
		if err != nil || again != out {
			t.Fatalf("NormalizePath(escape(%q)) = %q, %v; want %q", out, again, err, out)
		}
		if escapePath(out) == out {
			if again, err := NormalizePath(out); err != nil || again != out {
				t.Fatalf("NormalizePath(%q) = %q, %v; not idempotent", out, again, err)
			}
		}
	})
}

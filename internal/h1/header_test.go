package h1

import (
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

func mustHeaders(t *testing.T, fields string) Headers {
	t.Helper()
	var r Request
	t.Cleanup(r.Reset)
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: h\r\n"+fields+"\r\n"), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	return r.Headers
}

func TestHeadersLookup(t *testing.T) {
	hs := mustHeaders(t, "Accept: a\r\nX-Empty:\r\naccept: b\r\nACCEPT: c\r\n")
	if v, ok := hs.Lookup("x-empty"); !ok || len(v) != 0 {
		t.Fatalf("Lookup(x-empty) = %q, %v", v, ok)
	}
	if v, ok := hs.Lookup("missing"); ok || v != nil {
		t.Fatalf("Lookup(missing) = %q, %v", v, ok)
	}
	if got := string(hs.Get("Accept")); got != "a" {
		t.Fatalf("Get = %q", got)
	}
	if n := hs.Count("accept"); n != 3 {
		t.Fatalf("Count = %d", n)
	}
	var all []string
	for v := range hs.Values("aCCept") {
		all = append(all, string(v))
	}
	if strings.Join(all, ",") != "a,b,c" {
		t.Fatalf("Values = %v", all)
	}
	if !hs.Has("HOST") || hs.Has("hos") {
		t.Fatal("Has")
	}
}

func TestConnectionTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"close", []string{"close"}},
		{" keep-alive ,\tUpgrade\t", []string{"keep-alive", "Upgrade"}},
		{",,a,, ,b,", []string{"a", "b"}},
		{"a b, c", []string{"c"}},     // "a b" is not a token
		{"x-y;q=1, z", []string{"z"}}, // parameters make an element a non-token
		{"\"quoted\", ok", []string{"ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for tok := range ConnectionTokens([]byte(tt.in)) {
				got = append(got, string(tok))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Stopping early is honoured.
	n := 0
	for range ConnectionTokens([]byte("a,b,c")) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("break: %d iterations", n)
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		list, tok string
		want      bool
	}{
		{"Keep-Alive, Close", "close", true},
		{"closed", "close", false},
		{"", "close", false},
		{"a,close ", "CLOSE", true},
	}
	for _, tt := range tests {
		if got := HasToken([]byte(tt.list), tt.tok); got != tt.want {
			t.Errorf("HasToken(%q, %q) = %v", tt.list, tt.tok, got)
		}
	}
}

func TestHopByHop(t *testing.T) {
	hs := mustHeaders(t, "Connection: X-Secret, keep-alive\r\nconnection: Other\r\nX-Secret: 1\r\nX-Public: 2\r\n")
	tests := []struct {
		name string
		want bool
	}{
		{"Connection", true}, {"Keep-Alive", true}, {"TE", true}, {"Transfer-Encoding", true},
		{"Upgrade", true}, {"Proxy-Authorization", true}, {"Proxy-Connection", true}, {"Trailer", true},
		{"x-secret", true}, {"OTHER", true}, {"X-Public", false}, {"Host", false}, {"Content-Length", false},
	}
	for _, tt := range tests {
		if got := hs.HopByHop([]byte(tt.name)); got != tt.want {
			t.Errorf("HopByHop(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if IsHopByHop([]byte("X-Secret")) {
		t.Error("IsHopByHop knows nothing of Connection")
	}
	if !hs.HasToken("connection", "KEEP-ALIVE") || hs.HasToken("connection", "close") {
		t.Error("Headers.HasToken")
	}
}

func TestValidField(t *testing.T) {
	names := map[string]bool{"X-Ok": true, "a_b": true, "": false, "a b": false, "a:b": false, "é": false}
	for n, want := range names {
		if ValidFieldName([]byte(n)) != want {
			t.Errorf("ValidFieldName(%q) != %v", n, want)
		}
	}
	values := map[string]bool{"": true, "a b": true, "\xff": true, "a\r\nb": false, " a": false, "a\t": false, "a\x00": false}
	for v, want := range values {
		if ValidFieldValue([]byte(v)) != want {
			t.Errorf("ValidFieldValue(%q) != %v", v, want)
		}
	}
}

func TestIsHopByHopLengths(t *testing.T) {
	// The length switch in IsHopByHop must cover every listed name.
	for _, h := range hopByHopNames {
		if !IsHopByHop([]byte(strings.ToUpper(h))) {
			t.Errorf("IsHopByHop(%s) = false", h)
		}
	}
}

// TestAppendCanonical checks the canonical form against net/textproto's.
func TestAppendCanonical(t *testing.T) {
	for _, name := range []string{"host", "CONTENT-TYPE", "x-forwarded-for", "X-Forwarded-For", "te", "a", "x--y", "-x", "x-1b"} {
		got := string(AppendCanonical([]byte("prefix:"), []byte(name)))
		if want := "prefix:" + textproto.CanonicalMIMEHeaderKey(name); got != want {
			t.Errorf("AppendCanonical(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestFieldTextRoundTrip: what AppendText writes, FieldText reads back field
// by field: canonical name, name as received, value.
func TestFieldTextRoundTrip(t *testing.T) {
	hs := Headers{
		{Name: []byte("Content-Type"), Value: []byte("text/plain")},
		{Name: []byte("x-request-id"), Value: []byte("abc")},
		{Name: []byte("ETag"), Value: []byte(`"e"`)},
		{Name: []byte("X-Empty"), Value: []byte("")},
	}
	want := [][3]string{
		{"Content-Type", "Content-Type", "text/plain"},
		{"X-Request-Id", "x-request-id", "abc"},
		{"Etag", "ETag", `"e"`},
		{"X-Empty", "X-Empty", ""},
	}
	s := string(hs.AppendText([]byte("prefix")))
	off := len("prefix")
	for i, f := range hs {
		var c, r, v string
		c, r, v, off = FieldText(s, off, f)
		if got := [3]string{c, r, v}; got != want[i] {
			t.Errorf("field %d: %q, want %q", i, got, want[i])
		}
	}
	if off != len(s) {
		t.Errorf("read %d of %d bytes", off, len(s))
	}
}

func TestSplitContentType(t *testing.T) {
	tests := []struct{ ct, typ, charset string }{
		{"text/html", "text/html", ""},
		{"text/html; charset=utf-8", "text/html", "utf-8"},
		{"text/html;charset=\"UTF-8\"", "text/html", "UTF-8"},
		{"text/html;   CHARSET=koi8-r", "text/html", "koi8-r"},
		{"text/html; q=1; charset=x", "text/html; q=1", "x"},
		{"text/html; format=flowed", "text/html; format=flowed", ""},
		{"text/html; charset=", "text/html", ""},
	}
	for _, tt := range tests {
		if typ, cs := SplitContentType(tt.ct); typ != tt.typ || cs != tt.charset {
			t.Errorf("SplitContentType(%q) = %q, %q; want %q, %q", tt.ct, typ, cs, tt.typ, tt.charset)
		}
	}
}

// TestCommonCanonical: the names commonCanonical knows are in canonical
// form (canonicalize changes none of them), and other spellings of them
// are not taken for them.
func TestCommonCanonical(t *testing.T) {
	for _, name := range []string{"Content-Length", "Content-Type", "Date", "Server", "Connection",
		"Last-Modified", "Cache-Control", "Set-Cookie", "Location", "Expires", "Vary", "Accept-Ranges",
		"Transfer-Encoding", "Keep-Alive", "Content-Encoding", "Etag", "Age", "Pragma"} {
		if !commonCanonical([]byte(name)) {
			t.Errorf("%q not known", name)
		}
		if canonicalize([]byte(name)) {
			t.Errorf("%q is not canonical", name)
		}
		for _, other := range []string{strings.ToLower(name), strings.ToUpper(name), name + "x"} {
			if commonCanonical([]byte(other)) {
				t.Errorf("%q taken for %q", other, name)
			}
		}
	}
}

// TestFieldKind: a name the parser acts on is known in any case, as sent
// by most ("Content-Length") or not, and a name one byte off is not.
func TestFieldKind(t *testing.T) {
	kinds := map[string]int{
		"host": fieldHost, "expect": fieldExpect, "upgrade": fieldUpgrade, "trailer": fieldTrailer,
		"connection": fieldConnection, "content-length": fieldContentLength, "transfer-encoding": fieldTransferEncoding,
	}
	for name, kind := range kinds {
		canonical := string(AppendCanonical(nil, []byte(name)))
		for _, n := range []string{name, canonical, strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
			if got := fieldKind([]byte(n)); got != kind {
				t.Errorf("fieldKind(%q) = %d, want %d", n, got, kind)
			}
			for i := range len(n) {
				for _, c := range []byte{'\r', '_', n[i] ^ 1, n[i] ^ 0x40} {
					b := []byte(n)
					b[i] = c
					if lowerTable[c] == name[i] {
						continue
					}
					if got := fieldKind(b); got != fieldOther {
						t.Errorf("fieldKind(%q) = %d, want fieldOther", b, got)
					}
				}
			}
		}
	}
}

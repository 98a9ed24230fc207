package vars

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendEscapeDefault(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain text ~!", "plain text ~!"},
		{`say "hi"`, `say \x22hi\x22`},
		{`back\slash`, `back\x5Cslash`},
		{"tab\there", `tab\x09here`},
		{"nl\r\n", `nl\x0D\x0A`},
		{"\x00\x1f", `\x00\x1F`},
		{"del\x7f", `del\x7F`},
		{"caf\xc3\xa9", `caf\xC3\xA9`},
		{"\xff", `\xFF`},
		{" ", " "},
		{"'single'", "'single'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(AppendEscapeDefault([]byte("p:"), []byte(tt.in))); got != "p:"+tt.want {
				t.Errorf("AppendEscapeDefault(%q) = %q, want %q", tt.in, got, "p:"+tt.want)
			}
		})
	}
}

func TestAppendEscapeJSON(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{`say "hi"`, `say \"hi\"`},
		{`a\b`, `a\\b`},
		{"\n\r\t\b\f", `\n\r\t\b\f`},
		{"\x00\x01\x1f", `\u0000\u0001\u001F`},
		{"\x7f", "\x7f"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"/slash'", "/slash'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := AppendEscapeJSON(nil, []byte(tt.in))
			if string(got) != tt.want {
				t.Errorf("AppendEscapeJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// For valid UTF-8 input the result is a JSON string body that
			// decodes back to the input.
			var back string
			if err := json.Unmarshal([]byte(`"`+string(got)+`"`), &back); err != nil || back != tt.in {
				t.Errorf("JSON round trip of %q: %q, %v", tt.in, back, err)
			}
		})
	}
}

func TestAppendEscapeNone(t *testing.T) {
	in := "\"\\\x00\xff"
	if got := string(AppendEscapeNone([]byte("p:"), []byte(in))); got != "p:"+in {
		t.Errorf("AppendEscapeNone = %q", got)
	}
}

func TestParseEscape(t *testing.T) {
	for _, e := range []Escape{EscapeDefault, EscapeJSON, EscapeNone} {
		got, err := ParseEscape(e.String())
		if err != nil || got != e {
			t.Errorf("ParseEscape(%q) = %v, %v", e.String(), got, err)
		}
	}
	if _, err := ParseEscape("html"); err == nil || err.Error() != `unknown log format escaping "html"` {
		t.Errorf("ParseEscape(html) error = %v", err)
	}
}

// TestAppendEscapedLogRules checks nginx's access log rules: literals are
// copied as written, values escaped, and a variable that is not found is
// "-" only with escape=default.
func TestAppendEscapedLogRules(t *testing.T) {
	st := &State{}
	st.Method = "GET"
	st.Header = HeaderList{
		{Name: "User-Agent", Value: `evil "agent"` + "\n"},
		{Name: "Referer", Value: ""},
	}
	const format = `"$request_method" "$http_user_agent" "$http_referer" "$http_x_absent" \"lit\"`
	tests := []struct {
		esc  Escape
		want string
	}{
		{EscapeDefault, `"GET" "evil \x22agent\x22\x0A" "" "-" \"lit\"`},
		{EscapeJSON, `"GET" "evil \"agent\"\n" "" "" \"lit\"`},
		{EscapeNone, "\"GET\" \"evil \"agent\"\n\" \"\" \"\" \\\"lit\\\""},
	}
	var c Compiler
	tpl, err := c.Compile(format)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.esc.String(), func(t *testing.T) {
			if got := string(tpl.AppendEscaped(nil, st, tt.esc)); got != tt.want {
				t.Errorf("escape=%s:\n got %s\nwant %s", tt.esc, got, tt.want)
			}
		})
	}
	// Plain Append writes nothing for a variable that is not found.
	if got := tpl.String(st); got != "\"GET\" \"evil \"agent\"\n\" \"\" \"\" \\\"lit\\\"" {
		t.Errorf("Append = %q", got)
	}
}

func TestCombinedLogLine(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	tpl, err := c.Compile(combinedFormat)
	if err != nil {
		t.Fatal(err)
	}
	st := filledState()
	want := `192.0.2.10 - alice [25/Nov/2026:01:24:22 +0000] "GET /search/a%20b?q=go&Lang=en&empty=&flag HTTP/1.1" 200 1000 "-" "curl/8.5.0"`
	if got := string(tpl.AppendEscaped(nil, st, EscapeDefault)); got != want {
		t.Errorf("combined:\n got %s\nwant %s", got, want)
	}
}

// combinedFormat is nginx's predefined log_format combined.
const combinedFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

// TestEscapeNeededEveryByte checks the word-at-a-time scan against the byte
// rule for every byte value at every position of values 1 to 17 bytes long
// (one and two words plus a tail), among letters and among bytes at the edges
// of the ranges, in both modes that escape.
func TestEscapeNeededEveryByte(t *testing.T) {
	byteRule := map[Escape]func(b byte) bool{
		EscapeDefault: func(b byte) bool { return b < 0x20 || b > 0x7e || b == '"' || b == '\\' },
		EscapeJSON:    func(b byte) bool { return b < 0x20 || b == '"' || b == '\\' },
	}
	// Fillers at the edges: the bytes next to every boundary the word tests
	// draw, which a carry or borrow would turn into a wrong answer.
	fillers := []byte{'a', ' ', '!', '#', '[', ']', '~', 0x21, 0x7e, 0x80, 0xff}
	for esc, rule := range byteRule {
		for n := 1; n <= 17; n++ {
			for _, fill := range fillers {
				v := bytes.Repeat([]byte{fill}, n)
				for pos := 0; pos < n; pos++ {
					for b := 0; b < 256; b++ {
						v[pos] = byte(b)
						want := false
						for _, c := range v {
							want = want || rule(c)
						}
						if got := esc.needed(v); got != want {
							t.Fatalf("%s: needed(%q) = %v, want %v", esc, v, got, want)
						}
					}
					v[pos] = fill
				}
			}
		}
	}
	if EscapeNone.needed([]byte("\x00\"\\\xff")) {
		t.Error("escape=none needs nothing")
	}
}

// BenchmarkEscapeNeeded is the scan over a typical User-Agent value.
func BenchmarkEscapeNeeded(b *testing.B) {
	v := []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	for b.Loop() {
		if EscapeDefault.needed(v) {
			b.Fatal("nothing to escape")
		}
	}
}

// escapeByteRef is nginx's escaping of one byte b in mode esc, written from
// ngx_http_log_escape and ngx_escape_json independently of the escapers: the
// reference of TestAppendEscapedEveryByte.
func escapeByteRef(esc Escape, b byte) string {
	const hex = "0123456789ABCDEF"
	switch esc {
	case EscapeDefault:
		if b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return `\x` + string([]byte{hex[b>>4], hex[b&0xf]})
		}
	case EscapeJSON:
		switch b {
		case '"', '\\':
			return `\` + string([]byte{b})
		case '\n':
			return `\n`
		case '\r':
			return `\r`
		case '\t':
			return `\t`
		case '\b':
			return `\b`
		case '\f':
			return `\f`
		}
		if b < 0x20 {
			return `\u00` + string([]byte{hex[b>>4], hex[b&0xf]})
		}
	}
	return string([]byte{b})
}

// TestAppendEscapedEveryByte writes every byte value, alone and among plain
// text at the start, middle and end of values of several lengths, through a
// log format in each escape mode, and compares the line with the reference
// escaping of each byte: the whole path of an access log value (the check
// whether a value needs escaping, and the escaper), byte for byte.
func TestAppendEscapedEveryByte(t *testing.T) {
	var c Compiler
	tpl, err := c.Compile(`[$http_x_v] "$request_method"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, esc := range []Escape{EscapeDefault, EscapeJSON, EscapeNone} {
		for _, n := range []int{1, 2, 3, 7, 8, 9, 16, 17, 40} {
			for _, pos := range []int{0, n / 2, n - 1} {
				for b := 0; b < 256; b++ {
					v := bytes.Repeat([]byte{'a'}, n)
					v[pos] = byte(b)
					st := &State{}
					st.Method = "GET"
					st.Header = HeaderMap{"X-V": {string(v)}}
					want := "["
					for _, c := range v {
						want += escapeByteRef(esc, c)
					}
					want += `] "GET"`
					if got := string(tpl.AppendEscaped([]byte("p:"), st, esc)); got != "p:"+want {
						t.Fatalf("escape=%s, value %q: got %q, want %q", esc, v, got, "p:"+want)
					}
				}
			}
		}
	}
}

// TestCleanValues holds the variables cleanValue names, whose values
// AppendEscaped does not check, to never holding a byte an escape= mode
// changes: each is built in (so no set, map or capture can give it another
// value), and its value has no such byte in ordinary and extreme States and
// clocks (a status out of range, negative counters, a clock before 1970 and
// in zones east and west).
func TestCleanValues(t *testing.T) {
	names := []string{"status", "body_bytes_sent", "bytes_sent", "request_length",
		"time_local", "time_iso8601", "msec", "request_time", "connection_time",
		"connection", "connection_requests"}
	extreme := &State{}
	extreme.Status, extreme.BodyBytesSent, extreme.BytesSent, extreme.Length = -7, -1, -1<<63, -1<<63
	extreme.Conn, extreme.ConnRequests = 1<<64-1, 1<<64-1
	extreme.Start, extreme.ConnStart = fixedNow.Add(time.Hour), fixedNow.Add(-1<<62)
	huge := &State{}
	huge.Status, huge.BodyBytesSent, huge.BytesSent, huge.Length = 1<<62, 1<<63-1, 1<<63-1, 1<<63-1
	clocks := []time.Time{
		fixedNow,
		fixedNow.In(time.FixedZone("east", 14*3600)),
		fixedNow.In(time.FixedZone("west", -(9*3600 + 30*60))),
		time.Unix(-86_400_123, 0).UTC(),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 12, 31, 23, 59, 59, 999_000_000, time.FixedZone("odd", -59)),
	}
	for _, name := range names {
		if !cleanValue(name) {
			t.Errorf("cleanValue(%q) is false", name)
		}
		for _, now := range clocks {
			c := &Compiler{Now: func() time.Time { return now }}
			if c.builtin(name) == nil {
				t.Fatalf("$%s is not built in", name)
			}
			tpl, err := c.Compile("$" + name)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []*State{{}, filledState(), extreme, huge} {
				v := tpl.Append(nil, st)
				for _, esc := range []Escape{EscapeDefault, EscapeJSON} {
					if esc.needed(v) {
						t.Errorf("$%s at %v: %q needs escape=%s", name, now, v, esc)
					}
				}
			}
		}
	}
	if cleanValue("http_user_agent") || cleanValue("remote_addr") || cleanValue("1") {
		t.Error("a value from the client is taken as clean")
	}
}

// TestEscapeNeededRandom checks the word-at-a-time scan against the byte
// rule on random values of 0 to 40 bytes drawn mostly from the bytes at the
// edges of the ranges it tests (where a carry or borrow between bytes would
// show), in both modes that escape.
func TestEscapeNeededRandom(t *testing.T) {
	edges := []byte{0x00, 0x1f, 0x20, 0x21, '"', 0x23, '[', '\\', ']', 0x5f, 0x60, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xdf, 0xe0, 0xfe, 0xff, 'a'}
	rules := map[Escape]func(b byte) bool{
		EscapeDefault: func(b byte) bool { return b < 0x20 || b > 0x7e || b == '"' || b == '\\' },
		EscapeJSON:    func(b byte) bool { return b < 0x20 || b == '"' || b == '\\' },
	}
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]byte, 0, 40)
	for range 200_000 {
		v = v[:rng.IntN(41)]
		for i := range v {
			if rng.IntN(4) == 0 {
				v[i] = byte(rng.IntN(256))
			} else {
				v[i] = edges[rng.IntN(len(edges))]
			}
		}
		for esc, rule := range rules {
			want := false
			for _, b := range v {
				want = want || rule(b)
			}
			if got := esc.needed(v); got != want {
				t.Fatalf("%s: needed(%q) = %v, want %v", esc, v, got, want)
			}
		}
	}
}

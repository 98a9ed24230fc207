package memcached

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAppendKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/page?a=1", "/page?a=1"},
		{"/a b", "/a%20b"},
		{"100%", "100%25"},
		{"tab\there\r\n", "tab%09here%0D%0A"},
		{"\x00\x1f\x7f", "%00%1F\x7f"}, // DEL is not escaped (NGX_ESCAPE_MEMCACHED)
		{"/é", "/é"},                   // nor are bytes above 0x7f
		{"+&=#", "+&=#"},
	}
	for _, tc := range tests {
		if got := string(AppendKey(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("AppendKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(AppendRequest(nil, []byte("/a%20b"))); got != "get /a%20b\r\n" {
		t.Errorf("AppendRequest = %q", got)
	}
}

func TestParseHead(t *testing.T) {
	const key = "/k?x=1"
	tests := []struct {
		name, line string
		gzipFlag   uint64
		want       Head
		err        string // nginx's log message; "" for none
	}{
		{"value", "VALUE /k?x=1 0 5\r", 0, Head{Found: true, Length: 5}, ""},
		{"empty value", "VALUE /k?x=1 0 0\r", 0, Head{Found: true}, ""},
		{"end", "END\r", 0, Head{}, ""},
		{"gzip flag set", "VALUE /k?x=1 3 7\r", 2, Head{Found: true, Gzip: true, Length: 7}, ""},
		{"gzip flag clear", "VALUE /k?x=1 1 7\r", 2, Head{Found: true, Length: 7}, ""},
		{"flags not read without gzip flag", "VALUE /k?x=1 zz 7\r", 0, Head{Found: true, Length: 7}, ""},
		{"bad flags with gzip flag", "VALUE /k?x=1 zz 7\r", 2, Head{},
			`memcached sent invalid flags in response "VALUE /k?x=1 zz 7" for key "/k?x=1"`},
		{"empty flags with gzip flag", "VALUE /k?x=1  7\r", 2, Head{},
			`memcached sent invalid flags in response "VALUE /k?x=1  7" for key "/k?x=1"`},
		{"other key", "VALUE /other 0 5\r", 0, Head{},
			`memcached sent invalid key in response "VALUE /other 0 5" for key "/k?x=1"`},
		{"key is a prefix", "VALUE /k?x=12 0 5\r", 0, Head{}, `memcached sent invalid response: "VALUE /k?x=12 0 5"`},
		{"bad length", "VALUE /k?x=1 0 5x\r", 0, Head{},
			`memcached sent invalid length in response "VALUE /k?x=1 0 5x" for key "/k?x=1"`},
		{"cas unique after the length", "VALUE /k?x=1 0 5 77\r", 0, Head{},
			`memcached sent invalid length in response "VALUE /k?x=1 0 5 77" for key "/k?x=1"`},
		{"no length", "VALUE /k?x=1 0\r", 0, Head{}, `memcached sent invalid response: "VALUE /k?x=1 0"`},
		{"length too big", "VALUE /k?x=1 0 99999999999999999999\r", 0, Head{},
			`memcached sent invalid length in response "VALUE /k?x=1 0 99999999999999999999" for key "/k?x=1"`},
		{"no CR", "END", 0, Head{}, `memcached sent invalid response: "END"`},
		{"empty line", "", 0, Head{}, `memcached sent invalid response: ""`},
		{"lower-case end", "end\r", 0, Head{}, `memcached sent invalid response: "end"`},
		{"end with more", "END \r", 0, Head{}, `memcached sent invalid response: "END "`},
		{"server error", "SERVER_ERROR out of memory\r", 0, Head{}, `memcached sent invalid response: "SERVER_ERROR out of memory"`},
		{"error", "ERROR\r", 0, Head{}, `memcached sent invalid response: "ERROR"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHead([]byte(tc.line), []byte(key), tc.gzipFlag)
			if tc.err != "" {
				var re *ReplyError
				if !errors.As(err, &re) || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestReadHead reads first lines from a reader that gives one byte at a
// time (a reply split across reads), from one that ends early, and with a
// line longer than the buffer.
func TestReadHead(t *testing.T) {
	key := []byte("k")
	tests := []struct {
		name, reply string
		size        int
		want        Head
		rest        string
		err         error
	}{
		{"split value", "VALUE k 0 3\r\nabc\r\nEND\r\n", 64, Head{Found: true, Length: 3}, "abc\r\nEND\r\n", nil},
		{"split end", "END\r\n", 64, Head{}, "", nil},
		{"cut off", "VALUE k 0", 64, Head{}, "", io.EOF},
		{"nothing", "", 64, Head{}, "", io.EOF},
		{"too big", "VALUE k 0 3" + strings.Repeat(" ", 40) + "\r\n", 16, Head{}, "", ErrTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tc.reply)), tc.size)
			got, err := ReadHead(br, key, 0)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
		})
	}
}

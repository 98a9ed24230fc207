package httptime

import (
	"testing"
	"time"
)

// TestParse: the dates nginx 1.22.1 read (an Expires that made a
// response cacheable, a Last-Modified it revalidated with) and refused,
// with the cases of its ngx_parse_http_time.
func TestParse(t *testing.T) {
	want := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := []string{
		"Thu, 01 Jan 2037 00:00:00 GMT",
		"Thursday, 01-Jan-37 00:00:00 GMT",
		"Thu Jan  1 00:00:00 2037",
		"Thu, 01 Jan 2037 00:00:00 GMTxx", // recorded: cached
		"Thu, 01 Jan 2037 00:00:00  0100", // recorded: cached, the zone not read
		"Xyz, 01 Jan 2037 00:00:00 GMT",   // the day name is not read
		"Thu,   01 Jan 2037 00:00:00 GMT", // spaces after the comma
	}
	for _, v := range ok {
		if got, ok := Parse(v); !ok || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v %v, want %v", v, got, ok, want)
		}
	}
	if got, ok := Parse("Mon, 29 Feb 2016 23:59:60 GMT"); !ok || !got.Equal(time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("leap day and second: %v %v", got, ok)
	}
	if got, ok := Parse("Wednesday, 01-Jan-70 00:00:00 GMT"); !ok || got.Unix() != 0 {
		t.Errorf("two-digit year 70: %v %v", got, ok)
	}
	bad := []string{
		"", "0", "yesterday", "soon",
		"Thu, 01 Jan 2037 00:00 GMT",
		"Thu, 1 Jan 2037 00:00:00 GMT",
		"Thu, 01 Xan 2037 00:00:00 GMT",
		"Thu, 32 Jan 2037 00:00:00 GMT",
		"Thu, 29 Feb 2015 00:00:00 GMT",
		"Thu, 01 Jan 2037 24:00:00 GMT",
		"Thu, 01 Jan 2037 00:00:61 GMT",
		"Thu, 01/Jan/2037 00:00:00 GMT",
	}
	for _, v := range bad {
		if got, ok := Parse(v); ok {
			t.Errorf("Parse(%q) = %v, want an error", v, got)
		}
	}
}

// TestUnix: a date's Unix time, -1 for one Parse cannot read (nginx's
// NGX_ERROR, which matches no file's time).
func TestUnix(t *testing.T) {
	for v, want := range map[string]int64{
		"Thu, 01 Jan 1970 00:00:10 GMT":      10,
		"Fri, 02 Jan 2026 03:04:05 GMT junk": 1767323045,
		"yesterday":                          -1,
		"":                                   -1,
	} {
		if got := Unix(v); got != want {
			t.Errorf("Unix(%q) = %d, want %d", v, got, want)
		}
	}
}

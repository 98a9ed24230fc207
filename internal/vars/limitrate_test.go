package vars

import (
	"errors"
	"testing"
)

// TestParseSize: ngx_parse_size's sizes, as nginx 1.22.1 accepts them for
// limit_rate (checked with nginx -t).
func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		fail bool
	}{
		{in: "0"},
		{in: "512", n: 512},
		{in: "10k", n: 10 << 10},
		{in: "10K", n: 10 << 10},
		{in: "2m", n: 2 << 20},
		{in: "2M", n: 2 << 20},
		{in: "0k"},
		{in: "9223372036854775807", n: 1<<63 - 1},
		{in: "9007199254740991k", n: 9007199254740991 << 10},
		{in: "8796093022207m", n: 8796093022207 << 20},
		{in: "9223372036854775808", fail: true},
		{in: "9007199254740992k", fail: true},
		{in: "8796093022208m", fail: true},
		{in: "", fail: true},
		{in: "k", fail: true},
		{in: "1g", fail: true},
		{in: "-1", fail: true},
		{in: "+1", fail: true},
		{in: "1.5k", fail: true},
		{in: "abc", fail: true},
		{in: " 1", fail: true},
		{in: "1kk", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, ok := ParseSize([]byte(tt.in))
			if ok == tt.fail || n != tt.n {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, !tt.fail)
			}
		})
	}
}

// TestLimitRateVariable: $limit_rate reads the request's limit (0 before
// anything decides it), "set $limit_rate" parses a size into it, and a
// value that is not a size is refused with nginx's message and changes
// nothing.
func TestLimitRateVariable(t *testing.T) {
	c := &Compiler{}
	v, err := c.DefineSettable("limit_rate")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.Compile("$limit_rate")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if got := tmpl.String(&st); got != "0" {
		t.Errorf("before any set: %q, want 0", got)
	}
	steps := []struct {
		value   string
		want    string
		wantErr string
	}{
		{"100k", "102400", ""},
		{"abc", "102400", `invalid $limit_rate "abc"`},
		{"", "102400", `invalid $limit_rate ""`},
		{"0", "0", ""},
		{"1m", "1048576", ""},
	}
	for _, s := range steps {
		err := v.Assign(&st, []byte(s.value))
		var bad *InvalidLimitRateError
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("set %q: %v", s.value, err)
		case s.wantErr != "" && (!errors.As(err, &bad) || err.Error() != s.wantErr):
			t.Errorf("set %q: error %v, want %s", s.value, err, s.wantErr)
		}
		if got := tmpl.String(&st); got != s.want || !st.LimitRateSet {
			t.Errorf("after set %q: $limit_rate %q (set %v), want %s", s.value, got, st.LimitRateSet, s.want)
		}
	}
	st.Reset()
	if st.LimitRate != 0 || st.LimitRateSet {
		t.Errorf("Reset kept the limit: %d %v", st.LimitRate, st.LimitRateSet)
	}
}

package h1

import (
	"strconv"
	"testing"
)

// TestParseDecimal checks 1*DIGIT against strconv.ParseInt, around the
// length from which ParseDecimal checks for overflow (18 digits) and the
// int64 limit, with leading zeros.
func TestParseDecimal(t *testing.T) {
	cases := []string{
		"", "0", "7", "42", "-1", "+1", " 1", "1 ", "1a", "١",
		"999999999999999999", "1000000000000000000", "9999999999999999999",
		"9223372036854775807", "9223372036854775808", "18446744073709551616",
		"00000000000000000000009", "00009223372036854775807", "00009223372036854775808",
		"99999999999999999999999",
	}
	for _, s := range cases {
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && s != "" && s[0] >= '0' && s[0] <= '9'
		if !wantOK {
			want = 0
		}
		got, ok := ParseDecimal(s)
		if got != want || ok != wantOK {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d, %v", s, got, ok, want, wantOK)
		}
		if gotB, okB := ParseDecimal([]byte(s)); gotB != got || okB != ok {
			t.Errorf("ParseDecimal([]byte(%q)) = %d, %v; the string gives %d, %v", s, gotB, okB, got, ok)
		}
	}
}

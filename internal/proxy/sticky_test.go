package proxy

import (
	"testing"
	"time"
)

// TestAppendCookieTime checks nginx's cookie date: two-digit years up to
// 2037, four after.
func TestAppendCookieTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 3, 5, 7, 8, 9, 0, time.UTC), "Thu, 05-Mar-26 07:08:09 GMT"},
		{time.Date(2037, 12, 31, 23, 55, 55, 0, time.UTC), "Thu, 31-Dec-37 23:55:55 GMT"},
		{time.Date(2038, 1, 19, 3, 14, 8, 0, time.FixedZone("x", 3600)), "Tue, 19-Jan-2038 02:14:08 GMT"},
	}
	for _, tt := range tests {
		if got := string(appendCookieTime(nil, tt.t)); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.t, got, tt.want)
		}
	}
}

// TestStickyCookieText checks the attribute order and the expires forms.
func TestStickyCookieText(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    stickyCookie
		want string
	}{
		{"session", stickyCookie{name: "srv_id"}, "srv_id=ID"},
		{"expires", stickyCookie{name: "s", exp: expiresAfter, expires: time.Hour, path: "; path=/", httpOnly: true, secure: true},
			"s=ID; expires=Thu, 01-Jan-26 01:00:00 GMT; max-age=3600; httponly; secure; path=/"},
		{"max", stickyCookie{name: "s", exp: expiresMax}, "s=ID; expires=Thu, 31-Dec-37 23:55:55 GMT; max-age=315360000"},
	}
	for _, tt := range tests {
		if got := string(tt.c.append(nil, "ID", now, nil)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

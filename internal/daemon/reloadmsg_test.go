package daemon

import (
	"errors"
	"testing"
)

// TestReloadRefused: the emerg line of a refused reload adds that the
// running configuration stays without doubling the error's last mark.
func TestReloadRefused(t *testing.T) {
	tests := []struct{ err, want string }{
		{`unknown directive "retrun" in /c.conf:3`, `unknown directive "retrun" in /c.conf:3; the running configuration stays in force`},
		{`invalid number of arguments in "proxy_set_header" directive in /c.conf:19, syntax: proxy_set_header field value;`,
			`invalid number of arguments in "proxy_set_header" directive in /c.conf:19, syntax: proxy_set_header field value; the running configuration stays in force`},
		{`invalid parameter "wieght=2" in /s/app.state:2, did you mean "weight=2"?`,
			`invalid parameter "wieght=2" in /s/app.state:2, did you mean "weight=2"? the running configuration stays in force`},
	}
	for _, tt := range tests {
		if got := reloadRefused(errors.New(tt.err)); got != tt.want {
			t.Errorf("reloadRefused(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

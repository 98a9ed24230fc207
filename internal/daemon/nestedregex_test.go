package daemon_test

import (
	"testing"
)

// TestNestedRegexLocationKeepsNamedCaptures checks the named captures of a
// regex location when a regex location nested in it is chosen: nginx
// matched both, in turn, and each named capture keeps the value its regex
// gave, while $1 is the last match's (recorded with nginx 1.22.1: "z a=1
// b=2 1=z" for /x12z through three levels); fulcrum kept only the chosen
// location's match, so $a and $b were empty.
func TestNestedRegexLocationKeepsNamedCaptures(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location ~ ^/x(?<a>\d) {
            location ~ ^/x\d(?<b>\d) {
                location ~ (z)$ { return 200 "z a=$a b=$b 1=$1"; }
                return 200 "b a=$a b=$b 1=$1";
            }
            return 200 "a a=$a b=$b 1=$1";
        }
        location ~ ^/n(?<n>\d+) { location ~ y$ { return 200 "y n=$n 1=$1"; } }
    }`)
	tests := []struct{ target, want string }{
		{"/x12z", "z a=1 b=2 1=z"},
		{"/x12", "b a=1 b=2 1=2"},
		{"/x1", "a a=1 b= 1=1"},
		{"/n12y", "y n=12 1="},
	}
	for _, tt := range tests {
		resp, body := getNoRedirect(t, "http://"+addr+tt.target)
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("%s: %d %q, want 200 %q", tt.target, resp.StatusCode, body, tt.want)
		}
	}
}

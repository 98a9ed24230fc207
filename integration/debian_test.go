package integration

import (
	"os"
	"strings"
	"testing"
)

// debianConf is the configuration Debian's nginx packages install.
const debianConf = "/etc/nginx/nginx.conf"

// TestDebianNginxConf checks that fulcrum accepts a stock nginx configuration:
// -t succeeds, and whatever it says besides the two ok lines is a warning (about
// directives fulcrum accepts but ignores). It needs config.Load to know nginx's
// directives.
func TestDebianNginxConf(t *testing.T) {
	if _, err := os.Stat(debianConf); err != nil {
		t.Skipf("%s is absent: %v", debianConf, err)
	}
	r := runFulcrum(t, "-t", "-c", debianConf)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) < 2 || lines[len(lines)-2]+"\n"+lines[len(lines)-1]+"\n" != okLines(debianConf) {
		t.Errorf("stderr does not end with the ok lines:\n%s", r.stderr)
	}
	for _, l := range lines[:max(len(lines)-2, 0)] {
		if !strings.HasPrefix(l, "fulcrum: [warn] ") {
			t.Errorf("a line that is not a warning: %q", l)
		}
	}
}

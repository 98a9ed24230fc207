package config

import (
	"reflect"
	"testing"
)

// TestPCRESyntaxLoads: the PCRE lookahead of five real-world configurations
// (h5bp's, Laravel's and nginxconfig.io's dotfile rule, Magento's setup rule,
// Nextcloud's front-controller rewrite), lookbehind, backreferences and
// named groups compile, as nginx 1.22.1 (PCRE2) accepts them; refused with
// "invalid or unsupported Perl syntax" before package pcre. The regexes
// match what nginx matched (recorded with nginx-diff, see
// internal/daemon's TestPCRELookaround) and number their groups as PCRE.
func TestPCRESyntaxLoads(t *testing.T) {
	conf := `http { server {
		location ~ /\.(?!well-known) { deny all; }
		location ~ ^/setup/(?!pub/). { deny all; }
		location ~ (?<!\.php)$ { }
		location ~* ^/ci/(?!x)(?P<w>CAFé)$ { }
		location /nc/ {
			rewrite ^/(?!index|remote|public|cron|core\/ajax\/update|status|ocs\/v[12]|updater\/.+|ocs-provider\/.+|.+\/richdocumentscode(_arm64)?\/proxy) /index.php$request_uri;
			if ($uri ~ ^/(\w+)/\1$) { return 403; }
		}
	} }`
	cfg := mustLoad(t, conf)
	locs := cfg.HTTP.Servers[0].Locations
	for _, tc := range []struct {
		loc     int
		subject string
		want    []string
	}{
		{0, "/.git/config", []string{"/."}},
		{0, "/.htaccess", []string{"/."}},
		{0, "/.well-known/x", nil},
		{1, "/setup/index.php", []string{"/setup/i"}},
		{1, "/setup/pub/x", nil},
		{2, "/a/b.html", []string{""}},
		{2, "/a/b.php", nil},
		{3, "/CI/café", []string{"/CI/café", "café"}},
		{3, "/ci/cafÉ", nil}, // ASCII letters fold, é does not
		{3, "/ci/xcafé", nil},
	} {
		re := locs[tc.loc].Regex
		if got := re.FindStringSubmatch(tc.subject); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q on %q: %q, want %q", re, tc.subject, got, tc.want)
		}
	}
	if names := locs[3].Regex.SubexpNames(); !reflect.DeepEqual(names, []string{"", "w"}) {
		t.Errorf("names %q", names)
	}
	steps := locs[4].Settings.Rewrites
	rw := steps[0].Rewrite.Regex
	for subject, want := range map[string]bool{"/apps/files": true, "/index.php": false, "/remote.php/dav": false, "/x/richdocumentscode_arm64/proxy": false} {
		if rw.MatchString(subject) != want {
			t.Errorf("rewrite on %q: %t, want %t", subject, !want, want)
		}
	}
	if cond := steps[1].If.Cond.Regex; !cond.MatchString("/ab/ab") || cond.MatchString("/ab/ac") {
		t.Errorf("backreference %q", cond)
	}
}

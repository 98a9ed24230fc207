package daemon_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNestedLocationInheritsAlias checks a location nested in an alias
// location, as phpMyAdmin's and Roundcube's configurations write it
// ("location /pma/ { alias DIR/; location ~ \.php$ { fastcgi_param
// SCRIPT_FILENAME $request_filename; } }"): it inherits the alias with the
// outer location's prefix, so the file is the alias and $uri after
// "/pma/", as nginx 1.22.1 maps it (recorded: "DIR/index.php" for
// /pma/index.php, "DIR/js/a.js" served through a nested "~ \.js$" and a
// nested "/pma/js/"); fulcrum took the nested location's own path, or
// the alias alone for a nested regex location.
func TestNestedLocationInheritsAlias(t *testing.T) {
	dir := t.TempDir()
	pma := filepath.Join(dir, "pma")
	if err := os.MkdirAll(filepath.Join(pma, "js"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"js/a.js", "js/b.css"} {
		if err := os.WriteFile(filepath.Join(pma, f), []byte("file "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /pma/ {
            alias `+pma+`/;
            location ~ \.php$ { return 200 "php $request_filename|$document_root"; }
            location ~ \.js$ { add_header X-Nested regex; }
            location /pma/sub/ { return 200 "sub $request_filename"; }
            location /pma/js/ { add_header X-Nested prefix; }
        }
    }`)
	tests := []struct{ target, want, nested string }{
		{"/pma/index.php", "php " + pma + "/index.php|" + pma + "/", ""},
		{"/pma/sub/x", "sub " + pma + "/sub/x", ""},
		{"/pma/js/a.js", "file js/a.js", "regex"},
		{"/pma/js/b.css", "file js/b.css", "prefix"},
	}
	for _, tt := range tests {
		resp, body := getNoRedirect(t, "http://"+addr+tt.target)
		if resp.StatusCode != 200 || body != tt.want || resp.Header.Get("X-Nested") != tt.nested {
			t.Errorf("%s: %d %q X-Nested %q, want 200 %q %q", tt.target, resp.StatusCode, body, resp.Header.Get("X-Nested"), tt.want, tt.nested)
		}
	}
}

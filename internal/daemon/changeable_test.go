package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestBuiltinVariableRedefined checks the variables that a map, geo or
// split_clients block or a named capture defines: a built-in name nginx
// does not let change is `the duplicate "NAME" variable`, with the name as
// written, as nginx 1.22.1 refuses it at load (recorded: "map $uri $https",
// "server_name ~^(?<host>.+)\.example\.com$", "set $URI x"); fulcrum kept
// the built-in and ignored the definition. $args, $limit_rate, a prefix
// variable ($http_foo) and names other maps or sets define are accepted.
func TestBuiltinVariableRedefined(t *testing.T) {
	server := []struct{ name, conf, want string }{
		{"server_name capture", `server_name ~^(?<host>.+)\.example\.com$;`, `the duplicate "host" variable in `},
		{"location capture as written", `location ~ ^/(?<Uri>.*)$ { }`, `the duplicate "Uri" variable in `},
		{"rewrite capture", `rewrite ^/(?<uri>.*)$ /x;`, `the duplicate "uri" variable in `},
		{"if capture", `if ($uri ~ (?<scheme>.*)) { }`, `the duplicate "scheme" variable in `},
		{"set as written", `set $URI x;`, `the duplicate "URI" variable in `},
		{"changeable capture", `location ~ ^/(?<args>.*)$ { }`, ""},
		{"capture beside a set", `set $x 1; location ~ (?<x>.) { }`, ""},
		{"set of uid_got", `set $uid_got x;`, `the duplicate "uid_got" variable in `},
		{"set of date_gmt", `set $date_gmt x;`, `the duplicate "date_gmt" variable in `},
		{"set of uid_reset", `set $uid_reset 1;`, ""},
	}
	for _, tt := range server {
		t.Run(tt.name, func(t *testing.T) { checkServerLine(t, tt.conf, tt.want) })
	}
	http := []struct{ name, conf, want string }{
		{"map", `map $uri $https { default on; }`, `the duplicate "https" variable in `},
		{"geo", `geo $host { default 0; }`, `the duplicate "host" variable in `},
		{"split_clients", `split_clients $uri $uri { * a; }`, `the duplicate "uri" variable in `},
		{"map regex capture", `map $uri $x { ~^/(?<uri>.*)$ 1; }`, `the duplicate "uri" variable in `},
		{"map of args", `map $uri $args { default on; }`, ""},
		{"map of date_local", `map $uri $date_local { default 1; }`, `the duplicate "date_local" variable in `},
		{"map of a prefix variable", `map $uri $http_foo { default 1; }`, ""},
		{"two maps of one name", `map $uri $a { default 1; } map $uri $a { default 2; }`, ""},
	}
	for _, tt := range http {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			text := "http {\n " + tt.conf + "\n server { listen 127.0.0.1:0; }\n}\n"
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, config.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = daemon.Check(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want+path+":2")):
				t.Errorf("Check: %v, want %q at %s:2", err, tt.want, path)
			}
		})
	}
}

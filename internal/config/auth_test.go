package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAuthBasicInheritance checks that auth_basic and auth_basic_user_file
// are inherited each on its own, that "auth_basic off" turns the check off,
// and that a relative user file is resolved against the configuration's
// directory, as nginx's merge and conf_prefix do.
func TestAuthBasicInheritance(t *testing.T) {
	cfg := mustLoad(t, `http {
        auth_basic_user_file users;
        server {
            auth_basic "Staff";
            location /a/ { }
            location /b/ { auth_basic "B"; }
            location /off/ { auth_basic off; }
            location /abs/ { auth_basic_user_file /etc/users; }
            location /var/ { auth_basic_user_file $host.users; }
        }
        server {
            listen 81;
            location / { }
        }
    }`)
	s0, s1 := cfg.HTTP.Servers[0], cfg.HTTP.Servers[1]
	confDir := filepath.Dir(cfg.Files[0].Path)
	tests := []struct {
		name        string
		got         *AuthBasic
		realm, file string
	}{
		{"server", s0.Settings.AuthBasic, "Staff", filepath.Join(confDir, "users")},
		{"location inherits both", s0.Locations[0].Settings.AuthBasic, "Staff", filepath.Join(confDir, "users")},
		{"location's own realm", s0.Locations[1].Settings.AuthBasic, "B", filepath.Join(confDir, "users")},
		{"off", s0.Locations[2].Settings.AuthBasic, "", ""},
		{"absolute file", s0.Locations[3].Settings.AuthBasic, "Staff", "/etc/users"},
		{"file with a variable stays", s0.Locations[4].Settings.AuthBasic, "Staff", "$host.users"},
		{"no realm: off", s1.Locations[0].Settings.AuthBasic, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.realm == "" {
				if tt.got != nil {
					t.Fatalf("AuthBasic = %+v, want nil", tt.got)
				}
				return
			}
			if tt.got == nil || tt.got.Realm != tt.realm || tt.got.UserFile != tt.file {
				t.Fatalf("AuthBasic = %+v, want realm %q file %q", tt.got, tt.realm, tt.file)
			}
		})
	}
}

// TestLimitExcept checks the methods of a limit_except block (GET brings
// HEAD, names are case-insensitive) and its settings: the location's, with
// the block's access rules.
func TestLimitExcept(t *testing.T) {
	cfg := mustLoad(t, `http {
        server {
            satisfy any;
            location /a/ {
                allow 10.0.0.0/8;
                limit_except get post {
                    deny all;
                    auth_basic "W";
                    auth_basic_user_file /u;
                }
                location /a/n/ { }
                if ($arg_x) { set $y 1; }
            }
            location /b/ { limit_except PUT { } }
        }
    }`)
	a, b := cfg.HTTP.Servers[0].Locations[0], cfg.HTTP.Servers[0].Locations[1]
	le := a.LimitExcept
	if le == nil {
		t.Fatal("no limit_except")
	}
	if !slices.Equal(le.Methods, []string{"GET", "HEAD", "POST"}) {
		t.Errorf("Methods = %v", le.Methods)
	}
	for m, want := range map[string]bool{"GET": false, "HEAD": false, "POST": false, "PUT": true, "DELETE": true, "FOO": true} {
		if got := le.Applies(m); got != want {
			t.Errorf("Applies(%s) = %v, want %v", m, got, want)
		}
	}
	if len(le.Settings.Access) != 1 || !le.Settings.Access[0].Deny || le.Settings.AuthBasic == nil || !le.Settings.SatisfyAny {
		t.Errorf("block settings: access %+v auth %+v satisfy any %v", le.Settings.Access, le.Settings.AuthBasic, le.Settings.SatisfyAny)
	}
	if le.Settings.ProxyPass != a.Settings.ProxyPass {
		t.Error("the block does not share the location's proxy_pass")
	}
	if a.Locations[0].LimitExcept != nil || a.Locations[0].Settings.AuthBasic != nil {
		t.Error("a nested location inherited the limit_except block")
	}
	if ifLoc := a.Settings.Rewrites[0].If.Location; ifLoc.LimitExcept != le {
		t.Error("the if block's location does not keep the limit_except block")
	}
	if !slices.Equal(b.LimitExcept.Methods, []string{"PUT"}) || b.LimitExcept.Applies("HEAD") != true {
		t.Errorf("PUT only: %v", b.LimitExcept.Methods)
	}
}

// TestAuthRequestInheritance checks how auth_request and auth_request_set
// are inherited, as nginx's merge does: the URI from the nearest level that
// writes auth_request ("off" turns it off), and the whole list of
// auth_request_set from the nearest level that has any.
func TestAuthRequestInheritance(t *testing.T) {
	cfg := mustLoad(t, `http {
        auth_request /auth;
        auth_request_set $user $upstream_http_x_user;
        server {
            location /a/ { }
            location /b/ { auth_request /other; auth_request_set $g $upstream_status; auth_request_set $h x; }
            location /off/ { auth_request off; }
            location = /auth { internal; }
        }
    }`)
	locs := cfg.HTTP.Servers[0].Locations
	tests := []struct {
		name string
		set  *Settings
		uri  string
		vars []string
	}{
		{"server inherits", cfg.HTTP.Servers[0].Settings, "/auth", []string{"user=$upstream_http_x_user"}},
		{"location inherits", locs[0].Settings, "/auth", []string{"user=$upstream_http_x_user"}},
		{"own uri and list", locs[1].Settings, "/other", []string{"g=$upstream_status", "h=x"}},
		{"off keeps the list", locs[2].Settings, "", []string{"user=$upstream_http_x_user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.set.AuthRequest != tt.uri {
				t.Errorf("AuthRequest = %q, want %q", tt.set.AuthRequest, tt.uri)
			}
			var got []string
			for _, a := range tt.set.AuthRequestSets {
				got = append(got, a.Name+"="+a.Value)
			}
			if !slices.Equal(got, tt.vars) {
				t.Errorf("AuthRequestSets = %q, want %q", got, tt.vars)
			}
		})
	}
}

// TestMirrorInheritance checks how mirror and mirror_request_body are
// inherited, as nginx's merge does: the URIs of the nearest level that
// writes mirror, in order ("off" turns them off), and the flag.
func TestMirrorInheritance(t *testing.T) {
	cfg := mustLoad(t, `http {
        mirror /m1;
        mirror /m2;
        server {
            location /a/ { mirror_request_body off; }
            location /b/ { mirror /own; location /b/c/ { mirror off; } }
        }
    }`)
	srv := cfg.HTTP.Servers[0]
	locs := srv.Locations
	tests := []struct {
		name string
		set  *Settings
		uris []string
		body bool
	}{
		{"server inherits", srv.Settings, []string{"/m1", "/m2"}, true},
		{"location inherits, body off", locs[0].Settings, []string{"/m1", "/m2"}, false},
		{"own list replaces", locs[1].Settings, []string{"/own"}, true},
		{"off in nested", locs[1].Locations[0].Settings, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.set.Mirrors, tt.uris) || (tt.set.Mirrors == nil) != (tt.uris == nil) {
				t.Errorf("Mirrors = %q, want %q", tt.set.Mirrors, tt.uris)
			}
			if tt.set.MirrorRequestBody != tt.body {
				t.Errorf("MirrorRequestBody = %v, want %v", tt.set.MirrorRequestBody, tt.body)
			}
		})
	}
}

// TestPostAction checks post_action's values and inheritance: a URI or a
// named location from the nearest level, "off" for none, and an error with
// the file and line for a word nginx would look for as a named location
// after every response (it takes "off" so too; fulcrum turns it off).
func TestPostAction(t *testing.T) {
	cfg := mustLoad(t, `http {
        post_action /done;
        server {
            location /a/ { }
            location /b/ { post_action @acct; location /b/c/ { post_action off; } }
            location @acct { }
        }
        server { post_action off; }
    }`)
	srv := cfg.HTTP.Servers[0]
	locs := srv.Locations
	for _, tt := range []struct {
		name string
		set  *Settings
		want string
	}{
		{"server inherits", srv.Settings, "/done"},
		{"location inherits", locs[0].Settings, "/done"},
		{"named location", locs[1].Settings, "@acct"},
		{"off in nested", locs[1].Locations[0].Settings, ""},
		{"off in a server", cfg.HTTP.Servers[1].Settings, ""},
	} {
		if tt.set.PostAction != tt.want {
			t.Errorf("%s: PostAction = %q, want %q", tt.name, tt.set.PostAction, tt.want)
		}
	}
	for _, bad := range []string{"done", "@"} {
		_, err := loadText(t, "http {\nserver {\npost_action "+bad+";\n}\n}\n")
		want := `invalid "post_action" target "` + bad + `"`
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "nginx.conf:3") {
			t.Errorf("post_action %s: error %v, want %q in nginx.conf:3", bad, err, want)
		}
	}
}

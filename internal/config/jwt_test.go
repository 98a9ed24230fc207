package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestAuthJWTInheritance checks that auth_jwt, auth_jwt_key_file,
// auth_jwt_require and auth_jwt_leeway are inherited each on its own (the
// key files and requires as whole lists), that "auth_jwt off" turns the
// check off, and that limit_except and the http-level variable sets are
// read.
func TestAuthJWTInheritance(t *testing.T) {
	cfg := mustLoad(t, `http {
        auth_jwt_claim_set $email info e-mail;
        auth_jwt_header_set $kid kid;
        auth_jwt_key_file keys.json;
        auth_jwt_leeway 1m;
        server {
            auth_jwt "api" token=$cookie_t;
            auth_jwt_require $a $b;
            location /a/ { }
            location /b/ { auth_jwt "B"; auth_jwt_key_file /k1; auth_jwt_key_file /k2; auth_jwt_require $c error=403; auth_jwt_leeway 5s; }
            location /off/ { auth_jwt off; }
            location /le/ { auth_jwt off; limit_except GET { auth_jwt "w"; } }
            location /kr/ { auth_jwt_key_request /jwks; auth_jwt_key_request /more?x=$host; auth_jwt_key_cache 10m; }
        }
    }`)
	s := cfg.HTTP.Servers[0]
	keys := []JWTKeyFile{{Path: filepath.Join(filepath.Dir(cfg.Files[0].Path), "keys.json")}}
	tests := []struct {
		name         string
		got          *AuthJWT
		realm, token string
		files        []string
		requires     [][]string
		status       int
		leeway       time.Duration
	}{
		{"server", s.Settings.AuthJWT, "api", "$cookie_t", []string{keys[0].Path}, [][]string{{"$a", "$b"}}, 401, time.Minute},
		{"location inherits all", s.Locations[0].Settings.AuthJWT, "api", "$cookie_t", []string{keys[0].Path}, [][]string{{"$a", "$b"}}, 401, time.Minute},
		{"location's own", s.Locations[1].Settings.AuthJWT, "B", "", []string{"/k1", "/k2"}, [][]string{{"$c"}}, 403, 5 * time.Second},
		{"off", s.Locations[2].Settings.AuthJWT, "", "", nil, nil, 0, 0},
		{"limit_except", s.Locations[3].LimitExcept.Settings.AuthJWT, "w", "", []string{keys[0].Path}, [][]string{{"$a", "$b"}}, 401, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.realm == "" {
				if tt.got != nil {
					t.Fatalf("AuthJWT = %+v, want nil", tt.got)
				}
				return
			}
			aj := tt.got
			if aj == nil || aj.Realm != tt.realm || aj.Token != tt.token || aj.Leeway != tt.leeway {
				t.Fatalf("AuthJWT = %+v, want realm %q token %q leeway %v", aj, tt.realm, tt.token, tt.leeway)
			}
			var files []string
			for _, f := range aj.KeyFiles {
				files = append(files, f.Path)
			}
			var reqs [][]string
			for _, r := range aj.Requires {
				reqs = append(reqs, r.Values)
				if r.Status != tt.status {
					t.Errorf("require status %d, want %d", r.Status, tt.status)
				}
			}
			if !reflect.DeepEqual(files, tt.files) || !reflect.DeepEqual(reqs, tt.requires) {
				t.Errorf("files %q requires %q, want %q %q", files, reqs, tt.files, tt.requires)
			}
		})
	}
	kr := s.Locations[4].Settings.AuthJWT
	if kr == nil || len(kr.KeyRequests) != 2 || kr.KeyRequests[0].URI != "/jwks" || kr.KeyRequests[1].URI != "/more?x=$host" ||
		kr.KeyCache != 10*time.Minute || len(kr.KeyFiles) != 1 {
		t.Errorf("key requests: %+v, want /jwks and /more?x=$host, 10m, and the inherited key file", kr)
	}
	if s.Settings.AuthJWT.KeyRequests != nil || s.Settings.AuthJWT.KeyCache != 0 {
		t.Errorf("server: %+v, want no key request and no cache", s.Settings.AuthJWT)
	}
	want := []JWTVarSet{{Name: "email", Path: []string{"info", "e-mail"}}, {Name: "kid", Path: []string{"kid"}, Header: true}}
	for i := range cfg.HTTP.JWTVarSets {
		cfg.HTTP.JWTVarSets[i].Pos = Pos{}
	}
	if !reflect.DeepEqual(cfg.HTTP.JWTVarSets, want) {
		t.Errorf("JWTVarSets = %+v, want %+v", cfg.HTTP.JWTVarSets, want)
	}
}

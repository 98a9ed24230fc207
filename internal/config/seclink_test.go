package config

import (
	"strings"
	"testing"
)

// TestSecureLinkMerge checks which check each level gets, as nginx 1.22.1's
// merge of the secure_link module's configuration gives it: the nearest
// secure_link_secret ends the inheritance of secure_link and
// secure_link_md5, and either of those below it wins over it.
func TestSecureLinkMerge(t *testing.T) {
	cfg := mustLoad(t, `http {
    secure_link_secret top;
    server {
        listen 127.0.0.1:1;
        location /secret { }
        location /md5 { secure_link $arg_h; secure_link_md5 "$uri s"; }
        location /half { secure_link $arg_h; }
        location /own { secure_link_secret mine; }
        location /empty { secure_link_secret ""; }
    }
    server {
        listen 127.0.0.1:2;
        secure_link $arg_h,$arg_e;
        secure_link_md5 "$secure_link_expires$uri s";
        location /inherit { }
        location /secret { secure_link_secret x; location /secret/nested { } }
        location /md5only { secure_link_md5 "other"; }
    }
    server {
        listen 127.0.0.1:3;
        location / { }
    }
}`)
	s := cfg.HTTP.Servers
	str := func(sl *SecureLink) string {
		if sl == nil {
			return "none"
		}
		if sl.Secret != "" {
			return "secret " + sl.Secret
		}
		return "md5 " + sl.Link + " | " + sl.MD5
	}
	tests := []struct {
		name string
		got  *SecureLink
		want string
	}{
		{"server inherits the secret", s[0].Settings.SecureLink, "secret top"},
		{"location inherits the secret", s[0].Locations[0].Settings.SecureLink, "secret top"},
		{"md5 form below a secret", s[0].Locations[1].Settings.SecureLink, "md5 $arg_h | $uri s"},
		{"secure_link alone hides the secret", s[0].Locations[2].Settings.SecureLink, "none"},
		{"own secret", s[0].Locations[3].Settings.SecureLink, "secret mine"},
		{"empty secret", s[0].Locations[4].Settings.SecureLink, "none"},
		{"inherited md5 form", s[1].Locations[0].Settings.SecureLink, "md5 $arg_h,$arg_e | $secure_link_expires$uri s"},
		{"secret below an md5 form", s[1].Locations[1].Settings.SecureLink, "secret x"},
		{"nested inherits the secret", s[1].Locations[1].Locations[0].Settings.SecureLink, "secret x"},
		{"md5 from here, link from the server", s[1].Locations[2].Settings.SecureLink, "md5 $arg_h,$arg_e | other"},
		{"nothing", s[2].Locations[0].Settings.SecureLink, "secret top"},
	}
	for _, tt := range tests {
		if got := str(tt.got); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestLinkDirectiveErrors checks the configurations nginx 1.22.1 refuses,
// in its words (nginx names the end of the block for the merge errors;
// fulcrum names the directive).
func TestLinkDirectiveErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"secret with secure_link in a location", "server { location / { secure_link $a; secure_link_secret x; } }",
			`"secure_link_secret" cannot be mixed with "secure_link" and "secure_link_md5" in nginx.conf:1`},
		{"secret with md5 in a server", "server { secure_link_secret x; secure_link_md5 $uri; }",
			`"secure_link_secret" cannot be mixed with "secure_link" and "secure_link_md5" in nginx.conf:1`},
		{"secure_link twice", "server { secure_link $a; secure_link $b; }", `"secure_link" directive is duplicate in nginx.conf:1`},
		{"secret arity", "server { secure_link_secret a b; }", `invalid number of arguments in "secure_link_secret" directive in nginx.conf:1`},
		{"secure_link in if", "server { location / { if ($a) { secure_link $a; } } }", `"secure_link" directive is not allowed here in nginx.conf:1`},
		{"valid_referers in http", "valid_referers a.com; server { }", `"valid_referers" directive is not allowed here in nginx.conf:1`},
		{"valid_referers in if", "server { location / { if ($a) { valid_referers a.com; } } }", `"valid_referers" directive is not allowed here in nginx.conf:1`},
		{"none alone", "server { valid_referers none; }",
			`the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer in nginx.conf:1`},
		{"blocked and a regex", "server { valid_referers blocked ~foo; }",
			`the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer in nginx.conf:1`},
		{"server_names without server_name", "server { valid_referers none server_names; }",
			`the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer in nginx.conf:1`},
		{"server_names of regexes only", "server { server_name ~x; valid_referers none server_names; }",
			`the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer in nginx.conf:1`},
		{"empty", `server { valid_referers ""; }`, `invalid referer "" in nginx.conf:1`},
		{"empty regex", `server { valid_referers "~"; }`, `empty regex in "~" in nginx.conf:1`},
		{"bad regex", `server { valid_referers "~(("; }`, `pcre2_compile() failed: missing closing parenthesis in "((" in nginx.conf:1`},
		{"twice", "server { valid_referers a.com a.com; }", `conflicting parameter "a.com" in nginx.conf:1`},
		{"twice in other case with a URI", "server { valid_referers a.com A.com/x; }", `conflicting parameter "a.com" in nginx.conf:1`},
		{"dot and star", "server { valid_referers *.a.com .a.com; }", `conflicting parameter ".a.com" in nginx.conf:1`},
		{"across directives", "server { valid_referers b.com; valid_referers B.com; }", `conflicting parameter "b.com" in nginx.conf:1`},
		{"star inside", "server { valid_referers www.*.com; }", `invalid hostname or wildcard "www.*.com" in nginx.conf:1`},
		{"star without dot", "server { valid_referers *a.com; }", `invalid hostname or wildcard "*a.com" in nginx.conf:1`},
		{"star alone", "server { valid_referers *; }", `invalid hostname or wildcard "*" in nginx.conf:1`},
		{"star dot", "server { valid_referers *.; }", `invalid hostname or wildcard "*." in nginx.conf:1`},
		{"double dot", "server { valid_referers a..com; }", `invalid hostname or wildcard "a..com" in nginx.conf:1`},
		{"hash size in http", "referer_hash_max_size 10; server { }", `"referer_hash_max_size" directive is not allowed here in nginx.conf:1`},
		{"hash size not a number", "server { referer_hash_max_size 1k; }", `"referer_hash_max_size" directive invalid number in nginx.conf:1`},
		{"bucket size twice", "server { referer_hash_bucket_size 32; referer_hash_bucket_size 64; }", `"referer_hash_bucket_size" directive is duplicate in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { "+tt.src+" }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestValidReferersBuild checks what valid_referers builds: the nearest
// level's directives, all of them, and server_names from the server
// wherever its server_name is written.
func TestValidReferersBuild(t *testing.T) {
	cfg := mustLoad(t, `http {
    server {
        listen 127.0.0.1:1;
        valid_referers none server_names;
        valid_referers .ex.com www.ex.* ex.org/p ~\.re\.com;
        location /inherit { }
        location /own { valid_referers blocked a.com; }
        server_name s.com *.w.com ~^re\d$;
    }
}`)
	srv := cfg.HTTP.Servers[0]
	vr := srv.Settings.ValidReferers
	if vr == nil || !vr.None || vr.Blocked {
		t.Fatalf("server: %+v", vr)
	}
	var names []string
	for _, n := range vr.Names {
		names = append(names, n.Kind.String()+":"+n.Host+n.URI)
	}
	want := "exact:s.com lead_wildcard:*.w.com exact:ex.com lead_wildcard:*.ex.com trail_wildcard:www.ex.* exact:ex.org/p"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("names %s, want %s", got, want)
	}
	if len(vr.Regexes) != 1 || len(vr.ServerRegexes) != 1 || !vr.ServerRegexes[0].MatchString("RE5") {
		t.Errorf("regexes %v, server regexes %v", vr.Regexes, vr.ServerRegexes)
	}
	if got := srv.Locations[0].Settings.ValidReferers; got == nil || len(got.Names) != len(vr.Names) {
		t.Errorf("inherited: %+v", got)
	}
	if own := srv.Locations[1].Settings.ValidReferers; own == nil || own.None || !own.Blocked || len(own.Names) != 1 {
		t.Errorf("own level: %+v", own)
	}
	if cfg := mustLoad(t, `http { server { listen 127.0.0.1:1; referer_hash_max_size 1; referer_hash_bucket_size 1; valid_referers a.com; } }`); cfg.HTTP.Servers[0].Settings.ValidReferers == nil {
		t.Error("hash sizes: no valid_referers")
	}
}

// TestLinkSettingsDump checks that the golden dump prints the new settings.
func TestLinkSettingsDump(t *testing.T) {
	cfg := mustLoad(t, `http { server { listen 127.0.0.1:1; server_name a.org ~^b; valid_referers none server_names x.org/p ~c; secure_link $arg_h; secure_link_md5 "$uri s"; } }`)
	out := Dump(cfg)
	for _, want := range []string{"ValidReferers: {None=true", `Host="x.org"`, `URI="/p"`, `Link="$arg_h"`} {
		if !strings.Contains(out, want) {
			t.Errorf("dump has no %s:\n%s", want, out)
		}
	}
}

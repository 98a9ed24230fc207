package config

import (
	"strings"
	"testing"
)

// TestUseridMerge checks that each userid directive is inherited on its own,
// as nginx merges the module's location configuration, and the values'
// forms: "none" for domain and P3P, the attribute prefixes, max and off.
func TestUseridMerge(t *testing.T) {
	cfg := mustLoad(t, `http {
    userid on; userid_name visitor; userid_domain .example.com; userid_expires 1d;
    userid_flags secure SameSite=Lax; userid_p3p 'CP="CUR"'; userid_mark X;
    server {
        listen 127.0.0.1:1;
        userid_service 258;
        location /inherit { }
        location /own { userid v1; userid_domain none; userid_path /shop/; userid_expires max;
            userid_p3p none; userid_mark off; userid_flags off; }
        location /log { userid log; userid_expires off; userid_flags httponly samesite=strict samesite=none; }
    }
    server { listen 127.0.0.1:2; location / { userid off; } }
}`)
	s := cfg.HTTP.Servers
	tests := []struct {
		name string
		got  Userid
		want Userid
	}{
		{"server", s[0].Settings.Userid, Userid{Mode: UseridOn, Service: 258, ServiceSet: true, Name: "visitor", Domain: "; domain=.example.com",
			Path: "; path=/", Expires: 86400, P3P: `CP="CUR"`, Mark: 'X', Flags: UseridSecure | UseridSameSiteLax}},
		{"inherit", s[0].Locations[0].Settings.Userid, Userid{Mode: UseridOn, Service: 258, ServiceSet: true, Name: "visitor", Domain: "; domain=.example.com",
			Path: "; path=/", Expires: 86400, P3P: `CP="CUR"`, Mark: 'X', Flags: UseridSecure | UseridSameSiteLax}},
		{"own", s[0].Locations[1].Settings.Userid, Userid{Mode: UseridV1, Service: 258, ServiceSet: true, Name: "visitor",
			Path: "; path=/shop/", Expires: UseridMaxExpires}},
		{"log", s[0].Locations[2].Settings.Userid, Userid{Mode: UseridLog, Service: 258, ServiceSet: true, Name: "visitor", Domain: "; domain=.example.com",
			Path: "; path=/", P3P: `CP="CUR"`, Mark: 'X', Flags: UseridHTTPOnly | UseridSameSiteStrict | UseridSameSiteNone}},
		{"off", s[1].Locations[0].Settings.Userid, Userid{Mode: UseridOff, Name: "visitor", Domain: "; domain=.example.com",
			Path: "; path=/", Expires: 86400, P3P: `CP="CUR"`, Mark: 'X', Flags: UseridSecure | UseridSameSiteLax}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %+v\nwant %+v", tt.got, tt.want)
			}
		})
	}
}

// TestUseridErrors: bad values fail with nginx's words, file and line.
func TestUseridErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"mode", "http { userid yes; }", `invalid value "yes"`},
		{"service", "http { userid_service ten; }", `"userid_service" directive invalid number`},
		{"mark", "http { userid_mark ab; }", `"userid_mark" directive value must be "off" or a single letter, digit or "="`},
		{"expires", "http { userid_expires never; }", `"userid_expires" directive invalid value`},
		{"flags", "http { userid_flags secure strict; }", `invalid value "strict"`},
		{"duplicate", "http { userid on; userid off; }", `"userid" directive is duplicate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), ":1") {
				t.Errorf("error %v, want %q with the line", err, tt.want)
			}
		})
	}
}

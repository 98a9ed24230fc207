package config

import (
	"strings"
	"testing"
)

// TestCharsetErrors checks the load errors of the charset directives, as
// nginx 1.22.1's nginx -t gave them (nginx names no file for the missing
// charset_map; fulcrum adds source_charset's place), and fulcrum's refusal of
// configurations under which nginx would recode a body.
func TestCharsetErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"twice", "http { charset a; charset b; }", `"charset" directive is duplicate in nginx.conf:1`},
		{"no map", "http {\n charset utf-8;\n server { source_charset koi8-r; } }", `no "charset_map" between the charsets "koi8-r" and "utf-8" in nginx.conf:3`},
		{"no map, first spellings", "http { charset UTF-8; server { source_charset KOI8-R; location / { charset utf-8; source_charset koi8-r; } } }", `no "charset_map" between the charsets "KOI8-R" and "UTF-8"`},
		{"map would recode", "http { charset_map koi8-r utf-8 { C0 D18E; }\n charset utf-8; source_charset koi8-r; }",
			`/nginx.conf:1 would recode from "koi8-r" to "utf-8" in `},
		{"map reversed", "http { charset_map utf-8 koi8-r { C0 D18E; } charset koi8-r; source_charset utf-8; }", `fulcrum does not recode responses`},
		{"override with map", "http { charset_map koi8-r utf-8 { C0 D18E; }\n server { charset utf-8;\n override_charset on; } }",
			`"override_charset on" may need recoding in nginx.conf:3`},
		{"variable with map", "http { charset_map koi8-r windows-1251 { C0 C0; } server { charset $arg_c; source_charset koi8-r; } }",
			`"source_charset" may need recoding in nginx.conf:1`},
		{"override flag", "http { override_charset maybe; }", `it must be "on" or "off" in nginx.conf:1`},
		{"arguments", "http { charset_types; }", `invalid number of arguments in "charset_types" directive in nginx.conf:1`},
		{"not in if in server", "http { server { if ($a) { charset utf-8; } } }", `"charset" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCharsetValid checks configurations nginx loads that fulcrum serves
// without recoding: the same charset in source_charset (without case), a
// charset_map that no level would use, override_charset without a map, a
// variable without any map, and "OFF", which is a charset's name.
func TestCharsetValid(t *testing.T) {
	for _, src := range []string{
		"http { charset utf-8; source_charset UTF-8; }",
		"http { charset_map koi8-r windows-1251 { C0 C0; } charset utf-8; override_charset on; }",
		"http { charset_map koi8-r windows-1251 { C0 C0; } server { charset utf-8; source_charset utf-8; } }",
		"http { charset $arg_c; source_charset koi8-r; override_charset on; }",
		"http { source_charset koi8-r; server { location / { charset off; } } }",
		"http { charset OFF; }",
		"http { server { location / { if ($a) { charset utf-8; } } } }",
	} {
		if _, err := loadText(t, src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// TestCharsetSettings checks what each level gets: nginx's default types,
// charset_types with text/html always in it (a duplicate warned) and "*",
// a name in the spelling first written anywhere (nginx's charset index
// keeps the first), "off" and a variable, and the inherited flags.
func TestCharsetSettings(t *testing.T) {
	cfg, err := loadText(t, `http {
    charset UTF-8;
    server {
        location /a { charset utf-8; override_charset on; }
        location /b { charset_types text/CSS text/html; charset_types application/json; }
        location /c { charset_types *; charset off; }
        location /d { charset $arg_cs; source_charset Utf-8; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	a, b, c, d := locs[0].Settings.Charset, locs[1].Settings.Charset, locs[2].Settings.Charset, locs[3].Settings.Charset
	if a.Name != "UTF-8" || a.Variable || !a.Override || strings.Join(a.Types, " ") != strings.Join(defaultCharsetTypes, " ") {
		t.Errorf("/a: %+v", a)
	}
	if b.Name != "UTF-8" || b.Override || strings.Join(b.Types, " ") != "text/html text/css application/json" || b.AnyType {
		t.Errorf("/b: %+v", b)
	}
	if c.Name != "" || !c.AnyType || c.Types != nil {
		t.Errorf("/c: %+v", c)
	}
	if d.Name != "arg_cs" || !d.Variable || d.Source != "UTF-8" || d.SourceVariable {
		t.Errorf("/d: %+v", d)
	}
	if strings.Join(a.Known, " ") != "utf-8" {
		t.Errorf("Known = %q", a.Known)
	}
	got := strings.Join(warningMessages(cfg.Warnings), "\n")
	if !strings.Contains(got, `duplicate MIME type "text/html"`) {
		t.Errorf("warnings %q lack the duplicate text/html", got)
	}
}

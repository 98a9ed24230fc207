package config

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestDAVErrors checks nginx 1.22.1's messages (nginx -t) for bad dav and
// addition directives, each with its file and line.
func TestDAVErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"method", "http { dav_methods get; }", `invalid value "get" in nginx.conf:1`},
		{"access word", "http { dav_access bogus; }", `invalid value "bogus" in nginx.conf:1`},
		{"access right", "http { dav_access user:r group:x; }", `invalid value "group:x" in nginx.conf:1`},
		{"access user x", "http { dav_access user:x; }", `invalid value "user:x" in nginx.conf:1`},
		{"access four", "http { dav_access a b c d; }", `invalid number of arguments in "dav_access" directive in nginx.conf:1`},
		{"access twice", "http { dav_access user:rw; dav_access user:r; }", `"dav_access" directive is duplicate in nginx.conf:1`},
		{"depth word", "http { min_delete_depth x; }", `"min_delete_depth" directive invalid number in nginx.conf:1`},
		{"depth negative", "http {\nmin_delete_depth -1; }", `"min_delete_depth" directive invalid number in nginx.conf:2`},
		{"full path flag", "http { create_full_put_path yes; }", `invalid value "yes" in "create_full_put_path" directive, it must be "on" or "off" in nginx.conf:1`},
		{"before two", "http { add_before_body a b; }", `invalid number of arguments in "add_before_body" directive in nginx.conf:1`},
		{"before twice", "http { server { location / { add_before_body /a; add_before_body /b; } } }", `"add_before_body" directive is duplicate in nginx.conf:1`},
		{"types none", "http { addition_types; }", `invalid number of arguments in "addition_types" directive in nginx.conf:1`},
		{"methods in if", "http { server { location / { if ($x) { dav_methods PUT; } } } }", `"dav_methods" directive is not allowed here in nginx.conf:1`},
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

// TestDAVSettings checks the values, defaults and inheritance of the dav and
// addition settings, with nginx's rules: dav_methods of one level OR-ed
// ("off" adds nothing), dav_access's user rw unless named.
func TestDAVSettings(t *testing.T) {
	tests := []struct {
		name, src   string
		methods     DAVMethods
		access      fs.FileMode
		full        bool
		depth       int
		before      string
		after       string
		types       []string
		anyType     bool
		putAllowed  bool
		moveAllowed bool
	}{
		{name: "defaults", src: "server { location / { } }", access: 0o600},
		{name: "all", src: "server { location / { dav_methods PUT DELETE MKCOL COPY MOVE; } }",
			methods: DAVPut | DAVDelete | DAVMkcol | DAVCopy | DAVMove, access: 0o600, putAllowed: true, moveAllowed: true},
		{name: "case and two lines", src: "server { location / { dav_methods put; dav_methods Move; } }",
			methods: DAVPut | DAVMove, access: 0o600, putAllowed: true, moveAllowed: true},
		{name: "off with a method", src: "server { location / { dav_methods off PUT; } }", methods: DAVPut, access: 0o600, putAllowed: true},
		{name: "inherited", src: "dav_methods PUT; dav_access group:rw all:r; create_full_put_path on; min_delete_depth 3; server { location / { } }",
			methods: DAVPut, access: 0o664, full: true, depth: 3, putAllowed: true},
		{name: "off stops inheritance", src: "dav_methods PUT; server { location / { dav_methods off; } }", access: 0o600},
		{name: "user named", src: "server { location / { dav_access user:r; } }", access: 0o400},
		{name: "access ored", src: "server { location / { dav_access user:r group:rw user:rw; } }", access: 0o660},
		{name: "addition", src: "add_before_body /h; server { location / { add_after_body /f; addition_types text/plain TEXT/CSS; } }",
			access: 0o600, before: "/h", after: "/f", types: []string{"text/plain", "text/css"}},
		{name: "any type", src: "server { addition_types *; location / { } }", access: 0o600, anyType: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { "+tt.src+" }")
			st := cfg.HTTP.Servers[0].Locations[0].Settings
			if st.DAVMethods != tt.methods || st.DAVAccess != tt.access || st.CreateFullPutPath != tt.full || st.MinDeleteDepth != tt.depth {
				t.Errorf("dav %b %v %t %d, want %b %v %t %d", st.DAVMethods, st.DAVAccess, st.CreateFullPutPath, st.MinDeleteDepth,
					tt.methods, tt.access, tt.full, tt.depth)
			}
			if st.DAVMethods.Has("PUT") != tt.putAllowed || st.DAVMethods.Has("MOVE") != tt.moveAllowed || st.DAVMethods.Has("GET") {
				t.Errorf("Has(PUT) %t Has(MOVE) %t", st.DAVMethods.Has("PUT"), st.DAVMethods.Has("MOVE"))
			}
			if st.AddBeforeBody != tt.before || st.AddAfterBody != tt.after || !slices.Equal(st.AdditionTypes, tt.types) || st.AdditionAnyType != tt.anyType {
				t.Errorf("addition %q %q %q %t", st.AddBeforeBody, st.AddAfterBody, st.AdditionTypes, st.AdditionAnyType)
			}
			if len(cfg.Warnings) != 0 {
				t.Errorf("warnings: %v", cfg.Warnings)
			}
		})
	}
}

// TestDAVWarnings checks nginx's warnings for a value written twice.
func TestDAVWarnings(t *testing.T) {
	cfg, err := loadText(t, "http { dav_methods PUT put; addition_types text/html; }")
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, cfg, []string{`duplicate value "put" in nginx.conf:1`, `duplicate MIME type "text/html" in nginx.conf:1`})
}

package charsetfilter

import (
	"testing"

	"fulcrum/internal/config"
)

// TestContentType checks the filter's decisions, as nginx 1.22.1 made them
// for the same settings and heads (see internal/daemon/charset_test.go for
// the requests compared end to end).
func TestContentType(t *testing.T) {
	def := []string{"text/html", "text/plain"}
	on := &config.Charset{Name: "UTF-8", Types: def, Known: []string{"utf-8"}}
	over := &config.Charset{Name: "UTF-8", Types: def, Override: true, Known: []string{"utf-8", "koi8-r"}}
	src := &config.Charset{Name: "UTF-8", Types: def, Source: "utf-8", Known: []string{"utf-8"}}
	star := &config.Charset{Name: "UTF-8", AnyType: true}
	tests := []struct {
		name  string
		c     *config.Charset
		r     Response
		dst   string
		want  string
		noMap string
	}{
		{"added", on, Response{Status: 200, ContentType: "text/html"}, "UTF-8", "text/html; charset=UTF-8", ""},
		{"type without case", on, Response{Status: 200, ContentType: "TEXT/HTML"}, "UTF-8", "TEXT/HTML; charset=UTF-8", ""},
		{"other type", on, Response{Status: 200, ContentType: "text/css"}, "UTF-8", "text/css", ""},
		{"no type", star, Response{Status: 200}, "UTF-8", "", ""},
		{"star", star, Response{Status: 200, ContentType: "image/png"}, "UTF-8", "image/png; charset=UTF-8", ""},
		{"304", on, Response{Status: 304, ContentType: "text/html"}, "UTF-8", "text/html; charset=UTF-8", ""},
		{"301", on, Response{Status: 301, ContentType: "text/html"}, "UTF-8", "text/html", ""},
		{"302", on, Response{Status: 302, ContentType: "text/html"}, "UTF-8", "text/html", ""},
		{"own charset kept", on, Response{Status: 200, ContentType: "text/html; charset=koi8-r"}, "UTF-8", "text/html; charset=koi8-r", ""},
		{"other parameter", on, Response{Status: 200, ContentType: "text/html; q=1"}, "UTF-8", "text/html; q=1", ""},
		{"empty variable", on, Response{Status: 200, ContentType: "text/html"}, "", "text/html", ""},
		{"override same", over, Response{Status: 200, ContentType: `text/html; charset="utf-8"`}, "UTF-8", "text/html; charset=UTF-8", ""},
		{"override 302", over, Response{Status: 302, ContentType: "text/html; charset=utf-8"}, "UTF-8", "text/html", ""},
		{"override other", over, Response{Status: 200, ContentType: "text/html; charset=koi8-r"}, "UTF-8", "text/html; charset=koi8-r", "koi8-r"},
		{"override other encoded", over, Response{Status: 200, ContentType: "text/html; charset=koi8-r", Encoded: true}, "UTF-8", "text/html; charset=koi8-r", ""},
		{"override unknown", over, Response{Status: 200, ContentType: "text/html; charset=latin1", Encoded: true}, "UTF-8", "text/html; charset=latin1", "latin1"},
		{"override empty charset", over, Response{Status: 200, ContentType: "text/html; charset="}, "UTF-8", "text/html; charset=", ""},
		{"source same", src, Response{Status: 200, ContentType: "text/html"}, "UTF-8", "text/html; charset=UTF-8", ""},
		{"source cuts empty charset", src, Response{Status: 200, ContentType: "text/html; charset="}, "UTF-8", "text/html; charset=UTF-8", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res, ok := ContentType(tt.c, tt.r, tt.dst, nil)
			if !ok || got != tt.want || res.NoMapSource != tt.noMap {
				t.Errorf("got %q, %+v, %v; want %q, no map %q", got, res, ok, tt.want, tt.noMap)
			}
		})
	}
}

// TestContentTypeSourceVariable: a source_charset variable is read only
// when nginx reads it, and one not found fails the request.
func TestContentTypeSourceVariable(t *testing.T) {
	c := &config.Charset{Name: "utf-8", Types: []string{"text/html"}, Source: "s", SourceVariable: true}
	notFound := func() (string, bool) { return "", false }
	if _, _, ok := ContentType(c, Response{Status: 200, ContentType: "text/html"}, "utf-8", notFound); ok {
		t.Error("a missing source variable did not fail")
	}
	if _, _, ok := ContentType(c, Response{Status: 200, ContentType: "text/css"}, "utf-8", notFound); !ok {
		t.Error("the source variable was read for a type not in charset_types")
	}
	got, res, _ := ContentType(c, Response{Status: 200, ContentType: "text/html"}, "utf-8", func() (string, bool) { return "koi8-r", true })
	if got != "text/html" || res.NoMapSource != "koi8-r" {
		t.Errorf("got %q, %+v", got, res)
	}
}

// TestContentTypeNoAlloc: a response left as it is costs no allocation.
func TestContentTypeNoAlloc(t *testing.T) {
	c := &config.Charset{Name: "utf-8", Types: []string{"text/html"}}
	r := Response{Status: 200, ContentType: "image/png"}
	if n := testing.AllocsPerRun(100, func() { ContentType(c, r, "utf-8", nil) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// TestContentTypeAccelCharset checks an upstream's X-Accel-Charset
// (Response.Override) as nginx 1.22.1 answered it (recorded: a proxy_pass to
// a backend sending the field, in locations with charset unset, utf-8,
// koi8-r, off, and source_charset koi8-r, the configuration knowing utf-8
// and koi8-r).
func TestContentTypeAccelCharset(t *testing.T) {
	def := []string{"text/html", "text/plain"}
	known := []string{"utf-8", "koi8-r"}
	none := &config.Charset{Types: def, Known: known}
	utf := &config.Charset{Name: "utf-8", Types: def, Known: known}
	src := &config.Charset{Types: def, Source: "koi8-r", Known: known}
	tests := []struct {
		name    string
		c       *config.Charset
		r       Response
		want    string
		unknown bool
	}{
		{"without charset", none, Response{Status: 200, ContentType: "text/plain", Override: "utf-8"}, "text/plain; charset=utf-8", false},
		{"spelled as sent", none, Response{Status: 200, ContentType: "text/plain", Override: "UTF-8"}, "text/plain; charset=UTF-8", false},
		{"any type", none, Response{Status: 200, ContentType: "image/png", Override: "utf-8"}, "image/png; charset=utf-8", false},
		{"an error status", none, Response{Status: 404, ContentType: "text/plain", Override: "utf-8"}, "text/plain; charset=utf-8", false},
		{"replaces the location's", utf, Response{Status: 200, ContentType: "text/plain", Override: "koi8-r"}, "text/plain; charset=koi8-r", false},
		{"unknown drops the location's", utf, Response{Status: 200, ContentType: "text/plain", Override: "windows-1251"}, "text/plain", true},
		{"off is unknown", utf, Response{Status: 200, ContentType: "text/plain", Override: "off"}, "text/plain", true},
		{"own charset unknown", none, Response{Status: 200, ContentType: "text/html; charset=ISO-8859-1", Override: "utf-8"}, "text/html; charset=ISO-8859-1", false},
		{"no type", none, Response{Status: 200, Override: "utf-8"}, "", false},
		{"source the same", src, Response{Status: 200, ContentType: "text/plain", Override: "koi8-r"}, "text/plain; charset=koi8-r", false},
		{"source without a map", src, Response{Status: 200, ContentType: "text/plain", Override: "utf-8"}, "text/plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res, ok := ContentType(tt.c, tt.r, tt.c.Name, nil)
			if !ok || got != tt.want || res.UnknownOverride != tt.unknown {
				t.Errorf("got %q, %+v, %v; want %q, unknown %v", got, res, ok, tt.want, tt.unknown)
			}
		})
	}
}

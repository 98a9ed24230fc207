package dashboard

import (
	"embed"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// files are the page's template, script and style sheet.
//
//go:embed index.html app.js app.css
var files embed.FS

// ContentSecurityPolicy is sent with every answer: the page may load its
// script and style sheet from its own origin and talk to the API there,
// and nothing else (no inline script or style, no frames, no forms).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// DefaultAPI is the API path the page polls when the directive names none.
const DefaultAPI = "/api"

// The files a dashboard location serves, by their name after the
// location's prefix.
const (
	pageName   = "index.html"
	scriptName = "app.js"
	styleName  = "app.css"
)

// Page serves one dashboard location. It is immutable and safe for
// concurrent use.
type Page struct {
	// prefix is the location's path, "" for a regex location.
	prefix string
	// parts are the page around each place of the asset directory; the
	// API path is already in them.
	parts  []string
	script []byte
	style  []byte
}

// New returns the page of a location whose path is prefix ("" for a regex
// location) and that polls the API at api, a path on the same server
// ("" means DefaultAPI).
func New(prefix, api string) *Page {
	if api == "" {
		api = DefaultAPI
	}
	tmpl := mustRead(pageName)
	tmpl = strings.ReplaceAll(tmpl, "{{API}}", html.EscapeString(api))
	return &Page{prefix: prefix, parts: strings.Split(tmpl, "{{BASE}}"),
		script: []byte(mustRead(scriptName)), style: []byte(mustRead(styleName))}
}

// mustRead reads an embedded file; they are there by construction.
func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("dashboard: embedded " + name + ": " + err.Error())
	}
	return string(b)
}

// Serve answers a request for path (the request's normalised path): the
// page at the location's own path, its path with a slash, or index.html
// there; the script at app.js and the style sheet at app.css below it. It
// returns 0 when it answered, or the status the caller should answer with
// instead: 404 for any other path, 405 for a method but GET and HEAD.
func (p *Page) Serve(w http.ResponseWriter, r *http.Request, path string) int {
	name, dir, ok := p.lookup(path)
	if !ok {
		return http.StatusNotFound
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return http.StatusMethodNotAllowed
	}
	switch name {
	case scriptName:
		write(w, r, "text/javascript; charset=utf-8", p.script)
	case styleName:
		write(w, r, "text/css; charset=utf-8", p.style)
	default:
		write(w, r, "text/html; charset=utf-8", []byte(strings.Join(p.parts, html.EscapeString(dir))))
	}
	return 0
}

// lookup names the file path asks for and, for the page, the directory its
// script and style sheet are in. A regex location's requests are matched
// by their last segment.
func (p *Page) lookup(path string) (name, dir string, ok bool) {
	rest, found := strings.CutPrefix(path, p.prefix)
	if p.prefix == "" || !found {
		rest = path[strings.LastIndexByte(path, '/')+1:]
	}
	rest = strings.TrimPrefix(rest, "/")
	switch rest {
	case "", pageName:
		dir = strings.TrimSuffix(path, rest)
		if !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		return pageName, dir, true
	case scriptName, styleName:
		return rest, "", true
	}
	return "", "", false
}

// write sends body with its type, length and the page's security headers;
// HEAD gets the head only.
func write(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

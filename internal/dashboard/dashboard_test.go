package dashboard

import (
	"io/fs"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServe checks which paths answer with which file, with its type and
// the security headers, and what the page names as its script, style sheet
// and API.
func TestServe(t *testing.T) {
	tests := []struct {
		name, prefix, api, method, path string
		code                            int    // 0: served
		ctype                           string // when served
		contains                        []string
	}{
		{name: "page at the prefix", prefix: "/dashboard", path: "/dashboard", ctype: "text/html; charset=utf-8",
			contains: []string{`src="/dashboard/app.js"`, `href="/dashboard/app.css"`, `data-api="/api"`}},
		{name: "page with a slash", prefix: "/dashboard", path: "/dashboard/", ctype: "text/html; charset=utf-8",
			contains: []string{`src="/dashboard/app.js"`}},
		{name: "index.html", prefix: "/dash/", path: "/dash/index.html", ctype: "text/html; charset=utf-8",
			contains: []string{`src="/dash/app.js"`}},
		{name: "api parameter", prefix: "/d/", api: "/admin/api", path: "/d/", ctype: "text/html; charset=utf-8",
			contains: []string{`data-api="/admin/api"`}},
		{name: "api escaped", prefix: "/d/", api: "/a&b", path: "/d/", ctype: "text/html; charset=utf-8",
			contains: []string{`data-api="/a&amp;b"`}},
		{name: "script", prefix: "/dashboard", path: "/dashboard/app.js", ctype: "text/javascript; charset=utf-8",
			contains: []string{"'use strict';"}},
		{name: "style sheet", prefix: "/dashboard/", path: "/dashboard/app.css", ctype: "text/css; charset=utf-8",
			contains: []string{".state-up"}},
		{name: "head", prefix: "/dashboard", method: "HEAD", path: "/dashboard/app.js", ctype: "text/javascript; charset=utf-8"},
		{name: "regex location page", path: "/ops/", ctype: "text/html; charset=utf-8", contains: []string{`src="/ops/app.js"`}},
		{name: "regex location script", path: "/ops/app.js", ctype: "text/javascript; charset=utf-8"},
		{name: "regex location other", path: "/ops/x", code: 404},
		{name: "other file", prefix: "/dashboard", path: "/dashboard/x.js", code: 404},
		{name: "file below", prefix: "/dashboard", path: "/dashboard/a/app.js", code: 404},
		{name: "longer name", prefix: "/dashboard", path: "/dashboardx", code: 404},
		{name: "post", prefix: "/dashboard", method: "POST", path: "/dashboard/", code: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			w := httptest.NewRecorder()
			code := New(tt.prefix, tt.api).Serve(w, httptest.NewRequest(method, tt.path, nil), tt.path)
			if code != tt.code {
				t.Fatalf("Serve returned %d, want %d", code, tt.code)
			}
			if code != 0 {
				if w.Body.Len() != 0 {
					t.Errorf("a body with status %d: %q", code, w.Body)
				}
				return
			}
			h := w.Result().Header
			if h.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", h.Get("Content-Type"), tt.ctype)
			}
			if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers %q", h)
			}
			if method == "HEAD" && (w.Body.Len() != 0 || h.Get("Content-Length") == "0") {
				t.Errorf("HEAD: body %d bytes, Content-Length %s", w.Body.Len(), h.Get("Content-Length"))
			}
			for _, want := range tt.contains {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("the answer lacks %q", want)
				}
			}
		})
	}
}

// external matches what would make the page load or contact something
// outside its own origin: absolute and protocol-relative URLs, CSS
// imports, and any src, href or url() that is not a same-origin path.
var external = regexp.MustCompile(`(?i)https?:|["'(=]\s*//|@import|url\(|\b(src|href)\s*=\s*["']?[^"'/{]`)

// TestNoExternalReferences scans the embedded files, and the page as
// served, for references to other origins.
func TestNoExternalReferences(t *testing.T) {
	texts := map[string]string{}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		texts[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	New("/dashboard", "").Serve(w, httptest.NewRequest("GET", "/dashboard/", nil), "/dashboard/")
	texts["served page"] = w.Body.String()
	if len(texts) != 4 {
		t.Fatalf("scanned %d texts, want the 3 embedded files and the page", len(texts))
	}
	for name, text := range texts {
		for i, line := range strings.Split(text, "\n") {
			if m := external.FindString(line); m != "" {
				t.Errorf("%s:%d refers outside the page's origin (%q): %s", name, i+1, m, line)
			}
		}
	}
	// The pattern itself must catch what it is for.
	for _, bad := range []string{`<script src="https://cdn.example/x.js">`, `fetch('//evil.example/')`, `<link href="x.css">`, `@import "a.css";`} {
		if !external.MatchString(bad) {
			t.Errorf("the scan misses %q", bad)
		}
	}
}

// TestNoInlineCode checks that the page complies with its own policy: no
// inline script or style, no event handler attributes.
func TestNoInlineCode(t *testing.T) {
	page, _ := files.ReadFile(pageName)
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]|<script>|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	if m := inline.FindString(string(page)); m != "" {
		t.Errorf("the page has inline code, which its policy forbids: %q", m)
	}
	script, _ := files.ReadFile(scriptName)
	for _, banned := range []string{"eval(", "new Function", "innerHTML", "setAttribute('style'", "document.write"} {
		if strings.Contains(string(script), banned) {
			t.Errorf("the script uses %s", banned)
		}
	}
}

// TestScriptSyntax runs node --check on the script when node is installed.
func TestScriptSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	out, err := exec.Command(node, "--check", filepath.Join(".", scriptName)).CombinedOutput()
	if err != nil {
		t.Errorf("node --check %s: %v\n%s", scriptName, err, out)
	}
}

// TestPageIDs checks that every element the script looks up by id is in
// the page, so a renamed id fails here rather than in a browser.
func TestPageIDs(t *testing.T) {
	page, _ := files.ReadFile(pageName)
	script, _ := files.ReadFile(scriptName)
	ids := regexp.MustCompile(`\$\('([a-z-]+)'\)`).FindAllStringSubmatch(string(script), -1)
	if len(ids) < 10 {
		t.Fatalf("found %d ids in the script; the pattern is stale", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(string(page), `id="`+m[1]+`"`) {
			t.Errorf("the script reads #%s, which the page lacks", m[1])
		}
	}
}

package static

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"fulcrum/internal/config"
)

// site is one location's static configuration in the tests; base is the tree
// name of its document root (Result.Base).
type site struct {
	settings config.Settings
	loc      Location
	types    map[string]string
	base     string
}

// testSites mirrors the nginx configuration the expectations were checked with:
// Debian's default site plus a location per feature.
func testSites(tr testTree) map[string]site {
	www, alias := tr.path("www"), tr.path("alias")
	root := func(s config.Settings) config.Settings {
		s.Root = www
		if s.Index == nil {
			s.Index = []string{"index.html", "index.htm"}
		}
		if s.DefaultType == "" {
			s.DefaultType = "application/octet-stream"
		}
		return s
	}
	aliased := func(a string, tf ...string) config.Settings {
		s := root(config.Settings{TryFiles: tf})
		s.Alias = a
		return s
	}
	vhost := root(config.Settings{})
	vhost.Root = tr.dir + "/$host"
	return map[string]site{
		// location / { try_files $uri $uri/ =404; } in Debian's default site.
		"debian": {settings: root(config.Settings{TryFiles: []string{"$uri", "$uri/", "=404"}}),
			loc: Location{Path: "/"}, types: debianTypes, base: "www"},
		"plain":   {settings: root(config.Settings{}), loc: Location{Path: "/plain/"}, types: debianTypes, base: "www"},
		"al":      {settings: aliased(alias + "/"), loc: Location{Path: "/al/"}, types: debianTypes, base: "alias"},
		"al2":     {settings: aliased(alias), loc: Location{Path: "/al2"}, types: debianTypes, base: "alias"},
		"al7":     {settings: aliased(alias), loc: Location{Path: "/al7/"}, types: debianTypes, base: "alias"},
		"al3":     {settings: aliased(alias+"/", "$uri", "$uri/", "=404"), loc: Location{Path: "/al3/"}, types: debianTypes, base: "alias"},
		"al4":     {settings: aliased(alias+"/", "$uri", "$uri/", "/echo$uri"), loc: Location{Path: "/al4/"}, types: debianTypes, base: "alias"},
		"al5":     {settings: aliased(alias+"/", "$uri", "$uri.fb"), loc: Location{Path: "/al5/"}, types: debianTypes, base: "alias"},
		"al6":     {settings: aliased(alias+"/", "/f.txt", "=404"), loc: Location{Path: "/al6/"}, types: debianTypes, base: "alias"},
		"exact":   {settings: aliased(alias + "/f.txt"), loc: Location{Path: "/file"}, types: debianTypes, base: "alias/f.txt"},
		"tf":      {settings: root(config.Settings{TryFiles: []string{"$uri", "@fb"}}), loc: Location{Path: "/tf/"}, types: debianTypes, base: "www"},
		"tfuri":   {settings: root(config.Settings{TryFiles: []string{"$uri", "/plain/a.txt"}}), loc: Location{Path: "/tfuri/"}, types: debianTypes, base: "www"},
		"tfargs":  {settings: root(config.Settings{TryFiles: []string{"$uri", "/echo?x=1&$args"}}), loc: Location{Path: "/tfargs/"}, types: debianTypes, base: "www"},
		"tfnoarg": {settings: root(config.Settings{TryFiles: []string{"$uri", "/echo"}}), loc: Location{Path: "/tfnoargs/"}, types: debianTypes, base: "www"},
		"tfcode":  {settings: root(config.Settings{TryFiles: []string{"$uri", "$uri/index.html", "=418"}}), loc: Location{Path: "/"}, types: debianTypes, base: "www"},
		"tfdir":   {settings: root(config.Settings{TryFiles: []string{"/nonexist", "/dir/", "=404"}}), loc: Location{Path: "/tfdir/"}, types: debianTypes, base: "www"},
		// location ~ ^/rx/(.*)$ { alias <alias>/$1; }
		"rx":   {settings: aliased(alias + "/$1"), loc: Location{Path: "^/rx/(.*)$", Regex: true}, types: debianTypes, base: "alias"},
		"rxtf": {settings: aliased(alias+"/$1", "$uri", "=404"), loc: Location{Path: "^/rxtf/(.*)$", Regex: true}, types: debianTypes, base: "alias"},
		"idx2": {settings: root(config.Settings{Index: []string{"none.html", "/echo"}}), loc: Location{Path: "/"}, types: debianTypes, base: "www"},
		"dt":   {settings: root(config.Settings{DefaultType: "text/x-dflt"}), loc: Location{Path: "/dt/"}, types: map[string]string{"css": "text/css"}, base: "www"},
		// No types block, no default_type, no index: nginx's built-in defaults.
		"defaults": {settings: config.Settings{Root: www}, loc: Location{Path: "/"}, base: "www"},
		// root <tree>/$host;
		"vhost": {settings: vhost, loc: Location{Path: "/"}, types: debianTypes, base: "www"},
		// The document root is a link to www.
		"linkroot": {settings: config.Settings{Root: tr.path("html")}, loc: Location{Path: "/"}, types: debianTypes, base: "html"},
	}
}

// want is what a Resolve case expects; zero fields other than kind and status
// are checked to be zero too, except file-related ones when file is empty.
type want struct {
	kind     Kind
	status   int
	uri      string
	file     string // tree name of Result.Path
	base     string // tree name of Result.Base when not the site's
	location string
	args     string
	name     string
	ctype    string
	errIs    error // Result.Err must wrap it
	logged   bool  // Result.Err must be set (nginx logs this answer)
}

type resolveCase struct {
	name   string
	site   string
	method string
	uri    string
	args   string
	vars   map[string]string
	want   want
}

func file(uri, name, ctype string) want {
	return want{kind: KindFile, status: 200, uri: uri, file: name, ctype: ctype}
}

// redirect is a 301 to location; uri is $uri, the directory without its slash.
func redirect(uri, location string) want {
	return want{kind: KindRedirect, status: 301, uri: uri, location: location}
}

// status is an answer with code and $uri as requested (see TestResolve).
func status(code int) want { return want{kind: KindStatus, status: code} }

// statusAt is an answer with code after try_files or index changed $uri to uri.
func statusAt(code int, uri string) want { return want{kind: KindStatus, status: code, uri: uri} }

func logged(code int) want { return want{kind: KindStatus, status: code, logged: true} }

func refused() want {
	return want{kind: KindStatus, status: 403, logged: true, errIs: ErrOutsideRoot}
}

// beside is nginx's 404 for a concatenated path beside the document root,
// which fulcrum never opens (nginx serves it when it exists).
func beside() want {
	return want{kind: KindStatus, status: 404, logged: true, errIs: errBesideRoot}
}

func internal(uri, args string) want {
	return want{kind: KindInternalRedirect, uri: uri, args: args}
}

// Every case marked "nginx" was checked against nginx 1.22.1 with the same tree
// and configuration; "deviation" marks where fulcrum is stricter on purpose.
var resolveCases = []resolveCase{
	// Debian's default site: try_files $uri $uri/ =404 with index.
	{name: "nginx: root index", site: "debian", uri: "/", want: file("/index.html", "www/index.html", "text/html")},
	{name: "nginx: file", site: "debian", uri: "/index.html", want: file("/index.html", "www/index.html", "text/html")},
	{name: "nginx: txt", site: "debian", uri: "/a.txt", want: file("/a.txt", "www/a.txt", "text/plain")},
	{name: "nginx: upper-case extension", site: "debian", uri: "/x.HTML", want: file("/x.HTML", "www/x.HTML", "text/html")},
	{name: "nginx: no extension is default_type", site: "debian", uri: "/noext", want: file("/noext", "www/noext", "application/octet-stream")},
	{name: "nginx: dot file has no extension", site: "debian", uri: "/.hidden", want: file("/.hidden", "www/.hidden", "application/octet-stream")},
	{name: "nginx: directory without slash", site: "debian", uri: "/dir", want: redirect("/dir", "/dir/")},
	{name: "nginx: directory redirect keeps args", site: "debian", uri: "/dir", args: "q=1", want: redirect("/dir", "/dir/?q=1")},
	{name: "nginx: directory index", site: "debian", uri: "/dir/", want: file("/dir/index.html", "www/dir/index.html", "text/html")},
	{name: "nginx: directory without index", site: "debian", uri: "/empty/", want: logged(403)},
	{name: "nginx: second index file", site: "debian", uri: "/sub/", want: file("/sub/index.htm", "www/sub/index.htm", "text/html")},
	// nginx's internal redirect to the directory, whose location answers
	// (the static module's 301 to /idxdir/index.html/ here).
	{name: "nginx: index that is a directory", site: "debian", uri: "/idxdir/", want: internal("/idxdir/index.html", "")},
	{name: "nginx: redirect escapes the space", site: "debian", uri: "/a b", want: redirect("/a b", "/a%20b/")},
	{name: "nginx: missing", site: "debian", uri: "/missing", want: status(404)},
	{name: "nginx: missing directory", site: "debian", uri: "/missing/", want: status(404)},
	{name: "nginx: file with a slash", site: "debian", uri: "/a.txt/", want: status(404)},
	{name: "nginx: link inside", site: "debian", uri: "/link-in.txt", want: file("/link-in.txt", "www/a.txt", "text/plain")},
	{name: "directory link inside", site: "debian", uri: "/linkdir-in/", want: file("/linkdir-in/index.html", "www/dir/index.html", "text/html")},
	{name: "directory link inside without slash", site: "debian", uri: "/linkdir-in", want: redirect("/linkdir-in", "/linkdir-in/")},
	{name: "absolute link inside", site: "debian", uri: "/link-abs.txt", want: file("/link-abs.txt", "www/a.txt", "text/plain")},
	{name: "deviation: try_files skips a link leading out", site: "debian", uri: "/link-out", want: status(404)},
	{name: "deviation: try_files skips a directory link leading out", site: "debian", uri: "/linkdir-out/", want: status(404)},
	{name: "deviation: try_files skips a file under a link leading out", site: "debian", uri: "/linkdir-out/f.txt", want: status(404)},
	{name: "nginx: fifo", site: "debian", uri: "/fifo", want: logged(404)},
	{name: "nginx: HEAD", site: "debian", method: "HEAD", uri: "/a.txt", want: file("/a.txt", "www/a.txt", "text/plain")},
	{name: "nginx: POST file", site: "debian", method: "POST", uri: "/a.txt", want: status(405)},
	{name: "nginx: POST index is 405 at the index file", site: "debian", method: "POST", uri: "/dir/", want: statusAt(405, "/dir/index.html")},
	{name: "nginx: PUT file", site: "debian", method: "PUT", uri: "/a.txt", want: status(405)},
	{name: "nginx: PUT missing is try_files 404", site: "debian", method: "PUT", uri: "/missing", want: status(404)},
	{name: "nginx: DELETE directory", site: "debian", method: "DELETE", uri: "/dir/", want: status(405)},
	{name: "nginx: OPTIONS directory", site: "debian", method: "OPTIONS", uri: "/dir", want: status(405)},

	// No try_files: the static and index modules alone.
	{name: "nginx: plain file", site: "plain", uri: "/plain/a.txt", want: file("/plain/a.txt", "www/plain/a.txt", "text/plain")},
	{name: "nginx: plain directory", site: "plain", uri: "/plain/pd", want: redirect("/plain/pd", "/plain/pd/")},
	{name: "nginx: plain directory without index", site: "plain", uri: "/plain/pd/", want: logged(403)},
	{name: "nginx: plain missing", site: "plain", uri: "/plain/missing", want: logged(404)},
	{name: "nginx: plain missing directory", site: "plain", uri: "/plain/missing/", want: logged(404)},
	{name: "nginx: plain file with a slash", site: "plain", uri: "/plain/a.txt/", want: logged(404)},
	{name: "nginx: plain location directory", site: "plain", uri: "/plain/", want: logged(403)},
	{name: "nginx: POST missing", site: "plain", method: "POST", uri: "/plain/missing", want: logged(404)},
	{name: "nginx: POST directory", site: "plain", method: "POST", uri: "/plain/pd", want: redirect("/plain/pd", "/plain/pd/")},
	{name: "nginx: POST no index", site: "plain", method: "POST", uri: "/plain/pd/", want: logged(403)},
	{name: "nginx: PUT missing", site: "plain", method: "PUT", uri: "/plain/missing", want: status(405)},
	{name: "nginx: PUT directory", site: "plain", method: "PUT", uri: "/plain/pd/", want: status(405)},
	{name: "nginx: plain fifo", site: "plain", uri: "/fifo", want: logged(404)},
	{name: "deviation: link leading out", site: "plain", uri: "/link-out", want: refused()},
	{name: "deviation: absolute link leading out", site: "plain", uri: "/link-out-abs", want: refused()},
	{name: "deviation: index under a link leading out", site: "plain", uri: "/linkdir-out/", want: refused()},
	{name: "deviation: file under a link leading out", site: "plain", uri: "/linkdir-out/f.txt", want: refused()},
	{name: "link loop", site: "plain", uri: "/loop1", want: logged(403)},
	{name: "dangling link", site: "plain", uri: "/dangling", want: logged(404)},

	// alias in prefix locations.
	{name: "nginx: alias file", site: "al", uri: "/al/f.txt", want: file("/al/f.txt", "alias/f.txt", "text/plain")},
	{name: "nginx: alias without index", site: "al", uri: "/al/", want: logged(403)},
	{name: "nginx: alias directory", site: "al", uri: "/al/ad", want: redirect("/al/ad", "/al/ad/")},
	{name: "nginx: alias index", site: "al", uri: "/al/ad/", want: file("/al/ad/index.html", "alias/ad/index.html", "text/html")},
	{name: "nginx: alias empty directory", site: "al", uri: "/al/emptyd/", want: logged(403)},
	{name: "nginx: alias missing", site: "al", uri: "/al/missing", want: logged(404)},
	{name: "nginx: alias without slashes", site: "al2", uri: "/al2/f.txt", want: file("/al2/f.txt", "alias/f.txt", "text/plain")},
	{name: "nginx: alias without slashes, directory", site: "al2", uri: "/al2", want: redirect("/al2", "/al2/")},
	{name: "nginx: alias without slashes, index", site: "al2", uri: "/al2/", want: logged(403)},
	{name: "nginx: alias without slashes, subdirectory", site: "al2", uri: "/al2/ad", want: redirect("/al2/ad", "/al2/ad/")},
	{name: "deviation: alias sibling by concatenation", site: "al2", uri: "/al2foo", want: beside()},
	{name: "nginx: alias dot-dot by concatenation", site: "al2", uri: "/al2../secret.txt", want: beside()},
	// location /al7/ { alias <alias>; }: nginx maps /al7/f.txt to <alias>f.txt.
	{name: "nginx: alias without slash in a slashed location, directory", site: "al7", uri: "/al7/", want: logged(403)},
	{name: "nginx: alias without slash in a slashed location, file", site: "al7", uri: "/al7/f.txt", want: beside()},
	{name: "nginx: alias without slash in a slashed location, index", site: "al7", uri: "/al7/ad/", want: beside()},
	{name: "deviation: alias without slash in a slashed location, sibling", site: "al7", uri: "/al7/foo", want: beside()},
	{name: "exact location alias to a file, typed by its URI", site: "exact", uri: "/file", want: file("/file", "alias/f.txt", "application/octet-stream")},

	// try_files with alias.
	{name: "nginx: alias try file", site: "al3", uri: "/al3/f.txt", want: file("/al3/f.txt", "alias/f.txt", "text/plain")},
	{name: "nginx: alias try directory", site: "al3", uri: "/al3/ad", want: redirect("/al3/ad", "/al3/ad/")},
	{name: "nginx: alias try index", site: "al3", uri: "/al3/ad/", want: file("/al3/ad/index.html", "alias/ad/index.html", "text/html")},
	{name: "nginx: alias try no index", site: "al3", uri: "/al3/emptyd/", want: logged(403)},
	{name: "nginx: alias try missing", site: "al3", uri: "/al3/nope", want: status(404)},
	{name: "nginx: alias fallback with variables", site: "al4", uri: "/al4/nope", args: "z=2", want: internal("/echo/al4/nope", "")},
	{name: "deviation: alias fallback keeps its prefix", site: "al5", uri: "/al5/nope", want: internal("/al5/nope.fb", "")},
	{name: "nginx: alias entry without variables", site: "al6", uri: "/al6/whatever", want: file("/al6//f.txt", "alias/f.txt", "text/plain")},

	// try_files fallbacks.
	{name: "nginx: try file", site: "tf", uri: "/tf/f.txt", want: file("/tf/f.txt", "www/tf/f.txt", "text/plain")},
	{name: "nginx: named fallback", site: "tf", uri: "/tf/nope", args: "a=b", want: want{kind: KindNamedLocation, name: "@fb"}},
	{name: "named fallback for a directory", site: "tf", uri: "/tf", want: want{kind: KindNamedLocation, name: "@fb"}},
	{name: "nginx: URI fallback drops args", site: "tfuri", uri: "/tfuri/nope", args: "k=v", want: internal("/plain/a.txt", "")},
	{name: "nginx: URI fallback with args", site: "tfargs", uri: "/tfargs/nope", args: "k=v", want: internal("/echo", "x=1&k=v")},
	{name: "nginx: URI fallback without args", site: "tfnoarg", uri: "/tfnoargs/nope", args: "k=v", want: internal("/echo", "")},
	{name: "code fallback", site: "tfcode", uri: "/empty", want: status(418)},
	{name: "try entry with a suffix", site: "tfcode", uri: "/dir", want: file("/dir/index.html", "www/dir/index.html", "text/html")},
	{name: "try file with method PUT", site: "tf", method: "PUT", uri: "/tf/f.txt", want: status(405)},
	{name: "nginx: PUT to a try_files entry is 405 at the entry", site: "tfcode", method: "PUT", uri: "/dir", want: statusAt(405, "/dir/index.html")},
	{name: "nginx: POST to a try_files entry is 405 at the entry", site: "tfcode", method: "POST", uri: "/dir", want: statusAt(405, "/dir/index.html")},
	{name: "nginx: try_files directory entry redirects from the entry", site: "tfdir", uri: "/tfdir/zzz", want: redirect("/dir", "/dir/")},
	{name: "try missing with method PUT", site: "tf", method: "PUT", uri: "/tf/nope", want: want{kind: KindNamedLocation, name: "@fb"}},

	// alias in a regex location is the whole path.
	{name: "nginx: regex alias file", site: "rx", uri: "/rx/f.txt", vars: map[string]string{"1": "f.txt"}, want: file("/rx/f.txt", "alias/f.txt", "text/plain")},
	{name: "nginx: regex alias directory", site: "rx", uri: "/rx/ad", vars: map[string]string{"1": "ad"}, want: redirect("/rx/ad", "/rx/ad/")},
	{name: "nginx: regex alias index", site: "rx", uri: "/rx/ad/", vars: map[string]string{"1": "ad/"}, want: file("/rx/ad/index.html", "alias/ad/index.html", "text/html")},
	{name: "nginx: regex alias without index", site: "rx", uri: "/rx/", vars: map[string]string{"1": ""}, want: logged(403)},
	{name: "regex alias capture with dot-dot", site: "rx", uri: "/rx/x", vars: map[string]string{"1": "../secret.txt"}, want: refused()},
	{name: "nginx: regex alias try_files appends the entry", site: "rxtf", uri: "/rxtf/f.txt", vars: map[string]string{"1": "f.txt"}, want: status(404)},

	// index with an absolute last entry.
	{name: "nginx: absolute index keeps args", site: "idx2", uri: "/idx2/", args: "q=1", want: internal("/echo", "q=1")},
	{name: "absolute index after a missing directory", site: "idx2", uri: "/nodir/", want: logged(404)},

	// Content types.
	{name: "nginx: types map", site: "dt", uri: "/dt/f.css", want: file("/dt/f.css", "www/dt/f.css", "text/css")},
	{name: "nginx: default_type", site: "dt", uri: "/dt/f.zzz", want: file("/dt/f.zzz", "www/dt/f.zzz", "text/x-dflt")},
	{name: "nginx: txt not in this types map", site: "dt", uri: "/a.txt", want: file("/a.txt", "www/a.txt", "text/x-dflt")},
	{name: "built-in types: html", site: "defaults", uri: "/", want: file("/index.html", "www/index.html", "text/html")},
	{name: "built-in types: default text/plain", site: "defaults", uri: "/r.txt", want: file("/r.txt", "www/r.txt", "text/plain")},
	{name: "built-in types: upper case", site: "defaults", uri: "/x.HTML", want: file("/x.HTML", "www/x.HTML", "text/html")},
	{name: "built-in index: no index.htm", site: "defaults", uri: "/sub/", want: logged(403)},

	// Document roots with variables, or that are links.
	{name: "root with a variable", site: "vhost", uri: "/a.txt", vars: map[string]string{"host": "www"}, want: file("/a.txt", "www/a.txt", "text/plain")},
	{name: "root variable with dot-dot", site: "vhost", uri: "/a.txt", vars: map[string]string{"host": ".."}, want: refused()},
	{name: "root variable naming a missing directory", site: "vhost", uri: "/a.txt", vars: map[string]string{"host": "nope"}, want: logged(404)},
	{name: "root that is a link", site: "linkroot", uri: "/a.txt", want: file("/a.txt", "html/a.txt", "text/plain")},
	{name: "root that is a link, link below it", site: "linkroot", uri: "/link-in.txt",
		want: want{kind: KindFile, status: 200, uri: "/link-in.txt", file: "www/a.txt", base: "www", ctype: "text/plain"}},
	{name: "root that is a link, link leading out", site: "linkroot", uri: "/link-out", want: refused()},

	// URIs a normalising caller never passes.
	{name: "dot-dot URI", site: "plain", uri: "/plain/../secret.txt", want: logged(400)},
	{name: "dot-dot at the end", site: "debian", uri: "/dir/..", want: logged(400)},
	{name: "NUL in URI", site: "plain", uri: "/plain/a.txt\x00.html", want: logged(400)},
}

func TestResolve(t *testing.T) {
	tr := newTree(t)
	resolvers := map[string]*Resolver{}
	sites := testSites(tr)
	for name, s := range sites {
		rv, err := New(&s.settings, s.types, s.loc)
		if err != nil {
			t.Fatalf("New(%s): %v", name, err)
		}
		resolvers[name] = rv
	}
	for _, tc := range resolveCases {
		t.Run(tc.name, func(t *testing.T) {
			rv := resolvers[tc.site]
			if rv == nil {
				t.Fatalf("no site %q", tc.site)
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			got := rv.Resolve(Request{Method: method, URI: tc.uri, Args: tc.args,
				Expand: expander(tc.uri, tc.args, tc.vars)})
			w := tc.want
			if w.kind == KindStatus && w.uri == "" {
				w.uri = tc.uri // a status leaves $uri as requested unless the case says
			}
			checkResult(t, tr, sites[tc.site], got, w)
		})
	}
}

func checkResult(t *testing.T, tr testTree, s site, got Result, w want) {
	t.Helper()
	if got.Kind != w.kind || got.Status != w.status {
		t.Fatalf("got %v %d (err %v), want %v %d", got.Kind, got.Status, got.Err, w.kind, w.status)
	}
	same := func(what, g, w string) {
		if g != w {
			t.Errorf("%s = %q, want %q", what, g, w)
		}
	}
	same("URI", got.URI, w.uri)
	same("Location", got.Location, w.location)
	same("Args", got.Args, w.args)
	same("Name", got.Name, w.name)
	same("ContentType", got.ContentType, w.ctype)
	if w.errIs != nil && !errors.Is(got.Err, w.errIs) {
		t.Errorf("Err = %v, want one wrapping %v", got.Err, w.errIs)
	}
	if w.logged != (got.Err != nil) {
		t.Errorf("Err = %v, want set: %v", got.Err, w.logged)
	}
	if w.file == "" {
		same("Path", got.Path, "")
		return
	}
	same("Path", got.Path, tr.path(w.file))
	base := s.base
	if w.base != "" {
		base = w.base
	}
	same("Base", got.Base, tr.path(base))
	fi, err := os.Stat(got.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != fi.Size() || !got.ModTime.Equal(fileTime) {
		t.Errorf("Size, ModTime = %d, %v; want %d, %v", got.Size, got.ModTime, fi.Size(), fileTime)
	}
}

// TestResolveDeniedDirectory checks the permission answers where the kernel
// enforces them (not for root, who may read anything).
func TestResolveDeniedDirectory(t *testing.T) {
	tr := newTree(t)
	tr.write(t, "www/locked/f.txt", "x\n")
	tr.write(t, "www/locked/index.html", "x\n")
	if err := os.Chmod(tr.path("www/locked"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(tr.path("www/locked"), 0o755) })
	_, statErr := os.Stat(tr.path("www/locked/f.txt"))
	wantCode := 403
	if statErr == nil {
		wantCode = 200 // running as root: permissions do not apply
	} else if !errors.Is(statErr, syscall.EACCES) {
		t.Fatalf("stat through a locked directory: %v", statErr)
	}
	rv, err := New(&config.Settings{Root: tr.path("www")}, nil, Location{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"/locked/f.txt", "/locked/"} {
		got := rv.Resolve(Request{Method: "GET", URI: uri})
		if got.Status != wantCode {
			t.Errorf("%s: status %d (%v), want %d", uri, got.Status, got.Err, wantCode)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		s    *config.Settings
		loc  Location
		want string
	}{
		{"nil settings", nil, Location{Path: "/"}, "no settings"},
		{"no root", &config.Settings{}, Location{Path: "/"}, "neither root nor alias"},
		{"relative root", &config.Settings{Root: "html"}, Location{Path: "/"}, "not an absolute path"},
		{"relative alias", &config.Settings{Alias: "x/"}, Location{Path: "/x/"}, "not an absolute path"},
		{"alias without path", &config.Settings{Alias: "/x/"}, Location{}, "needs the location's path"},
		{"one try_files entry", &config.Settings{Root: "/x", TryFiles: []string{"$uri"}}, Location{Path: "/"}, "at least two"},
		{"bad code", &config.Settings{Root: "/x", TryFiles: []string{"$uri", "=abc"}}, Location{Path: "/"}, "invalid code"},
		{"zero code", &config.Settings{Root: "/x", TryFiles: []string{"$uri", "=0"}}, Location{Path: "/"}, "invalid code"},
		{"big code", &config.Settings{Root: "/x", TryFiles: []string{"$uri", "=1000"}}, Location{Path: "/"}, "invalid code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.s, nil, tc.loc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	rv, err := New(&config.Settings{
		Alias:    "/srv/$1",
		Index:    []string{"index.html", "$arg_i.html"},
		TryFiles: []string{"$uri", "/static", "$uri/", "/fb?$args"},
	}, nil, Location{Path: "~ (.*)", Regex: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/srv/$1", "$uri", "$uri", "/fb?$args", "$arg_i.html"}
	if got := rv.Templates(); !slices.Equal(got, want) {
		t.Fatalf("Templates() = %q, want %q", got, want)
	}
}

func TestFixedDir(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/img/$1": "/srv/img",
		"/srv/img$1":  "/srv",
		"/srv/x.png":  "/srv",
		"/srv/dir/":   "/srv/dir",
		"$dir/x":      "/",
	} {
		if got := fixedDir(in); got != want {
			t.Errorf("fixedDir(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkResolve measures Debian's default site serving a file and an index.
func BenchmarkResolve(b *testing.B) {
	tr := newTree(b)
	s := testSites(tr)["debian"]
	rv, err := New(&s.settings, s.types, s.loc)
	if err != nil {
		b.Fatal(err)
	}
	for _, uri := range []string{"/a.txt", "/dir/"} {
		b.Run(uri, func(b *testing.B) {
			req := Request{Method: "GET", URI: uri, Expand: expander(uri, "", nil)}
			b.ReportAllocs()
			for b.Loop() {
				if res := rv.Resolve(req); res.Kind != KindFile {
					b.Fatal(res.Kind, res.Err)
				}
			}
		})
	}
}

// TestResolveIndexFlag: Index marks the files nginx reaches by the index
// module's internal redirect, not a file named by the URI or by try_files
// (which nginx serves in the same location).
func TestResolveIndexFlag(t *testing.T) {
	tr := newTree(t)
	sites := testSites(tr)
	for _, tc := range []struct {
		site, uri string
		want      bool
	}{
		{"defaults", "/", true},
		{"defaults", "/r.txt", false},
		{"tfcode", "/dir", false},
	} {
		s := sites[tc.site]
		rv, err := New(&s.settings, s.types, s.loc)
		if err != nil {
			t.Fatal(err)
		}
		got := rv.Resolve(Request{Method: http.MethodGet, URI: tc.uri, Expand: expander(tc.uri, "", nil)})
		if got.Kind != KindFile || got.Index != tc.want {
			t.Errorf("%s %s: %v, Index %t; want a file, Index %t", tc.site, tc.uri, got.Kind, got.Index, tc.want)
		}
	}
}

// TestResolveTryOnly: with TryOnly, Resolve stops after the try_files phase
// (a location whose content is proxy_pass): the entry that exists gives its
// $uri, a directory entry's included, whatever the method, and without the
// index or the slash redirect; the fallback is as usual.
func TestResolveTryOnly(t *testing.T) {
	tr := newTree(t)
	sites := testSites(tr)
	for _, tc := range []struct {
		site, method, uri string
		want              Result
	}{
		{"tfcode", http.MethodPost, "/dir", Result{Kind: KindFile, URI: "/dir/index.html"}},
		{"tfdir", http.MethodGet, "/tfdir/x", Result{Kind: KindFile, URI: "/dir"}},
		{"debian", http.MethodGet, "/dir", Result{Kind: KindFile, URI: "/dir"}},
		{"tfuri", http.MethodGet, "/tfuri/none", Result{Kind: KindInternalRedirect, URI: "/plain/a.txt"}},
	} {
		s := sites[tc.site]
		rv, err := New(&s.settings, s.types, s.loc)
		if err != nil {
			t.Fatal(err)
		}
		got := rv.Resolve(Request{Method: tc.method, URI: tc.uri, Expand: expander(tc.uri, "", nil), TryOnly: true})
		if got.Kind != tc.want.Kind || got.URI != tc.want.URI || got.Path != "" && tc.want.Kind == KindFile {
			t.Errorf("%s %s %s: %v %q (path %q), want %v %q", tc.site, tc.method, tc.uri, got.Kind, got.URI, got.Path, tc.want.Kind, tc.want.URI)
		}
	}
}

// TestRandomIndex checks random_index: a directory's URI redirects
// internally, with its arguments, to one of its regular files (dot files,
// directories and other entries left out), at random; a directory without
// one goes on to the index files; one that does not exist is 404. Only
// GET, HEAD and POST.
func TestRandomIndex(t *testing.T) {
	root := t.TempDir()
	mk := func(p string, dir bool) {
		t.Helper()
		p = filepath.Join(root, p)
		if dir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("pics", true)
	mk("pics/a.jpg", false)
	mk("pics/b.jpg", false)
	mk("pics/.hidden", false)
	mk("pics/sub", true)
	mk("one", true)
	mk("one/only.html", false)
	mk("one/.dot", false)
	mk("empty", true)
	mk("empty/sub", true)
	if err := os.Symlink("../one/only.html", filepath.Join(root, "pics", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	rv, err := New(&config.Settings{Root: root, RandomIndex: true}, nil, Location{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, uri, args string
		kind              Kind
		status            int
		one               []string // the URIs it may redirect to
	}{
		{"GET", "/pics/", "x=1", KindInternalRedirect, 0, []string{"/pics/a.jpg", "/pics/b.jpg", "/pics/link.jpg"}},
		{"HEAD", "/one/", "", KindInternalRedirect, 0, []string{"/one/only.html"}},
		{"POST", "/one/", "", KindInternalRedirect, 0, []string{"/one/only.html"}},
		{"GET", "/missing/", "", KindStatus, 404, nil},
		{"GET", "/empty/", "", KindStatus, 403, nil}, // the index module's answer
		{"PUT", "/one/", "", KindStatus, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri, func(t *testing.T) {
			seen := map[string]bool{}
			for range 60 {
				got := rv.Resolve(Request{Method: tt.method, URI: tt.uri, Args: tt.args, Expand: expander(tt.uri, tt.args, nil)})
				if got.Kind != tt.kind || tt.status != 0 && got.Status != tt.status {
					t.Fatalf("%v %d, want %v %d", got.Kind, got.Status, tt.kind, tt.status)
				}
				if tt.kind != KindInternalRedirect {
					return
				}
				if !slices.Contains(tt.one, got.URI) || got.Args != tt.args {
					t.Fatalf("redirect to %q?%s, want one of %q with %q", got.URI, got.Args, tt.one, tt.args)
				}
				seen[got.URI] = true
			}
			if len(seen) != len(tt.one) {
				t.Errorf("60 requests chose %d of the %d files: %v", len(seen), len(tt.one), seen)
			}
		})
	}
}

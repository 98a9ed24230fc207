package integration

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is the one-way import graph of ../shared/DESIGN.md as built:
// each package may import only the fulcrum packages listed. (Deviations from the
// design's table, on purpose: upstream imports nothing, so the daemon maps
// config to it; errlog reads config's log levels; static and accesslog read
// config's settings; errpage is shared by daemon and proxy, and takes nginx's
// status phrases from h1, which writes every status line; static takes
// nginx's path escaping from h1, as the proxy does; deadline, the lazy
// connection deadlines and the stall edge's check, and sock, the raw socket
// reads and writes, serve both sides of the engine (the stream module takes
// the stall edge's check from deadline, the FastCGI and memcached clients
// their reads from sock); pace, the clock arithmetic of limit_rate and
// proxy_limit_rate, serves the daemon's writer and the proxy's and the
// FastCGI client's body reads (fastcgi_limit_rate);
// gzipfilter and charsetfilter, nginx's gzip (and gunzip) and
// charset filters, read config's settings and keep the daemon's response
// path small; subfilter, sub_filter's streaming search, needs only h1's
// Content-Type reading; rewrite, the
// rewrite module's script engine, is a package of its own between vars and
// the daemon; htpasswd, auth_basic's user files and password hashes, is a
// leaf the daemon uses; geo, the geo module's address tables, reads
// config's geo blocks, so that the daemon and the stream module build their
// tables with one function; clientauth,
// ssl_verify_client's verification with OpenSSL's rules, reads config's
// settings; clientocsp, ssl_ocsp's checks of client chains, asks responders
// with stapling's OCSP requests; dashboard, the dashboard page's embedded files, is a leaf the
// daemon uses: the page reads the API over HTTP, from the browser; referer,
// valid_referers' check, reads config's settings, and so does browser,
// the browser module's User-Agent test; securelink, the
// secure_link module's hash checks, is a leaf; dav, the WebDAV methods on a
// document root, words its log lines with errlog and gets its paths from
// the daemon through a small Mapper interface; inherit, the encoding of the
// sockets a running fulcrum hands to its new binary, is a leaf; varmap, the
// map module's key matching and split_clients' MurmurHash2 split, serves
// the http daemon and the stream module, which also uses geo's tables, as
// nginx's stream map, split_clients and geo modules share their http
// twins' rules; userid, the userid module's identifiers and cookies, reads
// config's settings; upstreamtls, the TLS client of connections to upstream
// servers (proxy_ssl_*, grpc_ssl_*), is shared by proxy and stream, which
// may not import each other; cacherule, the cache decisions of proxy_cache
// and fastcgi_cache (key, bypass, Vary variant, lock, expiry from the
// fields), sits between cache and the two handlers so that neither copies
// the other's; store, the files of proxy_store and fastcgi_store (scgi_,
// uwsgi_), is shared by the same two handlers; mp4, the mp4 module's
// reading and cutting of MP4 files, is a leaf that static serves files
// through; byterange, nginx's range filter, is a leaf that static, slice
// and the two caches share, the daemon deciding through cacherule's Ranger
// what the cache may cut; pcre, nginx's regular expressions, is a leaf that
// config compiles every regex with and whose type the packages matching
// them (router, rewrite, varmap, referer, proxy, stream, ssi) name.)
var allowedImports = map[string][]string{
	"pemkey":        {},                               // encrypted private keys (ssl_password_file)
	"pcre":          {},                               // nginx's regular expressions: RE2, or regexp2 for PCRE syntax RE2 lacks
	"config":        {"pcre", "pemkey", "revocation"}, // revocation: ssl_crl files are parsed at load with its Parse (version 1 lists too)
	"vars":          {},
	"bindaddr":      {"config", "errlog", "vars"}, // the *_bind directives compiled; errlog words a failed bind as nginx
	"clientwatch":   {},                           // stops an upstream exchange when its client goes away (proxy, fastcgi, memcached)
	"h1":            {},
	"deadline":      {},
	"bodyspool":     {"config"}, // request bodies read whole: memory, then a temporary file
	"gctune":        {},         // the garbage collector's headroom, sized to the live heap
	"pace":          {},         // limit_rate's and proxy_limit_rate's pace
	"sock":          {},
	"proxyproto":    {}, // the PROXY protocol header a listener reads (http and stream)
	"dbfile":        {}, // a lookup database read whole after checks (geoip, geoip2)
	"connset":       {}, // the connection slots and live sessions of the stream and mail proxies
	"errpage":       {"h1"},
	"upstream":      {},
	"demo":          {},
	"dashboard":     {},                                                        // the dashboard page, script and style sheet, embedded
	"testutil":      {},                                                        // imported by tests only
	"htpasswd":      {},                                                        // auth_basic's user files and password schemes
	"jwt":           {},                                                        // auth_jwt: JWS tokens verified against JSON Web Key Sets
	"oidc":          {"jwt", "revocation"},                                     // auth_oidc: OpenID Connect's code flow as a Relying Party
	"oidctest":      {},                                                        // a small OpenID Provider, imported by tests only
	"geo":           {"config"},                                                // geo's address tables (built from config's geo block), address parsing and X-Forwarded-For walk
	"varmap":        {"config", "pcre"},                                        // map's key matching and split_clients' hash, for http and stream
	"securelink":    {},                                                        // secure_link's hash and expiry checks
	"stapling":      {},                                                        // OCSP stapling (ssl_stapling)
	"sessionticket": {},                                                        // ssl_session_timeout's bound on session tickets (http and stream)
	"certcache":     {},                                                        // the server certificates an ssl_certificate with variables loads per handshake (http and stream), in a bounded cache
	"sessioncache":  {"config"},                                                // ssl_session_cache's server-side sessions with ssl_session_tickets off (http and stream)
	"revocation":    {},                                                        // ssl_crl's and proxy_ssl_crl's revocation checks
	"referer":       {"config", "pcre"},                                        // valid_referers' check of the Referer field
	"browser":       {"config"},                                                // modern_browser's and ancient_browser's test of the User-Agent
	"userid":        {"config"},                                                // the userid module's identifiers and cookies
	"clientauth":    {"config", "revocation"},                                  // client certificate verification (ssl_verify_client)
	"servertls":     {"clientauth", "config", "sessioncache", "sessionticket"}, // the server side of a handshake from config.TLS (stream and mail)
	"clientocsp":    {"stapling"},                                              // OCSP checks of client certificates (ssl_ocsp), with stapling's requests
	"upstreamtls":   {"config", "pemkey", "revocation"},                        // TLS to upstream servers (proxy_ssl_* in http and stream, grpc_ssl_*); pemkey: a proxy_ssl_certificate_key with variables, decrypted per connection
	"errlog":        {"config", "syslog"},
	"syslog":        {"config"}, // syslog: targets of error_log and access_log (nginx's ngx_syslog.c), for errlog, accesslog and stream
	"router":        {"config", "pcre"},
	"httptime":      {},           // nginx's HTTP date parser, shared by the caches, static files and the range filter
	"byterange":     {"httptime"}, // nginx's range filter: Range, If-Range, the 206 (one range, multipart)
	"static":        {"byterange", "config", "h1", "httptime", "mp4"},
	"mp4":           {},         // the mp4 module's moov rewriting (mp4, ?start= and ?end=)
	"imgfilter":     {},         // image_filter's sniffing, sizing, resizing, cropping, rotating
	"dav":           {"errlog"}, // WebDAV methods (dav_methods) on a document root
	"balancer":      {"upstream"},
	"admin":         {"keyval", "statuszone", "upstream"}, // the runtime API and metrics, over its Source interface
	"keyval":        {},                                   // NGINX Plus's key-value store (keyval_zone, keyval): the zones the API changes and variables read
	"health":        {"config", "errlog", "upstream"},     // active health checks (health_check, match); errlog words a failed check as nginx words a failed request
	"accesslog":     {"config", "syslog", "vars"},
	"gzipfilter":    {"config", "h1"},
	"charsetfilter": {"config", "h1"},
	"subfilter":     {"h1"},                     // sub_filter's streaming search and replace
	"ssi":           {"pcre"},                   // the SSI parser and commands
	"rewrite":       {"config", "pcre", "vars"}, // the rewrite module's script engine
	"cache":         {},
	"cacherule":     {"byterange", "cache", "config", "httptime", "vars"},                                                                                                                                                                                                                                                                            // the cache decisions proxy_cache and fastcgi_cache share
	"store":         {"errlog", "vars"},                                                                                                                                                                                                                                                                                                              // *_store's files, shared by proxy and fastcgi
	"slice":         {"byterange"},                                                                                                                                                                                                                                                                                                                   // the slice module's arithmetic (slice, $slice_range)
	"inherit":       {},                                                                                                                                                                                                                                                                                                                              // FULCRUM_INHERIT: the sockets handed to a new binary (SIGUSR2)
	"stream":        {"balancer", "bindaddr", "certcache", "clientauth", "config", "connset", "deadline", "errlog", "geo", "geoipdat", "health", "keyval", "mmdb", "mqtt", "pcre", "proxyproto", "resolve", "retire", "servertls", "sessioncache", "sessionticket", "stapling", "statuszone", "syslog", "upstream", "upstreamtls", "varmap", "vars"}, // TCP proxying (the stream block); clientauth and vars: ssl_verify_client and the $ssl_client_* formatting shared with http
	"proxy":         {"bindaddr", "balancer", "bodyspool", "byterange", "cache", "cacherule", "clientwatch", "config", "deadline", "errlog", "errpage", "h1", "pace", "pcre", "sock", "store", "upstream", "upstreamtls", "vars"},
	"fastcgi":       {"bindaddr", "balancer", "bodyspool", "byterange", "cache", "cacherule", "clientwatch", "config", "deadline", "errlog", "pace", "sock", "store", "upstream", "upstreamtls", "vars"}, // fastcgi_pass: the FastCGI client, its cache, suwsgi://
	"memcached":     {"bindaddr", "balancer", "clientwatch", "config", "deadline", "errlog", "sock", "upstream", "vars"},                                                                                 // memcached_pass: the memcached client
	"resolve":       {"errlog", "upstream"},                                                                                                                                                              // server ... resolve: names followed in DNS
	"daemon":        {"accesslog", "admin", "balancer", "bodyspool", "browser", "byterange", "cache", "cacherule", "certcache", "charsetfilter", "clientauth", "clientocsp", "config", "dashboard", "dav", "deadline", "errlog", "errpage", "fastcgi", "geo", "geoipdat", "gzipfilter", "h1", "health", "htpasswd", "idlepark", "imgfilter", "inherit", "jwt", "keyval", "mail", "memcached", "mmdb", "mp4", "oidc", "pace", "pcre", "proxy", "proxyproto", "referer", "resolve", "retire", "rewrite", "router", "securelink", "sessioncache", "sessionticket", "slice", "sock", "ssi", "stapling", "static", "statuszone", "stream", "subfilter", "syslog", "upstream", "upstreamtls", "userid", "varmap", "vars"},
	"mail":          {"clientauth", "config", "connset", "errlog", "proxyproto", "resolve", "retire", "servertls", "sessioncache", "vars"}, // the mail block: IMAP, POP3 and SMTP with auth_http; TLS through servertls, vars for the Auth-SSL-* certificate fields, resolve for the SMTP client's name (resolver)
	"mmdb":          {"dbfile"},                                                                                                            // MaxMind DB files: the geoip2 module's lookups
	"geoipdat":      {"dbfile"},                                                                                                            // legacy MaxMind GeoIP files (.dat): the geoip module's lookups and variables
	"mqtt":          {},                                                                                                                    // the MQTT CONNECT packet: mqtt_preread's variables, mqtt_set_connect's rewrite
	"idlepark":      {},                                                                                                                    // idle keep-alive connections held in an epoll set instead of a goroutine each (daemon)
	"retire":        {},                                                                                                                    // the count that releases a replaced configuration after its last request or session (daemon, stream, mail)
	"statuszone":    {},                                                                                                                    // status_zone: the server, location and stream zones' counters, kept across reloads
	"fulcrum":       {"config", "daemon", "demo", "errlog", "gctune"},                                                                      // cmd/fulcrum
}

// TestImportDirections keeps the package graph one-way: a new import across
// packages must be a decision (update this table and DESIGN.md), not an accident.
func TestImportDirections(t *testing.T) {
	t.Parallel() // runs go list only
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "fulcrum/internal/...", "fulcrum/cmd/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0][strings.LastIndexByte(fields[0], '/')+1:]
		allowed, ok := allowedImports[pkg]
		if !ok {
			t.Errorf("package %s is not in the import table: add it with its allowed imports", fields[0])
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, "fulcrum/") {
				continue
			}
			name := imp[strings.LastIndexByte(imp, '/')+1:]
			if !slices.Contains(allowed, name) {
				t.Errorf("%s imports %s, which the one-way graph does not allow", fields[0], imp)
			}
		}
	}
	if seen < len(allowedImports) {
		t.Errorf("go list found %d of the %d packages in the table", seen, len(allowedImports))
	}
}

// TestNoMergeConflictMarkers fails when a tracked file still holds the lines a
// conflicted merge leaves (docs/testing.md once landed with a pair of them).
func TestNoMergeConflictMarkers(t *testing.T) {
	t.Parallel() // runs git grep only
	out, err := exec.Command("git", "-C", "..", "grep", "-nE", "^(<<<<<<< |>>>>>>> |=======$)", "--", ".", ":!*.golden").CombinedOutput()
	switch {
	case err == nil:
		t.Errorf("merge conflict markers in tracked files:\n%s", out)
	case len(out) > 0:
		t.Fatalf("git grep: %v\n%s", err, out)
	}
}

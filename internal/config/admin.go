package config

import "strings"

// contentNames are the directives that set a location's content handler
// among those api, metrics and dashboard compete with: in nginx the last
// one of a block wins.
var contentNames = []string{"stub_status", "proxy_pass", "api", "metrics", "dashboard"}

// defaultDashboardAPI is the API path the dashboard polls by default.
const defaultDashboardAPI = "/api"

// fulcrumHandler reports whether name is one of the content handlers
// applyAdmin reads (stub_status and proxy_pass warn on their own).
func fulcrumHandler(name string) bool {
	return name == "api" || name == "metrics" || name == "dashboard"
}

// checkAPI checks api's one optional parameter, write=on or write=off, as
// NGINX Plus's ngx_http_api does.
func checkAPI(d *Directive) error {
	if len(d.Args) == 0 {
		return nil
	}
	if v, ok := strings.CutPrefix(d.Args[0], "write="); ok && (v == "on" || v == "off") {
		return nil
	}
	return hintf(d.Pos, "write api; (read only) or api write=on; (PATCH allowed)", `invalid parameter "%s"`, d.Args[0])
}

// checkDashboard checks dashboard's one optional parameter, api=path: the
// API's path on the same server, since the page may talk to its own
// origin only (its Content-Security-Policy says connect-src 'self').
func checkDashboard(d *Directive) error {
	if len(d.Args) == 0 {
		return nil
	}
	v, ok := strings.CutPrefix(d.Args[0], "api=")
	if !ok {
		return hintf(d.Pos, "dashboard; (the API at /api) or dashboard api=/path;", `invalid parameter "%s"`, d.Args[0])
	}
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "?#\\ \t\"'<>") {
		return hintf(d.Pos, "give the API's path on this server, as api=/api: the page may talk to its own origin only",
			`invalid value "%s" in "dashboard" directive`, v)
	}
	return nil
}

// applyAdmin reads the level's own api, metrics and dashboard directives (not
// inherited, as content handlers are not). dirs are the level's content
// handler directives in order (contentNames); the last one answers, so api
// or metrics is set only when it is last. An api that allows writes in a
// level without allow or deny gets a warning: anyone who reaches it could
// take servers out of balancing.
func applyAdmin(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	last := dirs[len(dirs)-1]
	for _, d := range dirs[:len(dirs)-1] {
		if fulcrumHandler(d.Name) || fulcrumHandler(last.Name) {
			b.warnDir(d, "keep one of them", `"%s" and "%s" in one block: the last one, "%s", answers, as in nginx`, d.Name, last.Name, last.Name)
			break
		}
	}
	switch last.Name {
	case "metrics":
		st.Metrics = true
	case "dashboard":
		st.Dashboard = defaultDashboardAPI
		if len(last.Args) == 1 {
			st.Dashboard = strings.TrimPrefix(last.Args[0], "api=")
		}
	case "api":
		st.API = true
		st.APIWrite = len(last.Args) == 1 && last.Args[0] == "write=on"
		if st.APIWrite && len(st.Access) == 0 {
			b.warnDir(last, "add allow and deny rules (allow 127.0.0.1; deny all;) to this location",
				`"api write=on" without allow or deny lets every client change upstream servers`)
		}
	}
	return nil
}

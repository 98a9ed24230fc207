package daemon

import (
	"net/http"

	"fulcrum/internal/config"
	"fulcrum/internal/dashboard"
	"fulcrum/internal/vars"
)

// dashboardHandler answers with the live dashboard page, its script and
// its style sheet (the dashboard directive).
type dashboardHandler struct {
	page *dashboard.Page
}

// newDashboardHandler builds the dashboard handler of loc. A regex
// location has no prefix: its page is at any path ending in a slash.
func newDashboardHandler(loc *config.Location) handler {
	prefix := loc.Path
	if loc.Modifier == config.ModRegex || loc.Modifier == config.ModRegexCaseless {
		prefix = ""
	}
	return dashboardHandler{page: dashboard.New(prefix, loc.Settings.Dashboard)}
}

func (h dashboardHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	if code := h.page.Serve(w, r, st.Path); code != 0 {
		w.(*recorder).fail(code)
	}
	return nil
}

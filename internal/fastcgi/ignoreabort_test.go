package fastcgi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"fulcrum/internal/vars"
)

// abortWriter records that the handler asked it to ignore client aborts.
type abortWriter struct {
	*httptest.ResponseRecorder
	ignored bool
}

func (w *abortWriter) IgnoreClientAbort() { w.ignored = true }

// TestIgnoreClientAbort: with fastcgi_ignore_client_abort on, the writer
// stops watching the client and a client already gone does not end the
// exchange: the application answers and the request is logged with its
// status; off, the exchange ends as the client's context does (499).
func TestIgnoreClientAbort(t *testing.T) {
	for _, tt := range []struct {
		ignore     bool
		wantStatus int // of the writer; 0: none written
		wantLog    int // st.Status: 499 when the handler logged a gone client
		wantCalls  int64
	}{
		{false, 0, 499, 0},
		{true, 200, 0, 1},
	} {
		t.Run(map[bool]string{false: "off", true: "on"}[tt.ignore], func(t *testing.T) {
			app, srv := startApp(t, nil)
			set := settings()
			set.IgnoreClientAbort = tt.ignore
			h, _ := newHandler(t, set, 0, srv)
			ctx, gone := context.WithCancel(context.Background())
			gone()
			r := httptest.NewRequest(http.MethodGet, "/a", nil).WithContext(ctx)
			w := &abortWriter{ResponseRecorder: httptest.NewRecorder()}
			st := &vars.State{}
			st.Method, st.Path, st.RequestURI = "GET", "/a", "/a"
			h.ServeHTTP(w, r, st)
			written := 0
			if w.Flushed || w.Body.Len() > 0 {
				written = w.Code
			}
			if w.ignored != tt.ignore || written != tt.wantStatus || st.Status != tt.wantLog || app.n.Load() != tt.wantCalls {
				t.Errorf("told %v, wrote %d (%q), logged %d, %d calls; want %v, %d, %d, %d",
					w.ignored, written, w.Body, st.Status, app.n.Load(), tt.ignore, tt.wantStatus, tt.wantLog, tt.wantCalls)
			}
		})
	}
}

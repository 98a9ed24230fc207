package errpage

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		code      int
		wantBody  string
		wantClose bool
	}{
		{404, "<title>404 Not Found</title>", false},
		{502, "<center><h1>502 Bad Gateway</h1></center>", false},
		{413, "413 Request Entity Too Large", true},
		{400, "400 Bad Request", true},
		{204, "", false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.code, "fulcrum")
			if rec.Code != tt.code {
				t.Errorf("code %d, want %d", rec.Code, tt.code)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) || (tt.wantBody == "" && rec.Body.Len() != 0) {
				t.Errorf("body %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tt.wantClose {
				t.Errorf("Connection close = %v, want %v", got, tt.wantClose)
			}
			if rec.Header().Get("Server") != "fulcrum" {
				t.Errorf("Server header %q", rec.Header().Get("Server"))
			}
		})
	}
}

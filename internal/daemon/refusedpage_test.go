package daemon

import (
	"testing"

	"fulcrum/internal/config"
)

// TestRefusedPageCode: the error_page code that answers a refused head;
// fulcrum's 431 is nginx's 494, which "error_page 494" catches as in nginx
// (a 431 of its own first).
func TestRefusedPageCode(t *testing.T) {
	pages := func(codes ...int) []config.ErrorPage {
		return []config.ErrorPage{{Codes: codes, Target: "/e"}}
	}
	tests := []struct {
		name  string
		pages []config.ErrorPage
		code  int
		want  int
	}{
		{"none", nil, 400, 0},
		{"another code", pages(404, 502), 400, 0},
		{"the code", pages(404, 400), 400, 400},
		{"501", pages(501), 501, 501},
		{"431 by 494", pages(400, 494), 431, 494},
		{"431 by 431", pages(431), 431, 431},
		{"431 by both: its own", append(pages(494), pages(431)...), 431, 431},
		{"494 does not catch a 400", pages(494), 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refusedPageCode(tt.pages, tt.code); got != tt.want {
				t.Errorf("refusedPageCode(%v, %d) = %d, want %d", tt.pages, tt.code, got, tt.want)
			}
		})
	}
}

package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// plusPool is a pool of two servers: a answered 200, 200 and 404 to
// requests picked at t0+1s; b, whose active check failed at t0+2s, has
// been unhealthy since. The queue of one turned a request away.
func plusPool(t *testing.T) (Upstream, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := upstream.NewPool("app", []upstream.Settings{
		upstream.NewSettings(upstream.NetworkTCP, "10.0.0.1:80"),
		upstream.NewSettings(upstream.NetworkTCP, "10.0.0.2:80"),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.AttachChecks(map[string]upstream.CheckPolicy{"hc": {Fails: 1, Passes: 1}})
	a, b := p.Server(false, 0), p.Server(false, 1)
	for _, code := range []int{200, 404, 200} {
		s := p.Acquire(false, t0.Add(time.Second), firstOf{a})
		s.Account(code, 10, 20)
		s.Release(t0.Add(time.Second), upstream.Success)
	}
	a.ReportCheck("hc", t0.Add(time.Second), true)
	b.ReportCheck("hc", t0.Add(2*time.Second), false)
	q := upstream.NewQueue(1, time.Second)
	w := q.Enter()
	q.Enter() // overflows
	t.Cleanup(func() { q.Leave(w) })
	now := t0.Add(5 * time.Second)
	return Upstream{Name: "app", Zone: "app", Servers: p.Snapshot(now, nil), Queue: q}, now
}

// firstOf is a chooser that picks server s.
type firstOf struct{ s *upstream.Server }

func (f firstOf) Choose(v upstream.View) int { return f.s.Index() }

// TestPlusFieldsJSON: the peers' responses.codes, health_checks, downtime,
// downstart and selected and the upstream's queue, in NGINX Plus's shape.
func TestPlusFieldsJSON(t *testing.T) {
	u, _ := plusPool(t)
	got, err := json.Marshal(upstreamOf(&u))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"responses":{"1xx":0,"2xx":2,"3xx":0,"4xx":1,"5xx":0,"codes":{"200":2,"404":1},"total":3}`,
		`"health_checks":{"checks":1,"fails":0,"unhealthy":0,"last_passed":true},"downtime":0,"selected":"2026-01-02T03:04:06.000Z"`,
		`"responses":{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0,"codes":{},"total":0}`,
		`"health_checks":{"checks":1,"fails":1,"unhealthy":1,"last_passed":false},"downtime":3000,"downstart":"2026-01-02T03:04:07.000Z"}`,
		`"queue":{"size":1,"max_size":1,"overflows":1}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
	// b was never selected; a stream peer has the same fields but codes.
	if strings.Count(string(got), `"selected"`) != 1 {
		t.Errorf("selected shown for a server never picked:\n%s", got)
	}
	st, err := json.Marshal(streamUpstreamOf(&u))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"downtime":3000,"downstart":"2026-01-02T03:04:07.000Z"`, `"selected":"2026-01-02T03:04:06.000Z"`, `"health_checks":{"checks":1,"fails":1,"unhealthy":1,"last_passed":false}`} {
		if !strings.Contains(string(st), want) {
			t.Errorf("stream: no %s in\n%s", want, st)
		}
	}
	// Without checks or a queue, neither object shows.
	plain, _ := json.Marshal(upstreamOf(&Upstream{Servers: []upstream.ServerStatus{{}}}))
	for _, not := range []string{"health_checks", "queue", "downstart", "selected"} {
		if strings.Contains(string(plain), not) {
			t.Errorf("%s in %s", not, plain)
		}
	}
}

// TestPlusFieldsMetrics: the same numbers in the metrics.
func TestPlusFieldsMetrics(t *testing.T) {
	u, _ := plusPool(t)
	out := string(AppendMetrics(nil, Process{}, Counts{}, []Upstream{u}))
	out += string(AppendStreamMetrics(nil, []Upstream{u}))
	a, b := `upstream="app",server="10.0.0.1:80"`, `upstream="app",server="10.0.0.2:80"`
	for _, want := range []string{
		"fulcrum_upstream_server_responses_by_code_total{" + a + `,code="200"} 2`,
		"fulcrum_upstream_server_responses_by_code_total{" + a + `,code="404"} 1`,
		"fulcrum_upstream_server_health_checks_total{" + b + "} 1",
		"fulcrum_upstream_server_health_check_fails_total{" + b + "} 1",
		"fulcrum_upstream_server_unhealthy_total{" + b + "} 1",
		"fulcrum_upstream_server_health_check_last_passed{" + a + "} 1",
		"fulcrum_upstream_server_health_check_last_passed{" + b + "} 0",
		"fulcrum_upstream_server_downtime_milliseconds_total{" + b + "} 3000",
		"fulcrum_upstream_server_selected_timestamp_seconds{" + a + "} 1767323046",
		`fulcrum_upstream_queue_size{upstream="app"} 1`,
		`fulcrum_upstream_queue_max_size{upstream="app"} 1`,
		`fulcrum_upstream_queue_overflows_total{upstream="app"} 1`,
		"fulcrum_stream_upstream_server_downtime_milliseconds_total{" + b + "} 3000",
		"fulcrum_stream_upstream_server_health_check_fails_total{" + b + "} 1",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for _, not := range []string{
		"fulcrum_upstream_server_responses_by_code_total{" + b,
		"fulcrum_upstream_server_selected_timestamp_seconds{" + b,
	} {
		if strings.Contains(out, not) {
			t.Errorf("%q in\n%s", not, out)
		}
	}
}

package daemon_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAPIStreamPlusFields: a stream upstream's peers show NGINX Plus's
// health_checks, downtime, downstart and selected: the server a session
// reached was selected, the one whose port refuses connections fails its
// active checks and is down since downstart; the metrics agree.
func TestAPIStreamPlusFields(t *testing.T) {
	echo := nameServer(t, "echo")
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := refused.Addr().String()
	refused.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streamAddr := free.Addr().String()
	free.Close()
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http { access_log off; server { listen 127.0.0.1:0; location /api { api; } location = /metrics { metrics; } } }
stream {
    upstream db { zone db 64k; server %s; server %s; }
    server { listen %s; proxy_pass db; health_check interval=50ms fails=1; }
}`, echo, dead, streamAddr))
	type peer struct {
		State        string `json:"state"`
		HealthChecks *struct {
			Checks, Fails, Unhealthy int64
			LastPassed               *bool `json:"last_passed"`
		} `json:"health_checks"`
		Downtime  int64  `json:"downtime"`
		Downstart string `json:"downstart"`
		Selected  string `json:"selected"`
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var u struct{ Peers []peer }
	read := func() {
		t.Helper()
		apiGet(t, client, "http://"+addr+"/api/9/stream/upstreams/db", &u)
		if len(u.Peers) != 2 {
			t.Fatalf("%d peers, want 2", len(u.Peers))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for read(); u.Peers[1].State != "unhealthy" || u.Peers[0].HealthChecks == nil || u.Peers[0].HealthChecks.Checks == 0; read() {
		if time.Now().After(deadline) {
			t.Fatalf("peers %+v, want the dead one unhealthy", u.Peers)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := reached(t, streamAddr, 1); got["echo"] != 1 {
		t.Fatalf("session reached %v", got)
	}
	time.Sleep(60 * time.Millisecond) // some downtime
	read()
	live, down := u.Peers[0], u.Peers[1]
	if hc := down.HealthChecks; hc.Fails < 1 || hc.Unhealthy != 1 || hc.LastPassed == nil || *hc.LastPassed {
		t.Errorf("dead peer's health_checks: %+v", hc)
	}
	if start, err := time.Parse("2006-01-02T15:04:05.000Z", down.Downstart); err != nil || time.Since(start) > time.Minute || down.Downtime < 60 {
		t.Errorf("dead peer: downstart %q (%v), downtime %d ms", down.Downstart, err, down.Downtime)
	}
	if down.Selected != "" {
		t.Errorf("dead peer selected at %q", down.Selected)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", live.Selected); err != nil || live.Downtime != 0 || live.Downstart != "" || live.HealthChecks.Fails != 0 {
		t.Errorf("live peer: %+v (selected: %v)", live, err)
	}
	_, _, metrics := apiCall(t, client, "GET", "http://"+addr+"/metrics", "")
	line := `fulcrum_stream_upstream_server_unhealthy_total{upstream="db",server="` + dead + `"} 1`
	if !strings.Contains(string(metrics), line+"\n") {
		t.Errorf("metrics have no %q:\n%s", line, metrics)
	}
}

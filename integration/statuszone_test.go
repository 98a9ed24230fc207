package integration

import (
	"encoding/json"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// zoneObject is the part of an NGINX Plus server, location or stream
// server zone the test reads.
type zoneObject struct {
	Processing  int64 `json:"processing"`
	Requests    int64 `json:"requests"`
	Connections int64 `json:"connections"`
	Responses   struct {
		Codes map[string]int64 `json:"codes"`
		Total int64            `json:"total"`
	} `json:"responses"`
	Sessions struct {
		C2xx  int64 `json:"2xx"`
		Total int64 `json:"total"`
	} `json:"sessions"`
	Discarded int64 `json:"discarded"`
	Received  int64 `json:"received"`
	Sent      int64 `json:"sent"`
}

// TestStatusZones runs the real binary with NGINX Plus's status_zone: two
// servers share the zone "front", a location has the zone "loc", a stream
// server the zone "tcp". Requests answered 200, 404 and 502 (a dead
// upstream) and a 444 count in the zones with their bytes; the API lists
// and resets them (DELETE); a reload that keeps the names keeps the
// counts; the metrics show them.
func TestStatusZones(t *testing.T) {
	b := startBackend(t, "b")
	ports := testutil.FreePorts(t, 5)
	conf := fmt.Sprintf(`
events {}
http {
    access_log off;
    upstream dead { server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:%d;
        status_zone front;
        location / { proxy_pass %s; }
        location /dead { proxy_pass http://dead; }
        location /loc { status_zone loc; return 200 "loc\n"; }
        location /drop { return 444; }
    }
    server {
        listen 127.0.0.1:%d;
        status_zone front;
        location / { return 404; }
    }
    server {
        listen 127.0.0.1:%d;
        location /api { api write=on; }
        location = /metrics { metrics; }
    }
}
stream {
    server { listen 127.0.0.1:%d; status_zone tcp; return "hello\n"; }
}
`, ports[0], ports[1], b.srv.URL, ports[2], ports[3], ports[4])
	in := startFulcrum(t, conf, 4)
	one := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	two := fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	api := fmt.Sprintf("http://127.0.0.1:%d/api/9", ports[3])
	client := newClient()

	for _, r := range []struct {
		url  string
		code int
	}{{one + "/x", 200}, {one + "/dead", 502}, {one + "/loc", 200}, {two + "/y", 404}} {
		if code, body := get(t, client, r.url); code != r.code {
			t.Fatalf("GET %s: %d %s, want %d", r.url, code, body, r.code)
		}
	}
	// A raw request, which no client retries when the connection closes.
	if got := rawUntilClose(t, fmt.Sprintf("127.0.0.1:%d", ports[1]), "GET /drop HTTP/1.1\r\nHost: a\r\n\r\n"); got != "" {
		t.Fatalf("GET /drop: %q, want the connection closed unanswered (444)", got)
	}
	for range 2 {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[4]), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(c)
		c.Close()
		if string(data) != "hello\n" {
			t.Fatalf("stream answer %q", data)
		}
	}

	read := func(path string) zoneObject {
		t.Helper()
		code, body := get(t, client, api+path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var z zoneObject
		if err := json.Unmarshal([]byte(body), &z); err != nil {
			t.Fatalf("%s: %v in %s", path, err, body)
		}
		return z
	}
	front := read("/http/server_zones/front")
	if front.Requests != 5 || front.Processing != 0 || front.Discarded != 1 || front.Responses.Total != 4 ||
		front.Responses.Codes["200"] != 2 || front.Responses.Codes["404"] != 1 || front.Responses.Codes["502"] != 1 {
		t.Errorf("front: %+v", front)
	}
	if front.Received < 5*40 || front.Sent < 4*100 {
		t.Errorf("front's bytes: received %d, sent %d", front.Received, front.Sent)
	}
	loc := read("/http/location_zones/loc")
	if loc.Requests != 1 || loc.Responses.Codes["200"] != 1 || loc.Received == 0 || loc.Sent < int64(len("loc\n")) {
		t.Errorf("loc: %+v", loc)
	}
	waitFor(t, "the stream sessions' end", func() bool { return read("/stream/server_zones/tcp").Sessions.Total == 2 })
	if tcp := read("/stream/server_zones/tcp"); tcp.Connections != 2 || tcp.Sessions.C2xx != 2 || tcp.Sent != 12 || tcp.Processing != 0 {
		t.Errorf("tcp: %+v", tcp)
	}
	code, index := get(t, client, api+"/http")
	if code != http.StatusOK || !strings.Contains(index, `"server_zones","location_zones"`) {
		t.Errorf("/http: %d %s", code, index)
	}
	_, metrics := get(t, client, fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[3]))
	for _, want := range []string{`fulcrum_server_zone_responses_by_code_total{zone="front",code="502"} 1`,
		`fulcrum_stream_server_zone_sessions_total{zone="tcp",code="2xx"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A reload that keeps the names keeps the counts.
	in.rewrite(strings.Replace(conf, "status_zone loc;", "status_zone loc; add_header X-Reloaded 1;", 1))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool {
		r, err := client.Get(one + "/loc")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.Header.Get("X-Reloaded") == "1"
	})
	if loc := read("/http/location_zones/loc"); loc.Requests < 2 {
		t.Errorf("loc after the reload: %+v, want its counts kept", loc)
	}
	if front := read("/http/server_zones/front"); front.Requests < 6 || front.Responses.Codes["502"] != 1 {
		t.Errorf("front after the reload: %+v, want its counts kept", front)
	}

	// DELETE resets one zone.
	req, _ := http.NewRequest(http.MethodDelete, api+"/http/server_zones/front", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d, want 204", resp.StatusCode)
	}
	if front := read("/http/server_zones/front"); front.Requests != 0 || front.Responses.Total != 0 || front.Sent != 0 || front.Discarded != 0 {
		t.Errorf("front after DELETE: %+v", front)
	}
	if loc := read("/http/location_zones/loc"); loc.Requests == 0 {
		t.Errorf("loc after front's DELETE: %+v, want untouched", loc)
	}
	if code, body := get(t, client, api+"/http/server_zones/nope"); code != http.StatusNotFound || !strings.Contains(body, "ServerZoneNotFound") {
		t.Errorf("unknown zone: %d %s", code, body)
	}
}

// rawUntilClose sends req on a new connection to addr and returns all it
// reads until the server closes.
func rawUntilClose(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(c)
	return string(data)
}

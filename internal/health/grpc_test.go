package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// The answers a grpcHealthServer gives.
const (
	answerServing int32 = iota
	answerNotServing
	answerUnimplemented // grpc-status 12, as a server without the protocol
	answerNoStatus      // a 200 without grpc-status
)

// grpcHealthServer is a minimal gRPC health server whose answer the test
// flips; it knows the whole server ("") and the service "app.Greeter", and
// answers NOT_FOUND (grpc-status 5) for other services, as health.proto
// asks. It records the last call's :path, :authority, content-type and
// service. Its encodings are written out byte by byte, independently of
// the code under test.
type grpcHealthServer struct {
	answer atomic.Int32
	mu     sync.Mutex // guards the fields below
	path   string
	host   string
	ctype  string
	svc    string
	calls  int
}

func (g *grpcHealthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	svc := ""
	// 5-byte prefix, then 0x0a LEN service (LEN < 128 in these tests).
	if len(body) > 7 && body[5] == 0x0a {
		svc = string(body[7 : 7+int(body[6])])
	}
	g.mu.Lock()
	g.path, g.host, g.ctype, g.svc = r.URL.Path, r.Host, r.Header.Get("Content-Type"), svc
	g.calls++
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/grpc")
	answer := g.answer.Load()
	switch {
	case answer == answerUnimplemented || r.URL.Path != "/grpc.health.v1.Health/Check":
		w.Header().Set("Grpc-Status", "12") // Trailers-Only
		return
	case answer == answerNoStatus:
		return
	case svc != "" && svc != "app.Greeter":
		w.Header().Set("Grpc-Status", "5")
		return
	}
	w.Header().Set("Trailer", "Grpc-Status")
	status := byte(1) // SERVING
	if answer == answerNotServing {
		status = 2
	}
	w.Write([]byte{0, 0, 0, 0, 2, 0x08, status})
	w.Header().Set("Grpc-Status", "0")
}

func (g *grpcHealthServer) last() (path, host, ctype, svc string, calls int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.path, g.host, g.ctype, g.svc, g.calls
}

func newGRPCCheck(p *upstream.Pool, probe *GRPCProbe) *Check {
	c := newCheck(p)
	c.GRPC = probe
	c.Host = "grpc.backend:50051"
	return c
}

// TestGRPCProbe: the Check call and its verdicts.
func TestGRPCProbe(t *testing.T) {
	tests := []struct {
		name    string
		answer  int32
		probe   GRPCProbe
		wantErr string // "" passes
	}{
		{"serving", answerServing, GRPCProbe{}, ""},
		{"not serving", answerNotServing, GRPCProbe{}, "response does not match: status NOT_SERVING"},
		{"service known", answerServing, GRPCProbe{Service: "app.Greeter"}, ""},
		{"service unknown", answerServing, GRPCProbe{Service: "app.Other"}, "grpc-status 5"},
		{"unimplemented", answerUnimplemented, GRPCProbe{}, "grpc-status 12"},
		{"unimplemented, grpc_status=12", answerUnimplemented, GRPCProbe{Status: 12}, ""},
		{"serving, grpc_status=12", answerServing, GRPCProbe{Status: 12}, ""},
		{"not serving, grpc_status=12", answerNotServing, GRPCProbe{Status: 12}, "status NOT_SERVING"},
		{"grpc-status 5, grpc_status=12", answerServing, GRPCProbe{Service: "x", Status: 12}, "grpc-status 5"},
		{"no grpc-status", answerNoStatus, GRPCProbe{}, "no grpc-status"},
	}
	g := &grpcHealthServer{}
	p := newPool(t, testutil.H2CBackend(t, g))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.answer.Store(tt.answer)
			probe := tt.probe
			err := newGRPCCheck(p, &probe).Probe(context.Background(), p.Server(false, 0))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Probe = %v, want %q", err, tt.wantErr)
			}
			path, host, ctype, svc, _ := g.last()
			if path != "/grpc.health.v1.Health/Check" || host != "grpc.backend:50051" || ctype != "application/grpc" || svc != tt.probe.Service {
				t.Errorf("call %s host=%q content-type=%q service=%q", path, host, ctype, svc)
			}
		})
	}
}

// TestGRPCProbeDownAndSlow: a closed port and a server that never answers
// fail the check, the latter within ReadTimeout.
func TestGRPCProbeDownAndSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := testutil.H2CBackend(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	for _, addr := range []string{down, slow} {
		p := newPool(t, addr)
		c := newGRPCCheck(p, &GRPCProbe{})
		c.ReadTimeout = 200 * time.Millisecond
		start := time.Now()
		if err := c.Probe(context.Background(), p.Server(false, 0)); err == nil {
			t.Errorf("%s: check passed", addr)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: check took %v", addr, d)
		}
	}
}

// TestGRPCProbeTLS: grpcs:// servers are checked over TLS with ALPN h2.
func TestGRPCProbeTLS(t *testing.T) {
	g := &grpcHealthServer{}
	srv := httptest.NewUnstartedServer(g)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p := newPool(t, srv.Listener.Addr().String())
	c := newGRPCCheck(p, &GRPCProbe{})
	c.TLS = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}
	if err := c.Probe(context.Background(), p.Server(false, 0)); err != nil {
		t.Fatal(err)
	}
	g.answer.Store(answerNotServing)
	if err := c.Probe(context.Background(), p.Server(false, 0)); err == nil {
		t.Fatal("NOT_SERVING passed over TLS")
	}
}

// TestGRPCRunFlips: a running gRPC check takes a NOT_SERVING server out
// after fails= failures and brings it back after passes= passes.
func TestGRPCRunFlips(t *testing.T) {
	g := &grpcHealthServer{}
	p := newPool(t, testutil.H2CBackend(t, g))
	c := newGRPCCheck(p, &GRPCProbe{})
	c.Policy = upstream.CheckPolicy{Fails: 2, Passes: 1}
	p.AttachChecks(map[string]upstream.CheckPolicy{c.Key: c.Policy})
	s := p.Server(false, 0)
	ctx := context.Background()
	c.CheckOnce(ctx)
	g.answer.Store(answerNotServing)
	c.CheckOnce(ctx)
	if got, _ := s.Health(); got != upstream.HealthHealthy {
		t.Fatalf("after one failure: %v, want healthy (fails=2)", got)
	}
	c.CheckOnce(ctx)
	if got, _ := s.Health(); got != upstream.HealthUnhealthy {
		t.Fatalf("after two failures: %v, want unhealthy", got)
	}
	g.answer.Store(answerServing)
	c.CheckOnce(ctx)
	if got, _ := s.Health(); got != upstream.HealthHealthy {
		t.Fatalf("after a pass: %v, want healthy", got)
	}
}

// TestHealthCodec: the hand-written protobuf and gRPC framing.
func TestHealthCodec(t *testing.T) {
	if got := encodeHealthRequest(""); len(got) != 0 {
		t.Errorf("empty service encodes as % x", got)
	}
	if got, want := encodeHealthRequest("app.Greeter"), append([]byte{0x0a, 11}, "app.Greeter"...); !bytes.Equal(got, want) {
		t.Errorf("request % x, want % x", got, want)
	}
	long := strings.Repeat("s", 200) // a two-byte length varint
	if got := encodeHealthRequest(long); got[1] != 0xc8 || got[2] != 0x01 || len(got) != 203 {
		t.Errorf("long request header % x", got[:3])
	}
	if got := grpcFrame([]byte{8, 1}); !bytes.Equal(got, []byte{0, 0, 0, 0, 2, 8, 1}) {
		t.Errorf("frame % x", got)
	}
	tests := []struct {
		name string
		body []byte
		want uint64
		err  bool
	}{
		{"serving", []byte{0, 0, 0, 0, 2, 0x08, 1}, 1, false},
		{"not serving", []byte{0, 0, 0, 0, 2, 0x08, 2}, 2, false},
		{"empty message is UNKNOWN", []byte{0, 0, 0, 0, 0}, 0, false},
		{"unknown fields then status", []byte{0, 0, 0, 0, 23, 0x10, 0x96, 0x01, 0x1a, 2, 'h', 'i', 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4, 0x08, 1}, 1, false},
		{"last status wins", []byte{0, 0, 0, 0, 4, 0x08, 2, 0x08, 1}, 1, false},
		{"trailing bytes after the frame ignored", []byte{0, 0, 0, 0, 2, 0x08, 1, 9, 9}, 1, false},
		{"no frame", []byte{0, 0, 0}, 0, true},
		{"compressed", []byte{1, 0, 0, 0, 2, 0x08, 1}, 0, true},
		{"truncated frame", []byte{0, 0, 0, 0, 9, 0x08, 1}, 0, true},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff, 0x08, 1}, 0, true},
		{"status as a string", []byte{0, 0, 0, 0, 3, 0x0a, 1, 'x'}, 0, true},
		{"truncated varint", []byte{0, 0, 0, 0, 2, 0x08, 0x80}, 0, true},
		{"truncated string", []byte{0, 0, 0, 0, 3, 0x12, 5, 'x'}, 0, true},
		{"string length overflow", []byte{0, 0, 0, 0, 12, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'}, 0, true},
		{"group wire type", []byte{0, 0, 0, 0, 1, 0x13}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := parseGRPCFrame(tt.body)
			var st uint64
			if err == nil {
				st, err = decodeHealthStatus(msg)
			}
			if tt.err != (err != nil) || err == nil && st != tt.want {
				t.Fatalf("status %d, err %v; want %d, error %v", st, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrGRPCAnswer) {
				t.Errorf("error %v is not ErrGRPCAnswer", err)
			}
		})
	}
}

// FuzzDecodeHealth: the decoder never panics on any answer.
func FuzzDecodeHealth(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 0x08, 1})
	f.Add([]byte{0, 0, 0, 0, 4, 0x12, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, body []byte) {
		if msg, err := parseGRPCFrame(body); err == nil {
			_, _ = decodeHealthStatus(msg)
		}
	})
}

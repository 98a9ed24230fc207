package integration

import (
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"fulcrum/internal/testutil"
)

// The answers a grpcHealthBackend gives to grpc.health.v1.Health/Check.
const (
	hcServing int32 = iota
	hcNotServing
	hcUnimplemented // grpc-status 12: a server without the protocol
)

// grpcHealthBackend is an h2c gRPC server named name: it answers
// grpc.health.v1.Health/Check as its answer says (its message bytes
// written out by hand) and records the service asked about; every other
// call gets grpcNamed's message.
type grpcHealthBackend struct {
	addr   string
	answer atomic.Int32
	mu     sync.Mutex // guards service
	svc    string
}

func startGRPCHealthBackend(t *testing.T, name string, answer int32) *grpcHealthBackend {
	b := &grpcHealthBackend{}
	b.answer.Store(answer)
	b.addr = testutil.H2CBackend(t, b.handler(name))
	return b
}

// startGRPCSHealthBackend is startGRPCHealthBackend over TLS (ALPN h2),
// with httptest's certificate.
func startGRPCSHealthBackend(t *testing.T, name string, answer int32) *grpcHealthBackend {
	b := &grpcHealthBackend{}
	b.answer.Store(answer)
	s := httptest.NewUnstartedServer(b.handler(name))
	s.EnableHTTP2 = true
	s.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // checks cut short at the end
	s.StartTLS()
	t.Cleanup(s.Close)
	b.addr = s.Listener.Addr().String()
	return b
}

func (b *grpcHealthBackend) handler(name string) http.Handler {
	named := grpcNamed(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/grpc.health.v1.Health/Check" {
			named.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if len(body) > 7 && body[5] == 0x0a { // field 1, service (short)
			b.mu.Lock()
			b.svc = string(body[7 : 7+int(body[6])])
			b.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/grpc")
		switch b.answer.Load() {
		case hcUnimplemented:
			w.Header().Set("Grpc-Status", "12")
			return
		case hcNotServing:
			w.Header().Set("Trailer", "Grpc-Status")
			w.Write([]byte{0, 0, 0, 0, 2, 0x08, 2})
		default:
			w.Header().Set("Trailer", "Grpc-Status")
			w.Write([]byte{0, 0, 0, 0, 2, 0x08, 1})
		}
		w.Header().Set("Grpc-Status", "0")
	})
}

func (b *grpcHealthBackend) service() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.svc
}

// TestGRPCHealthCheck runs the binary with NGINX Plus's "health_check
// type=grpc": a server whose Check call answers NOT_SERVING is taken out
// (logged), calls go only to the other one, and it comes back once it
// serves again; the service of grpc_service= is asked about. With
// grpc_status=12, a server that does not implement the protocol
// (UNIMPLEMENTED) is healthy; without it, it is not used. grpcs:// servers
// are checked over TLS.
func TestGRPCHealthCheck(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startGRPCHealthBackend(t, "a", hcServing), startGRPCHealthBackend(t, "b", hcServing)
	plain12 := startGRPCHealthBackend(t, "c", hcUnimplemented)
	strict := startGRPCHealthBackend(t, "d", hcUnimplemented)
	tlsOK, tlsDown := startGRPCSHealthBackend(t, "e", hcServing), startGRPCSHealthBackend(t, "f", hcNotServing)
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s; server %s; }
    upstream legacy { zone legacy 64k; server %s; }
    upstream strict { zone strict 64k; server %s; }
    upstream secure { zone secure 64k; server %s; server %s; }
    server {
        listen 127.0.0.1:0 http2;
        location / {
            grpc_pass grpc://app;
            health_check interval=50ms fails=2 type=grpc grpc_service=app.Greeter;
        }
        location /legacy. {
            grpc_pass grpc://legacy;
            health_check interval=50ms mandatory type=grpc grpc_status=12;
        }
        location /strict. {
            grpc_pass grpc://strict;
            health_check interval=50ms mandatory type=grpc;
        }
        location /secure. {
            grpc_pass grpcs://secure;
            health_check interval=50ms mandatory type=grpc;
        }
    }
}
`, a.addr, b.addr, plain12.addr, strict.addr, tlsOK.addr, tlsDown.addr), 1)
	addr := in.listening()[0]
	from := func(path string) (int, string) {
		code, msg, _ := grpcUnary(t, addr, path)
		name, _, _ := strings.Cut(msg, ":")
		return code, name
	}
	inARow := func(n int, path, want string) {
		t.Helper()
		run := 0
		waitFor(t, fmt.Sprintf("%d answers in a row from %s", n, want), func() bool {
			if code, name := from(path); code == 200 && (name == want || want == "either") {
				run++
			} else {
				run = 0
			}
			return run >= n
		})
	}
	inARow(4, "/app.Greeter/Hello", "either")
	if a.service() != "app.Greeter" || b.service() != "app.Greeter" {
		t.Errorf("services asked about: %q, %q; want app.Greeter", a.service(), b.service())
	}
	a.answer.Store(hcNotServing)
	inARow(20, "/app.Greeter/Hello", "b")
	waitFor(t, "the unhealthy line", func() bool {
		return in.logged(`[warn]`) && in.logged(`upstream server `+a.addr+` in upstream "app" is unhealthy: response does not match: status NOT_SERVING`)
	})
	a.answer.Store(hcServing)
	waitFor(t, "a back", func() bool { _, name := from("/app.Greeter/Hello"); return name == "a" })

	if code, name := from("/legacy.Svc/Call"); code != 200 || name != "c" {
		t.Errorf("grpc_status=12, UNIMPLEMENTED server: %d from %q, want 200 from c", code, name)
	}
	waitFor(t, "the strict server found unhealthy", func() bool {
		return in.logged(`upstream server ` + strict.addr + ` in upstream "strict" is unhealthy: response does not match: grpc-status 12`)
	})
	if code, name := from("/strict.Svc/Call"); code == 200 {
		t.Errorf("UNIMPLEMENTED server without grpc_status=: 200 from %q, want no server", name)
	}

	// grpcs://: the check speaks TLS with ALPN h2 (else the answer would
	// not be read, and the line would say so).
	waitFor(t, "the NOT_SERVING grpcs server found unhealthy", func() bool {
		return in.logged(`upstream server ` + tlsDown.addr + ` in upstream "secure" is unhealthy: response does not match: status NOT_SERVING`)
	})
	inARow(10, "/secure.Svc/Call", "e")
}

// TestGRPCHealthCheckConfigTest: `fulcrum -t` accepts type=grpc where
// NGINX Plus does and refuses the rest with file, line and a fix.
func TestGRPCHealthCheckConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ name, pass, check, want string }{
		{"valid", "grpc_pass grpcs://g", "health_check mandatory type=grpc grpc_service=a.B grpc_status=12", ""},
		{"with proxy_pass", "proxy_pass http://g", "health_check type=grpc",
			`"health_check type=grpc" requires "grpc_pass" in the same location in %s:6`},
		{"without type=grpc", "grpc_pass grpc://g", "health_check",
			`"health_check" in a location with "grpc_pass" requires "type=grpc" in %s:6`},
		{"type=grpc not last", "grpc_pass grpc://g", "health_check type=grpc mandatory",
			`"mandatory" must come before "type=grpc" in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := fmt.Sprintf("events {}\nhttp {\nupstream g { zone g 64k; server 127.0.0.1:9; }\nserver { listen 127.0.0.1:0;\nlocation / { %s;\n%s; } } }\n", tt.pass, tt.check)
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			if tt.want == "" {
				if r.code != 0 {
					t.Errorf("exit %d, stderr %q", r.code, r.stderr)
				}
				return
			}
			want := "fulcrum: [emerg] " + fmt.Sprintf(tt.want, path)
			if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
}

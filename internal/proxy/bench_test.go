package proxy_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// BenchmarkHandler measures proxy.Handler.ServeHTTP alone: the upstream request
// rewrite (headers, target), the balancer pick, the round trip over a pooled
// loopback connection to an httptest backend, and copying the response to a
// ResponseWriter that discards the body. The daemon's server side (reading the
// client's request, routing) is not in it; internal/daemon's BenchmarkRequest
// has the whole path. "headers" adds eleven browser request headers, so the
// difference to "plain" is their cost through rewrite and the round trip.
func BenchmarkHandler(b *testing.B) {
	body := []byte("Hello, World!")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write(body)
	}))
	b.Cleanup(backend.Close)
	h := benchHandler(b, backend.Listener.Addr().String())
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"plain", nil},
		{"headers", testutil.BrowserHeaders()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in := httptest.NewRequest(http.MethodGet, "http://bench.example/small?q=1", nil)
			in.RemoteAddr = "127.0.0.1:40000"
			for k, v := range tc.headers {
				in.Header.Set(k, v)
			}
			// The fields in order, as the engine lists them (vars.State.Fields).
			fields := vars.HeaderList{}
			for _, k := range slices.Sorted(maps.Keys(tc.headers)) {
				fields = append(fields, vars.Field{Name: k, Value: tc.headers[k]})
			}
			w := &discardWriter{}
			st := &vars.State{}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				st.Reset()
				fillState(st, in)
				st.Fields = fields
				h.ServeHTTP(w, in, st)
				if w.status != http.StatusOK || w.n != len(body) {
					b.Fatalf("got %d with %d bytes, want 200 with %d", w.status, w.n, len(body))
				}
			}
		})
	}
}

// benchHandler builds the proxy handler of "location / { proxy_pass
// http://backends; }" with the upstream backends holding addr, from a real
// configuration file, as the daemon does.
func benchHandler(b *testing.B, addr string) *proxy.Handler {
	b.Helper()
	return handlerWithClock(b, addr, nil)
}

// handlerWithClock is benchHandler's handler with the clock now (nil:
// time.Now).
func handlerWithClock(b testing.TB, addr string, now func() time.Time) *proxy.Handler {
	b.Helper()
	dir := b.TempDir()
	conf := `events {}
http {
    upstream backends { server ` + addr + `; keepalive 64; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://backends; }
    }
}
`
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")})
	if err != nil {
		b.Fatal(err)
	}
	u := cfg.HTTP.Upstreams[0]
	settings := make([]upstream.Settings, 0, len(u.Servers))
	for _, s := range u.Servers {
		settings = append(settings, upstream.NewSettings(s.Network, s.Addr))
	}
	pool, err := upstream.NewRegistry().Pool(u.Name, settings)
	if err != nil {
		b.Fatal(err)
	}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: filepath.Join(dir, "error.log"), Level: errlog.Warn}}})
	if err != nil {
		b.Fatal(err)
	}
	transports := proxy.NewTransports()
	b.Cleanup(transports.CloseIdle)
	h, err := proxy.New(proxy.Options{
		Location: cfg.HTTP.Servers[0].Locations[0],
		Target: proxy.Target{
			Pool:      pool,
			Policy:    &balancer.RoundRobin{},
			Transport: transports.For(u.Name, proxy.PoolOptions{Keepalive: u.Keepalive, KeepaliveTimeout: u.KeepaliveTimeout}),
		},
		Compiler: &vars.Compiler{},
		Log:      log,
		Server:   "fulcrum",
		Now:      now,
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// fillState fills the request view as the daemon does for this request.
func fillState(st *vars.State, r *http.Request) {
	st.Method = r.Method
	st.RequestURI = r.RequestURI
	st.Path, st.Args, _ = strings.Cut(r.RequestURI, "?")
	st.Host = r.Host
	st.Scheme = "http"
	st.Proto = r.Proto
	st.Header = vars.HeaderMap(r.Header)
	st.Remote = netip.MustParseAddrPort(r.RemoteAddr)
	st.Local = netip.MustParseAddrPort("127.0.0.1:80")
	st.ServerName = ""
	st.ProxyHost, st.ProxyPort = "backends", "80"
}

// discardWriter is the client side of BenchmarkHandler: it keeps the status and
// counts the body bytes.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

func (w *discardWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// Flush lets ReverseProxy flush without effect.
func (w *discardWriter) Flush() {}

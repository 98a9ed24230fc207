package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
)

// quietLog is an error log that keeps only errors, in a buffer.
func quietLog(t *testing.T) *errlog.Logger {
	t.Helper()
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Error}}, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// h2Pair makes a TLS connection over loopback whose ALPN chose h2 and
// returns its server end (handshaken) and its client end.
func h2Pair(t *testing.T) (server, client *tls.Conn) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.test")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() != nil {
			tc.Close()
			accepted <- nil
			return
		}
		_ = tc.SetDeadline(time.Time{})
		accepted <- tc
	}()
	client, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server = <-accepted
	if server == nil || server.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatal("no h2 connection")
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// TestH2ServerSettings serves a connection with the server newH2Server
// makes for a server's settings, and reads the SETTINGS frame it sends:
// http2_max_concurrent_streams (0: one, as fulcrum approximates nginx's
// refusal), http2_body_preread_size as the stream window,
// large_client_header_buffers (twice) as the header list bound.
func TestH2ServerSettings(t *testing.T) {
	tests := []struct {
		name string
		set  config.Settings
		want map[http2.SettingID]uint32
	}{
		{"streams and preread", config.Settings{
			HTTP2Settings:            config.HTTP2Settings{MaxConcurrentStreams: 7, BodyPrereadSize: 32 << 10},
			LargeClientHeaderBuffers: config.BufferSpec{Number: 4, Size: 1 << 10},
		}, map[http2.SettingID]uint32{
			http2.SettingMaxConcurrentStreams: 7,
			http2.SettingInitialWindowSize:    32 << 10,
			http2.SettingMaxHeaderListSize:    2*4<<10 + 320,
		}},
		{"no streams", config.Settings{
			HTTP2Settings: config.HTTP2Settings{MaxConcurrentStreams: 0, BodyPrereadSize: 64 << 10},
		}, map[http2.SettingID]uint32{
			http2.SettingMaxConcurrentStreams: 1,
			http2.SettingInitialWindowSize:    64 << 10,
			http2.SettingMaxHeaderListSize:    2*http.DefaultMaxHeaderBytes + 320,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newH2Server(h2KeyFor(&tt.set), h2ErrorLog(logOf(quietLog(t))))
			if err != nil {
				t.Fatal(err)
			}
			sc, cc := h2Pair(t)
			go s.serveConn(s.hs, sc, http.NotFoundHandler())
			if _, err := io.WriteString(cc, http2.ClientPreface); err != nil {
				t.Fatal(err)
			}
			fr := http2.NewFramer(cc, cc)
			_ = fr.WriteSettings()
			_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			sf, ok := f.(*http2.SettingsFrame)
			if !ok || sf.IsAck() {
				t.Fatalf("first frame %v, want SETTINGS", f)
			}
			for id, want := range tt.want {
				if got, ok := sf.Value(id); !ok || got != want {
					t.Errorf("%v = %d (sent %v), want %d", id, got, ok, want)
				}
			}
		})
	}
}

// ctxHandler answers with a value of the context its BaseContext gives,
// as h2Conn gives the connection's context to its streams.
type ctxHandler struct{ ctx context.Context }

type ctxKey struct{}

func (h ctxHandler) BaseContext() context.Context { return h.ctx }

func (h ctxHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, _ := r.Context().Value(ctxKey{}).(string)
	io.WriteString(w, v)
}

// TestH2ServerBaseContext checks that a stream's context derives from
// the handler's BaseContext (h2Conn's: cc.ctx), the contract between
// net/http's HTTP/2 server and TLSNextProto's callers that serveH2 relies
// on, and that shutdown sends GOAWAY to the servers' connections.
func TestH2ServerBaseContext(t *testing.T) {
	t.Parallel() // its own server and connection pair; the wait is its shutdown
	hs := newH2Servers(logOf(quietLog(t)))
	s := hs.server(&config.Settings{})
	if s == nil || hs.server(&config.Settings{}) != s {
		t.Fatal("no server, or a second one for the same settings")
	}
	sc, cc := h2Pair(t)
	ctx := context.WithValue(context.Background(), ctxKey{}, "the connection's")
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.serveConn(s.hs, sc, ctxHandler{ctx})
	}()
	tr := &http.Transport{
		ForceAttemptHTTP2: true,
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return cc, nil
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://a.test/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "the connection's" {
		t.Errorf("%s %q, want HTTP/2 and the base context's value", resp.Proto, body)
	}
	hs.shutdown() // GOAWAY: the idle connection ends
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection outlived shutdown")
	}
}

// TestH2ServerIdleTimeout checks keepalive_timeout on an HTTP/2
// connection idle after a stream: GOAWAY (NO_ERROR, last stream 1) once it
// has been idle that long, then the connection closes. nginx 1.22.1
// (keepalive_timeout 300ms, a raw HTTP/2 client: one GET, then nothing)
// sends the same GOAWAY after 300 ms and closes at once; Go's server
// waits up to a second for the client to close first.
func TestH2ServerIdleTimeout(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	const idle = 300 * time.Millisecond
	s, err := newH2Server(h2KeyFor(&config.Settings{KeepaliveTimeout: idle}), h2ErrorLog(logOf(quietLog(t))))
	if err != nil {
		t.Fatal(err)
	}
	sc, cc := h2Pair(t)
	go s.serveConn(s.hs, sc, http.NotFoundHandler())
	if _, err := io.WriteString(cc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(cc, cc)
	_ = fr.WriteSettings()
	var head bytes.Buffer
	enc := hpack.NewEncoder(&head)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: head.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var answered time.Time
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				answered = time.Now()
			}
		case *http2.GoAwayFrame:
			if answered.IsZero() {
				t.Fatal("GOAWAY before the response")
			}
			if took := time.Since(answered); took < idle-50*time.Millisecond {
				t.Errorf("GOAWAY after %v idle, before keepalive_timeout %v", took, idle)
			}
			if f.ErrCode != http2.ErrCodeNo || f.LastStreamID != 1 {
				t.Errorf("GOAWAY %v, last stream %d; want NO_ERROR, 1", f.ErrCode, f.LastStreamID)
			}
			for {
				if _, err := fr.ReadFrame(); err != nil {
					if err != io.EOF {
						t.Errorf("after GOAWAY: %v, want EOF", err)
					}
					return
				}
			}
		}
	}
}

// logOf returns a function that returns l, for the constructors that take
// the log in force.
func logOf(l *errlog.Logger) func() *errlog.Logger { return func() *errlog.Logger { return l } }

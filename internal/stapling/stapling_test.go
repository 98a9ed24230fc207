package stapling_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"fulcrum/internal/stapling"
	"fulcrum/internal/testutil"
)

// responder is a local OCSP responder: it answers GET /<base64 request>
// with a response for the asked serial, made by sign from its template.
type responder struct {
	srv   *httptest.Server
	hits  atomic.Int32
	mu    sync.Mutex // guards tmpl and signer
	tmpl  ocsp.Response
	ca    *testutil.CA // the issuer
	by    *testutil.CA // who signs (the issuer, or an impostor)
	bytes []byte       // a fixed answer instead, when set
}

func newResponder(t *testing.T, ca *testutil.CA) *responder {
	r := &responder{ca: ca, by: ca, tmpl: ocsp.Response{Status: ocsp.Good}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		raw, err := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/"))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		der, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		q, err := ocsp.ParseRequest(der)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.bytes != nil {
			w.Write(r.bytes)
			return
		}
		tmpl := r.tmpl
		tmpl.SerialNumber = q.SerialNumber
		resp, err := ocsp.CreateResponse(r.ca.Cert, r.by.Cert, tmpl, r.by.Key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *responder) set(f func(*responder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// site is a certificate that ca issued and the pair that serves it.
func site(t *testing.T, ca *testutil.CA) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "a.test"}, DNSNames: []string{"a.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, pair.Leaf
}

var asks = &tls.ClientHelloInfo{Extensions: []uint16{0, 5, 10}}

func stapleStatus(t *testing.T, c *tls.Certificate, leaf, issuer *x509.Certificate) int {
	t.Helper()
	if c.OCSPStaple == nil {
		return -1
	}
	r, err := ocsp.ParseResponseForCert(c.OCSPStaple, leaf, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// TestRefresh runs one fetch against a local responder for each outcome
// nginx distinguishes, and checks what is stapled and logged.
func TestRefresh(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	impostor := testutil.NewCA(t, "CA")
	now := time.Now()
	tests := []struct {
		name    string
		verify  bool
		setup   func(*responder)
		stapled bool
		log     string
	}{
		{"good", true, func(r *responder) {
			r.tmpl.ThisUpdate, r.tmpl.NextUpdate = now.Add(-time.Minute), now.Add(time.Hour)
		}, true, ""},
		{"good, no nextUpdate", true, func(r *responder) { r.tmpl.ThisUpdate = now }, true, ""},
		{"revoked", true, func(r *responder) {
			r.tmpl.Status, r.tmpl.RevokedAt, r.tmpl.ThisUpdate = ocsp.Revoked, now.Add(-time.Hour), now
		}, false, `certificate status "revoked" in the OCSP response while requesting certificate status, responder: 127.0.0.1, peer: 127.0.0.1:`},
		{"unknown", true, func(r *responder) { r.tmpl.Status, r.tmpl.ThisUpdate = ocsp.Unknown, now },
			false, `certificate status "unknown" in the OCSP response`},
		{"signed by another key, verify on", true, func(r *responder) { r.by, r.tmpl.ThisUpdate = impostor, now },
			false, "OCSP_basic_verify() failed"},
		{"signed by another key, its certificate included", true, func(r *responder) {
			r.by, r.tmpl.Certificate, r.tmpl.ThisUpdate = impostor, impostor.Cert, now
		}, false, "OCSP_basic_verify() failed"},
		{"signed by another key, verify off", false, func(r *responder) { r.by, r.tmpl.ThisUpdate = impostor, now }, true, ""},
		{"out of date", true, func(r *responder) {
			r.tmpl.ThisUpdate, r.tmpl.NextUpdate = now.Add(-2*time.Hour), now.Add(-time.Hour)
		}, false, "OCSP_check_validity() failed"},
		{"from the future", true, func(r *responder) { r.tmpl.ThisUpdate = now.Add(time.Hour) }, false, "OCSP_check_validity() failed"},
		{"error status", true, func(r *responder) { r.bytes = ocsp.TryLaterErrorResponse }, false, "OCSP response not successful (3: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResponder(t, ca)
			r.set(tt.setup)
			pair, leaf := site(t, ca)
			var logged []string
			s := stapling.New(pair, stapling.Options{Leaf: leaf, Issuer: ca.Cert, Responder: r.srv.URL + "/", Verify: tt.verify,
				Name: "/etc/site.pem", Log: func(m string) { logged = append(logged, m) }})
			err := s.Refresh(context.Background(), now)
			if (err == nil) != tt.stapled {
				t.Fatalf("Refresh: %v", err)
			}
			got := s.Certificate(&tls.ClientHelloInfo{}, now) // no status_request: nothing started
			if (got.OCSPStaple != nil) != tt.stapled {
				t.Errorf("stapled %t, want %t", got.OCSPStaple != nil, tt.stapled)
			}
			issuer := ca.Cert
			if r.tmpl.Certificate != nil {
				issuer = nil // x/crypto/ocsp would want the issuer to have signed its own certificate
			}
			if tt.stapled && tt.verify && stapleStatus(t, got, leaf, issuer) != ocsp.Good {
				t.Errorf("staple is not good")
			}
			if tt.log == "" && len(logged) > 0 || tt.log != "" && (len(logged) != 1 || !strings.Contains(logged[0], tt.log) ||
				!strings.HasSuffix(logged[0], `certificate: "/etc/site.pem"`)) {
				t.Errorf("logged %q, want %q", logged, tt.log)
			}
			if n := r.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestIssuerCertificateInResponse: openssl ocsp -rsigner ISSUER puts the
// issuer's own certificate in the response. OpenSSL's OCSP_basic_verify
// takes the response as signed by the issuer, so nginx 1.22.1 staples it and
// accepts it for ssl_ocsp (nginx-tests' ssl_ocsp.t, whose issuer is an
// intermediate); x/crypto/ocsp wants the issuer to have signed the included
// certificate, which only a self-signed issuer did.
func TestIssuerCertificateInResponse(t *testing.T) {
	root := testutil.NewCA(t, "Root")
	ca := root.Intermediate(t, "Int")
	now := time.Now()
	r := newResponder(t, ca)
	r.set(func(r *responder) { r.tmpl.Certificate, r.tmpl.ThisUpdate = ca.Cert, now })
	pair, leaf := site(t, ca)
	var logged []string
	s := stapling.New(pair, stapling.Options{Leaf: leaf, Issuer: ca.Cert, Responder: r.srv.URL + "/", Verify: true,
		Name: "/etc/site.pem", Log: func(m string) { logged = append(logged, m) }})
	if err := s.Refresh(context.Background(), now); err != nil {
		t.Fatalf("Refresh: %v (logged %q)", err, logged)
	}
	if got := s.Certificate(&tls.ClientHelloInfo{}, now); got.OCSPStaple == nil || stapleStatus(t, got, leaf, nil) != ocsp.Good {
		t.Errorf("no good staple")
	}
}

// TestHandshakeNeverWaits: the first handshake that asks for the status
// gets none and starts the fetch; the staple comes with a later one, as in
// nginx. A handshake that does not ask starts nothing.
func TestHandshakeNeverWaits(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	r := newResponder(t, ca)
	release := make(chan struct{})
	inner := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		<-release // the responder is slow until the first handshake is over
		inner.ServeHTTP(w, req)
	})
	r.set(func(r *responder) { r.tmpl.ThisUpdate, r.tmpl.NextUpdate = time.Now(), time.Now().Add(time.Hour) })
	pair, leaf := site(t, ca)
	s := stapling.New(pair, stapling.Options{Leaf: leaf, Issuer: ca.Cert, Responder: r.srv.URL, Verify: true})
	if c := s.Certificate(&tls.ClientHelloInfo{}, time.Now()); c.OCSPStaple != nil || r.hits.Load() != 0 {
		t.Fatalf("a hello without status_request: staple %t, %d requests", c.OCSPStaple != nil, r.hits.Load())
	}
	if c := s.Certificate(asks, time.Now()); c.OCSPStaple != nil {
		t.Fatal("the first handshake got a staple")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for s.Certificate(asks, time.Now()).OCSPStaple == nil {
		if time.Now().After(deadline) {
			t.Fatal("no staple after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := r.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (one fetch at a time, then not due)", n)
	}
}

// TestSchedule: nginx's refresh times, and a staple kept through a failed
// fetch until its nextUpdate, then dropped.
func TestSchedule(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	r := newResponder(t, ca)
	t0 := time.Now()
	r.set(func(r *responder) { r.tmpl.ThisUpdate, r.tmpl.NextUpdate = t0, t0.Add(3*time.Hour) })
	pair, leaf := site(t, ca)
	s := stapling.New(pair, stapling.Options{Leaf: leaf, Issuer: ca.Cert, Responder: r.srv.URL, Verify: true})
	if err := s.Refresh(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	// Not due before an hour: no request.
	s.Certificate(asks, t0.Add(59*time.Minute))
	if n := r.hits.Load(); n != 1 {
		t.Fatalf("%d requests before the hour", n)
	}
	// The responder now fails; the old staple stays until nextUpdate.
	r.set(func(r *responder) { r.bytes = ocsp.InternalErrorErrorResponse })
	if err := s.Refresh(context.Background(), t0.Add(2*time.Hour)); err == nil {
		t.Fatal("want an error")
	}
	if c := s.Certificate(&tls.ClientHelloInfo{}, t0.Add(2*time.Hour)); c.OCSPStaple == nil {
		t.Error("the valid staple was dropped after a failed fetch")
	}
	if c := s.Certificate(asks, t0.Add(3*time.Hour+time.Minute)); c.OCSPStaple != nil {
		t.Error("a staple past its nextUpdate was sent")
	}
}

// TestFile: ssl_stapling_file's response is stapled as it is, always.
func TestFile(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	pair, _ := site(t, ca)
	s := stapling.NewFile(pair, []byte("DER"))
	for _, h := range []*tls.ClientHelloInfo{asks, {}} {
		if c := s.Certificate(h, time.Now().Add(100*24*time.Hour)); string(c.OCSPStaple) != "DER" {
			t.Errorf("staple %q", c.OCSPStaple)
		}
	}
}

// TestResponderDown: a refused connection is logged in nginx's words.
func TestResponderDown(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	r := newResponder(t, ca)
	url := r.srv.URL
	r.srv.Close()
	pair, leaf := site(t, ca)
	var logged string
	s := stapling.New(pair, stapling.Options{Leaf: leaf, Issuer: ca.Cert, Responder: url, Name: "c.pem", Log: func(m string) { logged = m }})
	if err := s.Refresh(context.Background(), time.Now()); err == nil {
		t.Fatal("want an error")
	}
	if !strings.HasPrefix(logged, "connect() failed (111: Connection refused) while requesting certificate status, responder: 127.0.0.1, peer: 127.0.0.1:") {
		t.Errorf("logged %q", logged)
	}
}

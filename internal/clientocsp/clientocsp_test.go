package clientocsp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"fulcrum/internal/clientocsp"
	"fulcrum/internal/testutil"
)

// chain is a client's verified chain: its certificate, an intermediate,
// the root.
func chain(t *testing.T, root, inter *testutil.CA, aia string) []*x509.Certificate {
	t.Helper()
	certPEM, keyPEM := inter.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "client"}, OCSPServer: []string{aia}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{pair.Leaf, inter.Cert, root.Cert}
}

type logs struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (l *logs) add(m string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, m)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestCheck asks a real responder about a chain for each answer nginx
// tells apart, with ssl_ocsp on (the client's certificate and the
// intermediate) and leaf (the client's only).
func TestCheck(t *testing.T) {
	root := testutil.NewCA(t, "Root")
	inter := root.Intermediate(t, "Intermediate")
	r := testutil.StartOCSPResponder(t, root, inter)
	good := chain(t, root, inter, r.URL)
	elsewhere := chain(t, root, inter, testutil.UnreachableURL(t)) // its AIA names no responder that answers
	tests := []struct {
		name         string
		elsewhere    bool
		leaf         bool
		responder    string // ssl_ocsp_responder
		client, ca   int    // the statuses of the client's and the intermediate's
		want, logged string
	}{
		{"good, leaf", false, true, "", ocsp.Good, ocsp.Good, "", ""},
		{"good, on", false, false, r.URL, ocsp.Good, ocsp.Good, "", ""},
		{"revoked", false, true, "", ocsp.Revoked, ocsp.Good, clientocsp.Revoked, ""},
		{"unknown", false, true, "", ocsp.Unknown, ocsp.Good, clientocsp.Unknown, ""},
		{"intermediate revoked, on", false, false, r.URL, ocsp.Good, ocsp.Revoked, clientocsp.Revoked, ""},
		{"intermediate revoked, leaf", false, true, r.URL, ocsp.Good, ocsp.Revoked, "", ""},
		// The intermediate names no responder: "on" fails where "leaf" passes.
		{"intermediate without a responder, on", false, false, "", ocsp.Good, ocsp.Good, clientocsp.Failed, "no OCSP responder URL in certificate"},
		{"unreachable", false, false, testutil.UnreachableURL(t), ocsp.Good, ocsp.Good, clientocsp.Failed,
			"connect() failed (111: Connection refused) while requesting certificate status, responder: 127.0.0.1, peer: 127.0.0.1:"},
		{"timed out", false, true, testutil.SilentURL(t), ocsp.Good, ocsp.Good, clientocsp.Failed,
			"OCSP responder timed out (110: Connection timed out) while requesting certificate status, responder: 127.0.0.1"},
		{"ssl_ocsp_responder over the certificate's", true, true, r.URL, ocsp.Revoked, ocsp.Good, clientocsp.Revoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			if tt.elsewhere {
				c = elsewhere
			}
			r.SetStatus(c[0].SerialNumber, tt.client)
			r.SetStatus(inter.Cert.SerialNumber, tt.ca)
			var l logs
			ch := clientocsp.New(clientocsp.Options{Leaf: tt.leaf, Responder: tt.responder, Timeout: 300 * time.Millisecond, Log: l.add})
			if got := ch.Check(context.Background(), c, time.Now()); got != tt.want {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
			if got := l.String(); tt.logged == "" && got != "" || !strings.Contains(got, tt.logged) {
				t.Errorf("logged %q, want %q", got, tt.logged)
			}
		})
	}
}

// TestNoResponder: a certificate without an OCSP URL (and no
// ssl_ocsp_responder) fails the check with nginx's line.
func TestNoResponder(t *testing.T) {
	root := testutil.NewCA(t, "Root")
	certPEM, keyPEM := root.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "client"}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var l logs
	ch := clientocsp.New(clientocsp.Options{Log: l.add})
	if got := ch.Check(context.Background(), []*x509.Certificate{pair.Leaf, root.Cert}, time.Now()); got != clientocsp.Failed {
		t.Errorf("Check = %q", got)
	}
	if got := l.String(); got != "no OCSP responder URL in certificate" {
		t.Errorf("logged %q", got)
	}
}

// TestCache: with a cache the responder is asked once while the answer's
// nextUpdate (an hour without one) has not passed, a revoked answer
// included; without, every check asks; a zone of 32k keeps 128 answers.
func TestCache(t *testing.T) {
	root := testutil.NewCA(t, "Root")
	inter := root.Intermediate(t, "Intermediate")
	r := testutil.StartOCSPResponder(t, root, inter)
	tests := []struct {
		name       string
		cache      bool
		nextUpdate time.Duration
		status     int
		later      time.Duration // the third check's clock
		hits       int           // questions about the client's certificate after three checks
	}{
		{"no cache", false, time.Hour, ocsp.Good, 0, 3},
		{"cached", true, time.Hour, ocsp.Good, 30 * time.Minute, 1},
		{"revoked cached", true, time.Hour, ocsp.Revoked, 30 * time.Minute, 1},
		{"past nextUpdate", true, 10 * time.Minute, ocsp.Good, 11 * time.Minute, 2},
		{"no nextUpdate, an hour", true, 0, ocsp.Good, 59 * time.Minute, 1},
		{"no nextUpdate, past the hour", true, 0, ocsp.Good, 61 * time.Minute, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain(t, root, inter, r.URL)
			r.SetStatus(c[0].SerialNumber, tt.status)
			r.SetNextUpdate(tt.nextUpdate)
			opts := clientocsp.Options{Leaf: true}
			if tt.cache {
				opts.Cache = clientocsp.NewCache(1 << 20)
			}
			ch := clientocsp.New(opts)
			now := time.Now()
			want := map[int]string{ocsp.Good: "", ocsp.Revoked: clientocsp.Revoked}[tt.status]
			for i, at := range []time.Time{now, now.Add(time.Second), now.Add(tt.later)} {
				if got := ch.Check(context.Background(), c, at); got != want {
					t.Errorf("check %d: %q, want %q", i, got, want)
				}
			}
			if got := r.Hits(c[0].SerialNumber); got != tt.hits {
				t.Errorf("the responder was asked %d times, want %d", got, tt.hits)
			}
		})
	}
	small := clientocsp.NewCache(32 << 10)
	ch := clientocsp.New(clientocsp.Options{Leaf: true, Cache: small})
	for range 130 {
		ch.Check(context.Background(), chain(t, root, inter, r.URL), time.Now())
	}
	if n := small.Len(); n != 128 {
		t.Errorf("a 32k cache holds %d answers, want 128", n)
	}
}

package testutil

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPResponder is a real OCSP responder on 127.0.0.1 for tests: it
// answers nginx's GET /<base64 request> about certificates that its CAs
// issued, signed by the issuing CA, "good" unless SetStatus said
// otherwise, valid from now until NextUpdate from now. It counts the
// questions about each serial.
type OCSPResponder struct {
	// URL is the responder's address, http://127.0.0.1:port/.
	URL string
	cas []*CA
	mu  sync.Mutex // guards status, hits, nextUpdate
	// status is the answer for a serial (its decimal string).
	status     map[string]int
	hits       map[string]int
	nextUpdate time.Duration
}

// StartOCSPResponder runs a responder for the certificates cas issued,
// stopped when the test ends.
func StartOCSPResponder(t testing.TB, cas ...*CA) *OCSPResponder {
	t.Helper()
	r := &OCSPResponder{cas: cas, status: map[string]int{}, hits: map[string]int{}, nextUpdate: time.Hour}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/"
	return r
}

// SetStatus makes the responder answer status (ocsp.Good, ocsp.Revoked,
// ocsp.Unknown) about serial.
func (r *OCSPResponder) SetStatus(serial *big.Int, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[serial.String()] = status
}

// SetNextUpdate sets how far from now the answers' nextUpdate is; 0
// leaves it out.
func (r *OCSPResponder) SetNextUpdate(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextUpdate = d
}

// Hits is how many questions about serial the responder answered.
func (r *OCSPResponder) Hits(serial *big.Int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[serial.String()]
}

func (r *OCSPResponder) serve(w http.ResponseWriter, req *http.Request) {
	raw, err := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q, err := ocsp.ParseRequest(der)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ca := r.issuer(q)
	if ca == nil {
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(ocsp.UnauthorizedErrorResponse)
		return
	}
	r.mu.Lock()
	r.hits[q.SerialNumber.String()]++
	status, ok := r.status[q.SerialNumber.String()]
	if !ok {
		status = ocsp.Good
	}
	next := r.nextUpdate
	r.mu.Unlock()
	now := time.Now()
	tmpl := ocsp.Response{Status: status, SerialNumber: q.SerialNumber, ThisUpdate: now.Add(-time.Minute)}
	if next > 0 {
		tmpl.NextUpdate = now.Add(next)
	}
	if status == ocsp.Revoked {
		tmpl.RevokedAt, tmpl.RevocationReason = now.Add(-time.Minute), ocsp.KeyCompromise
	}
	resp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}

// issuer is the CA whose name the request's hash names.
func (r *OCSPResponder) issuer(q *ocsp.Request) *CA {
	for _, ca := range r.cas {
		h := q.HashAlgorithm.New()
		h.Write(ca.Cert.RawSubject)
		if bytes.Equal(h.Sum(nil), q.IssuerNameHash) {
			return ca
		}
	}
	return nil
}

// UnreachableURL is an http:// URL on 127.0.0.1 where nothing listens: a
// port that was free a moment ago.
func UnreachableURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// SilentURL is an http:// URL on 127.0.0.1 whose server accepts connections
// and never answers: a responder that hangs.
func SilentURL(t testing.TB) string {
	t.Helper()
	return "http://" + RawBackend(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) + "/"
}

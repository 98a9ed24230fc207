// Package stapling keeps the OCSP response a server staples to its
// certificate in the TLS handshake, the way nginx's ssl_stapling does: a
// response from a file (ssl_stapling_file) is stapled as it is; otherwise
// the first handshake that asks for the status starts a fetch from the OCSP
// responder and goes on without a staple (a handshake never waits for the
// responder), later handshakes get the response while it is valid, and it
// is fetched again an hour later, five minutes before its nextUpdate, or
// five minutes after a failure, whichever nginx's rule says
// (ngx_ssl_stapling_ocsp_handler). Ask, its request to a responder and its
// checks of the answer, also serves ssl_ocsp's checks of client
// certificates (internal/clientocsp).
package stapling

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ocsp"
)

// nginx's intervals: a response is fetched again an hour after the last,
// or five minutes before its nextUpdate, but not sooner than five minutes;
// after a failure, five minutes later. Responses are accepted five minutes
// around their dates (OCSP_check_validity's leeway).
const (
	refreshMax = time.Hour
	refreshMin = 5 * time.Minute
	leeway     = 5 * time.Minute
)

// Options configure a Stapler that fetches responses.
type Options struct {
	// Leaf is the certificate and Issuer its issuer.
	Leaf, Issuer *x509.Certificate
	// Responder is the OCSP responder's http:// URL.
	Responder string
	// Verify is ssl_stapling_verify: the response's signature must be the
	// issuer's or a responder's that the issuer delegated to. Off, the
	// signature is not checked (nginx's OCSP_NOVERIFY).
	Verify bool
	// Timeout bounds one fetch (nginx uses resolver_timeout, 30s by
	// default).
	Timeout time.Duration
	// Client makes the requests; nil means a client of its own.
	Client *http.Client
	// Log receives one line per failed fetch, in nginx's words with its
	// context (" while requesting certificate status, responder: ...,
	// peer: ..., certificate: ..."); nil logs nothing.
	Log func(msg string)
	// Name is the certificate file, for log lines.
	Name string
}

// Stapler staples one certificate. It is safe for concurrent use; the
// handshakes read it without locks.
type Stapler struct {
	opts Options
	base tls.Certificate
	// cur is base with the current staple (nil: none).
	cur atomic.Pointer[tls.Certificate]
	// fetching is set while a fetch runs, so that one runs at a time.
	fetching atomic.Bool
	mu       sync.Mutex // guards refresh and valid
	refresh  time.Time  // the next fetch is due then (zero: now)
	valid    time.Time  // the staple is sent until then
}

// NewFile returns a Stapler that staples response, ssl_stapling_file's,
// to pair in every handshake that asks for the status.
func NewFile(pair tls.Certificate, response []byte) *Stapler {
	s := &Stapler{base: pair}
	c := pair
	c.OCSPStaple = response
	s.cur.Store(&c)
	return s
}

// New returns a Stapler that fetches pair's responses as opts say. Nothing
// is fetched until a handshake asks (Certificate) or Refresh is called.
func New(pair tls.Certificate, opts Options) *Stapler {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	s := &Stapler{opts: opts, base: pair}
	s.cur.Store(&s.base)
	return s
}

// Certificate returns the certificate for a handshake at now: with the
// staple while it is valid. When the client asked for the status (the
// status_request extension) and a fetch is due, it starts one in the
// background; this handshake does not wait for it.
func (s *Stapler) Certificate(hello *tls.ClientHelloInfo, now time.Time) *tls.Certificate {
	if s.opts.Responder == "" { // a file's response
		return s.cur.Load()
	}
	if asksStatus(hello) {
		s.mu.Lock()
		due := !now.Before(s.refresh)
		if !s.valid.IsZero() && now.After(s.valid) {
			s.cur.Store(&s.base) // under mu, so that a Refresh's newer staple stays
			s.valid = time.Time{}
		}
		s.mu.Unlock()
		// This handshake's certificate is taken before the fetch starts,
		// so that it never carries what the fetch brings (a thread
		// descheduled here would otherwise see it, at random).
		cur := s.cur.Load()
		if due && s.fetching.CompareAndSwap(false, true) {
			// A fetch that ended between the check above and the swap
			// has moved the refresh time (under mu, before it let go of
			// fetching): ask again, or a second fetch would follow it.
			s.mu.Lock()
			due = !now.Before(s.refresh)
			s.mu.Unlock()
			if !due {
				s.fetching.Store(false)
				return cur
			}
			go func() {
				defer s.fetching.Store(false)
				ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
				defer cancel()
				_ = s.Refresh(ctx, time.Now()) // logged by Refresh
			}()
		}
		return cur
	}
	return s.cur.Load()
}

// asksStatus reports whether a ClientHello has the status_request
// extension (RFC 6066, number 5).
func asksStatus(hello *tls.ClientHelloInfo) bool {
	if hello == nil {
		return false
	}
	for _, e := range hello.Extensions {
		if e == 5 {
			return true
		}
	}
	return false
}

// Refresh fetches a response now and, when it is good and valid, staples it
// until its nextUpdate. The next fetch is due as nginx sets it. It is the
// synchronous step that handshakes start in the background; tests call it
// directly.
func (s *Stapler) Refresh(ctx context.Context, now time.Time) error {
	der, resp, err := s.fetch(ctx, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.refresh = now.Add(refreshMin)
		if s.opts.Log != nil {
			s.opts.Log(err.Error() + s.context())
		}
		return err
	}
	s.valid = resp.NextUpdate // zero: valid until replaced
	s.refresh = nextRefresh(now, resp.NextUpdate)
	c := s.base
	c.OCSPStaple = der
	s.cur.Store(&c)
	return nil
}

// nextRefresh is nginx's: an hour from now, or five minutes before
// nextUpdate if that is sooner, but never sooner than five minutes.
func nextRefresh(now, nextUpdate time.Time) time.Time {
	r := now.Add(refreshMax)
	if !nextUpdate.IsZero() && nextUpdate.Add(-leeway).Before(r) {
		r = nextUpdate.Add(-leeway)
	}
	if r.Before(now.Add(refreshMin)) {
		r = now.Add(refreshMin)
	}
	return r
}

// context is the end of nginx's log line: the responder's host and
// address, and the certificate file.
func (s *Stapler) context() string {
	host, peer := s.opts.Responder, s.opts.Responder
	if u, err := url.Parse(s.opts.Responder); err == nil {
		host, peer = u.Hostname(), u.Host
		if u.Port() == "" {
			peer = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	return fmt.Sprintf(" while requesting certificate status, responder: %s, peer: %s, certificate: \"%s\"", host, peer, s.opts.Name)
}

// requestError words a failed request as nginx's log does where it can.
func requestError(err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("OCSP responder timed out (110: Connection timed out)")
	case errors.As(err, &errno):
		return fmt.Errorf("connect() failed (%d: %s)", int(errno), capitalize(errno.Error()))
	}
	return fmt.Errorf("OCSP request failed (%v)", err)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fetch asks the responder and staples only a "good" answer, as nginx's
// ngx_ssl_stapling_ocsp_handler.
func (s *Stapler) fetch(ctx context.Context, now time.Time) ([]byte, *ocsp.Response, error) {
	der, resp, err := Ask(ctx, Query{
		Leaf: s.opts.Leaf, Issuer: s.opts.Issuer, Responder: s.opts.Responder,
		Verify: s.opts.Verify, Client: s.opts.Client,
	}, now)
	if err != nil {
		return nil, nil, err
	}
	switch resp.Status {
	case ocsp.Good:
		return der, resp, nil
	case ocsp.Revoked:
		return nil, nil, errors.New(`certificate status "revoked" in the OCSP response`)
	}
	return nil, nil, errors.New(`certificate status "unknown" in the OCSP response`)
}

// Query is one question to an OCSP responder: the status of Leaf, issued
// by Issuer.
type Query struct {
	Leaf, Issuer *x509.Certificate
	// Responder is the responder's http:// URL.
	Responder string
	// Verify requires the response to be signed by Issuer or by a
	// responder it delegated to (off: nginx's OCSP_NOVERIFY).
	Verify bool
	// Client makes the request; nil means http.DefaultClient.
	Client *http.Client
}

// Ask asks q's responder with nginx's GET (the request base64 in the path)
// and checks the answer as nginx's ngx_ssl_ocsp_verify does: successful,
// signed as q.Verify wants, about q.Leaf, and current at now (five
// minutes' leeway). The certificate's status (good, revoked, unknown) is
// resp.Status, for the caller to judge. ctx bounds the request. Errors are
// worded as nginx logs them.
func Ask(ctx context.Context, q Query, now time.Time) (der []byte, resp *ocsp.Response, err error) {
	req, err := ocsp.CreateRequest(q.Leaf, q.Issuer, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP request: %w", err)
	}
	target := strings.TrimSuffix(q.Responder, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP request: %w", err)
	}
	// One request per connection, as nginx's HTTP/1.0 one: a responder
	// such as openssl ocsp serves one connection at a time and would wait
	// on a kept-alive one.
	hr.Close = true
	client := q.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(hr)
	if err != nil {
		return nil, nil, requestError(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("OCSP responder sent invalid \"%d\" status", res.StatusCode)
	}
	der, err = io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP responder: %w", requestError(err))
	}
	resp, err = check(q, der, now)
	return der, resp, err
}

// signedByIncludedIssuer reports whether der is signed with the key of the
// one certificate it includes and that certificate is q.Issuer itself, as
// openssl ocsp -rsigner ISSUER makes it. OpenSSL's OCSP_basic_verify takes
// such a response as signed by the issuer; x/crypto/ocsp, given the issuer,
// wants it to have signed the included certificate, which only a
// self-signed issuer did.
func signedByIncludedIssuer(der []byte, q Query) bool {
	resp, err := ocsp.ParseResponseForCert(der, q.Leaf, nil)
	return err == nil && resp.Certificate != nil && q.Issuer != nil && bytes.Equal(resp.Certificate.Raw, q.Issuer.Raw)
}

// check parses and judges a response as nginx's ngx_ssl_ocsp_verify
// does: successful, signed as q.Verify wants, for q.Leaf, and current.
func check(q Query, der []byte, now time.Time) (*ocsp.Response, error) {
	var issuer *x509.Certificate
	if q.Verify {
		issuer = q.Issuer
		if signedByIncludedIssuer(der, q) {
			// The signature is checked with the included certificate,
			// which is the issuer's own.
			issuer = nil
		}
	}
	resp, err := ocsp.ParseResponseForCert(der, q.Leaf, issuer)
	var re ocsp.ResponseError
	switch {
	case errors.As(err, &re):
		return nil, fmt.Errorf("OCSP response not successful (%d: %s)", int(re.Status), re.Status)
	case err != nil && strings.Contains(err.Error(), "no response matching"):
		return nil, errors.New("certificate status not found in the OCSP response")
	case err != nil:
		return nil, fmt.Errorf("OCSP_basic_verify() failed (%v)", err)
	}
	if resp.ThisUpdate.After(now.Add(leeway)) || !resp.NextUpdate.IsZero() && resp.NextUpdate.Before(now.Add(-leeway)) {
		return nil, errors.New("OCSP_check_validity() failed")
	}
	return resp, nil
}

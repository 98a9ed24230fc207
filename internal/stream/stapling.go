package stream

import (
	"crypto/tls"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/stapling"
)

// ocspTimeout bounds one OCSP fetch, as nginx's resolver_timeout default
// does (as the http servers' stapling).
const ocspTimeout = 30 * time.Second

// staple makes c, made by servertls.Config from t, staple OCSP responses to its
// certificates (the stream block's ssl_stapling, nginx 1.27.2): each
// certificate with a config.Staple gets a stapling.Stapler, with
// ssl_stapling_file's response or fetching from the responder (failed
// fetches go to log, nil for none). A certificate without one is sent as
// servertls.Config made it. It does nothing when no certificate staples.
func staple(c *tls.Config, t *config.TLS, log func(msg string)) {
	var staplers []*stapling.Stapler
	for i, cert := range t.Certificates {
		if cert.Staple == nil {
			continue
		}
		if staplers == nil {
			staplers = make([]*stapling.Stapler, len(t.Certificates))
		}
		staplers[i] = newStapler(cert, log)
	}
	if staplers == nil {
		return
	}
	pairs := c.Certificates
	// crypto/tls asks GetCertificate only for a hello with SNI while
	// Certificates is set: the pairs are GetCertificate's alone.
	c.Certificates = nil
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		i := pick(pairs, hello)
		if s := staplers[i]; s != nil {
			return s.Certificate(hello, time.Now()), nil
		}
		return &pairs[i], nil
	}
}

// newStapler is the stapler of one certificate.
func newStapler(c config.Certificate, log func(string)) *stapling.Stapler {
	p := c.Staple
	if p.Response != nil {
		return stapling.NewFile(c.Pair, p.Response)
	}
	return stapling.New(c.Pair, stapling.Options{
		Leaf: p.Leaf, Issuer: p.Issuer, Responder: p.Responder, Verify: p.Verify,
		Timeout: ocspTimeout, Name: c.CertFile, Log: log,
	})
}

// pick is the index of the first certificate the client supports (an ECDSA
// one for a client that takes ECDSA, else the RSA one), else 0, as
// crypto/tls chooses from Config.Certificates.
func pick(pairs []tls.Certificate, hello *tls.ClientHelloInfo) int {
	if len(pairs) > 1 {
		for j := range pairs {
			if hello.SupportsCertificate(&pairs[j]) == nil {
				return j
			}
		}
	}
	return 0
}

package upstreamtls

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"fulcrum/internal/pemkey"
)

// CertificateError is a client certificate named with variables that could
// not be loaded for a handshake (LoadCertificate). Its text is nginx's
// error log line without the " while connecting to upstream" context; nginx
// 1.22.1 ends the request with 500 (the stream session closes), with no
// retry and no failure counted against the server.
type CertificateError struct{ msg string }

func (e *CertificateError) Error() string { return e.msg }

// ForCertificate returns the client of one handshake whose client
// certificate is named with variables (config.Certificate's CertTemplate):
// cert and key are the values of proxy_ssl_certificate and
// proxy_ssl_certificate_key. An empty cert sends none, as nginx 1.22.1
// does (the key is then not looked at); otherwise the pair is loaded with
// LoadCertificate.
func (c *Client) ForCertificate(cert, key string) (*Client, error) {
	if cert == "" {
		return c.WithCertificate(nil), nil
	}
	pair, err := LoadCertificate(cert, key, c.certDir, c.passwords)
	if err != nil {
		return nil, err
	}
	return c.WithCertificate(pair), nil
}

// LoadCertificate loads a client certificate from cert and key as nginx
// 1.21's ngx_ssl_connection_certificate does for a handshake: a value
// "data:PEM" is the PEM itself, a relative file name is taken against dir
// (nginx's ngx_get_full_name: an empty one is dir itself), and passwords
// are tried on an encrypted key. The certificate is read first, then the
// key. Errors are *CertificateError, worded as nginx 1.22.1 logs them
// (recorded with OpenSSL 3), with the full file names.
func LoadCertificate(cert, key, dir string, passwords [][]byte) (*tls.Certificate, error) {
	cert, key = FullName(cert, dir), FullName(key, dir)
	certPEM, err := readPEM(cert)
	if err != nil {
		return nil, &CertificateError{fmt.Sprintf(`cannot load certificate "%s": %s`, cert, err)}
	}
	if !hasBlock(certPEM, func(t string) bool { return t == "CERTIFICATE" || t == "TRUSTED CERTIFICATE" }) {
		return nil, &CertificateError{fmt.Sprintf(`cannot load certificate "%s": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)`, cert)}
	}
	keyPEM, err := readPEM(key)
	if err != nil {
		return nil, &CertificateError{fmt.Sprintf(`cannot load certificate key "%s": %s`, key, err)}
	}
	const noKey = `cannot load certificate key "%s": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)`
	if !hasBlock(keyPEM, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }) {
		return nil, &CertificateError{fmt.Sprintf(noKey, key)}
	}
	if keyPEM, err = pemkey.Decrypt(keyPEM, passwords); err != nil {
		return nil, &CertificateError{fmt.Sprintf(`cannot load certificate key "%s": PEM_read_bio_PrivateKey() failed (%v)`, key, err)}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return nil, &CertificateError{fmt.Sprintf(`SSL_use_PrivateKey("%s") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)`, key)}
	case err != nil:
		return nil, &CertificateError{fmt.Sprintf(`cannot load certificate "%s": %v`, cert, err)}
	}
	return &pair, nil
}

// FullName is value with a relative file name taken against dir, as
// nginx's ngx_get_full_name takes it against the prefix; a "data:" value
// and an absolute name are kept.
func FullName(value, dir string) string {
	if strings.HasPrefix(value, "data:") || strings.HasPrefix(value, "/") {
		return value
	}
	return strings.TrimSuffix(dir, "/") + "/" + value
}

// readPEM returns the PEM of a "data:" value, or the file's contents. A
// file that cannot be opened is OpenSSL's BIO_new_file() error; a
// directory opens, and holds no PEM.
func readPEM(value string) ([]byte, error) {
	if data, ok := strings.CutPrefix(value, "data:"); ok {
		return []byte(data), nil
	}
	data, err := os.ReadFile(value)
	switch {
	case errors.Is(err, syscall.EISDIR):
		return nil, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file)", value)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("BIO_new_file() failed (SSL: error:8000000D:system library::Permission denied:calling fopen(%s, r) error:10080002:BIO routines::system lib)", value)
	case err != nil:
		return nil, fmt.Errorf("BIO_new_file() failed (%w)", err)
	}
	return data, nil
}

// hasBlock reports whether data holds a PEM block whose type ok accepts.
func hasBlock(data []byte, ok func(string) bool) bool {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return false
		}
		if ok(blk.Type) {
			return true
		}
	}
}

// WithCertificate returns a copy of c whose handshakes send pair as the
// client certificate (nil: none), whatever CAs the server names, as OpenSSL
// does: the client of one handshake with a proxy_ssl_certificate with
// variables (LoadCertificate).
func (c *Client) WithCertificate(pair *tls.Certificate) *Client {
	d := *c
	d.cfg = c.cfg.Clone()
	d.cfg.GetClientCertificate = nil
	if pair != nil {
		d.cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	}
	return &d
}

// PerCertificate returns a view of cache whose sessions are those made
// with the client certificate that id names only (the values of a
// proxy_ssl_certificate and proxy_ssl_certificate_key with variables):
// a resumed session keeps the identity of the handshake that made it, so
// a session made with one certificate is not offered with another.
func PerCertificate(cache tls.ClientSessionCache, id string) tls.ClientSessionCache {
	return keyedCache{cache: cache, prefix: "cert=" + id + "|"}
}

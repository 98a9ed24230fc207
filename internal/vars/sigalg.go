package vars

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"io"
)

// $ssl_sigalg (nginx 1.29.3) is the signature algorithm of the server's
// certificate in a handshake: the TLS SignatureScheme the server signed its
// handshake with, by its IANA name, as OpenSSL 3.5's SSL_get0_signature_name
// gives it ("rsa_pss_rsae_sha256", "ecdsa_secp256r1_sha256", "ed25519").
// crypto/tls does not report it, so the certificate's key is wrapped for
// each handshake (RecordSignature) and the scheme is worked out from the key
// and the options of its Sign call. A resumed session signs nothing and has
// no value, as nginx documents ("available only for new sessions"), and
// neither has a TLS 1.2 RSA key exchange.

// RecordSignature returns a copy of cert whose private key writes the name
// of the signature scheme of each signature it makes into *name, for
// $ssl_sigalg. The handshake signs in the goroutine that runs it, so *name
// is read safely once the handshake returned. A key that is not a
// crypto.Signer is left as it is; a crypto.Decrypter (RSA) stays one.
func RecordSignature(cert *tls.Certificate, name *string) *tls.Certificate {
	s, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return cert
	}
	c := *cert
	r := recordingSigner{Signer: s, name: name}
	if d, ok := s.(crypto.Decrypter); ok {
		c.PrivateKey = recordingDecrypter{recordingSigner: r, d: d}
	} else {
		c.PrivateKey = r
	}
	return &c
}

// recordingSigner is a certificate key that records the scheme of its
// signatures.
type recordingSigner struct {
	crypto.Signer
	name *string
}

// Sign records the scheme and signs with the wrapped key.
func (r recordingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	*r.name = SignatureSchemeName(r.Public(), opts)
	return r.Signer.Sign(rand, digest, opts)
}

// recordingDecrypter is a recordingSigner whose key also decrypts (RSA:
// TLS 1.2's RSA key exchange needs it).
type recordingDecrypter struct {
	recordingSigner
	d crypto.Decrypter
}

// Decrypt decrypts with the wrapped key.
func (r recordingDecrypter) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return r.d.Decrypt(rand, msg, opts)
}

// SignatureSchemeName is the IANA name of the TLS 1.2 and 1.3 signature
// scheme of a signature by a key whose public half is pub, made with opts
// (RFC 8446 section 4.2.3); "" when it is none (TLS 1.0 and 1.1 sign an
// MD5+SHA1 digest without a scheme). An ECDSA scheme is named by its hash,
// as TLS 1.2 pairs any curve with any hash.
func SignatureSchemeName(pub crypto.PublicKey, opts crypto.SignerOpts) string {
	h := opts.HashFunc()
	switch pub.(type) {
	case *rsa.PublicKey:
		prefix := "rsa_pkcs1_"
		if _, ok := opts.(*rsa.PSSOptions); ok {
			prefix = "rsa_pss_rsae_"
		}
		if n := hashName(h); n != "" {
			return prefix + n
		}
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return "ecdsa_secp256r1_sha256"
		case crypto.SHA384:
			return "ecdsa_secp384r1_sha384"
		case crypto.SHA512:
			return "ecdsa_secp521r1_sha512"
		case crypto.SHA1:
			return "ecdsa_sha1"
		}
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}

// hashName is the hash's part of an RSA scheme name.
func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return ""
}

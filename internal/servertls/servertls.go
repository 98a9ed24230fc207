// Package servertls compiles the server side of a TLS handshake from a
// block's ssl_* settings (config.TLS), for the listeners that terminate
// TLS without the http engine: the stream block's and the mail block's
// "listen ... ssl" and the mail block's STARTTLS.
package servertls

import (
	"crypto/tls"

	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/sessioncache"
	"fulcrum/internal/sessionticket"
)

// Zones are the shared session caches of the configuration being compiled
// (Cur) and of the current one (Old, nil for the first), which Cur takes
// over where a zone's name and size are unchanged (nginx's shared memory).
type Zones struct{ Cur, Old sessioncache.Zones }

// Config is the server side of t: its certificates (the first that suits
// the client, as crypto/tls chooses), protocols, ciphers, curves, session
// tickets (ssl_session_tickets, ssl_session_ticket_key: the first key makes
// tickets, all open them) or the session cache (ssl_session_cache from
// z, ssl_session_timeout). With ssl_verify_client it also returns the
// verifier of client certificates (nil without): as nginx (SSL_VERIFY_PEER
// with a callback that accepts everything), the handshake asks for a
// certificate naming ssl_client_certificate's CAs and takes whatever comes;
// the caller checks the verdict after it.
func Config(t *config.TLS, z Zones) (*tls.Config, *clientauth.Verifier) {
	c := &tls.Config{
		MinVersion:             t.MinVersion,
		MaxVersion:             t.MaxVersion,
		CipherSuites:           t.CipherSuites,
		CurvePreferences:       t.Curves,
		SessionTicketsDisabled: !t.SessionTickets,
	}
	for _, cert := range t.Certificates {
		if cert.CertTemplate != "" {
			break // loaded per handshake (t.Dynamic): the caller's GetCertificate
		}
		c.Certificates = append(c.Certificates, cert.Pair)
	}
	if len(t.TicketKeys) > 0 {
		keys := make([][32]byte, len(t.TicketKeys))
		for i, k := range t.TicketKeys {
			keys[i] = k.Key
		}
		c.SetSessionTicketKeys(keys)
	}
	if !sessioncache.Serve(c, t, z.Cur, z.Old) { // ssl_session_tickets off: sessions kept here
		sessionticket.Bound(c, t.SessionTimeout) // ssl_session_timeout
	}
	if t.ClientAuth.Verify == config.VerifyOff {
		return c, nil
	}
	v := clientauth.New(t.ClientAuth)
	c.ClientAuth, c.ClientCAs = tls.RequestClientCert, v.Names
	return c, v
}

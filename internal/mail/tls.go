package mail

import (
	"bufio"
	"crypto/tls"
	"strings"
	"time"

	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// TLS of the mail proxy (ngx_mail_ssl_module): "listen ... ssl" speaks TLS
// from the first byte; "starttls on|only" offers it in the session (IMAP
// STARTTLS, POP3 STLS, SMTP STARTTLS). The replies and capability lists
// were recorded against nginx 1.22.1 with libnginx-mod-mail.

// sslState is what a session knows of its TLS connection.
type sslState struct {
	// protocol and cipher are OpenSSL's names (Auth-SSL-Protocol,
	// Auth-SSL-Cipher).
	protocol, cipher string
	// client is the certificate the client sent and its verdict; nil
	// when it sent none.
	client *vars.ClientCert
}

// starttlsOffered reports whether the session may start TLS now: starttls
// is on or only and the connection is not TLS yet.
func (s *session) starttlsOffered() bool {
	return s.ssl == nil && s.srv.cfg.StartTLS != config.MailStartTLSOff && s.srv.tls != nil
}

// starttlsOnly reports whether a login must wait for STARTTLS (nginx's
// ngx_mail_starttls_only): such a login is the protocol's invalid command.
func (s *session) starttlsOnly() bool {
	return s.ssl == nil && s.srv.cfg.StartTLS == config.MailStartTLSOnly
}

// startTLS sends reply (the protocol's go-ahead) and runs the handshake
// on the raw connection. Whatever the client sent after the command and
// before the handshake is discarded, as nginx does (pipelined commands
// must not be run as if they came over TLS: CVE-2011-0411).
func (s *session) startTLS(reply string) error {
	if err := s.send(reply); err != nil {
		return err
	}
	return s.handshake()
}

// handshake turns the session's connection into TLS and checks the
// client's certificate as nginx's ngx_mail_verify_cert does. The reader
// starts afresh on the TLS connection.
func (s *session) handshake() error {
	tc := tls.Server(s.raw, s.srv.tls)
	_ = s.raw.SetDeadline(time.Now().Add(s.srv.cfg.Timeout))
	if err := tc.Handshake(); err != nil {
		s.logf(errlog.Info, "SSL handshake failed (%v) while SSL handshaking", err)
		return errQuit
	}
	_ = s.raw.SetDeadline(time.Time{})
	s.conn = tc
	s.r = bufio.NewReaderSize(tc, max(s.srv.cfg.ClientBuffer, 16))
	st := tc.ConnectionState()
	s.ssl = &sslState{protocol: config.ProtocolName(st.Version), cipher: config.CipherName(st.CipherSuite)}
	return s.verifyClient(st)
}

// Replies to a client whose certificate is refused, by protocol: a bad
// certificate, and none under "ssl_verify_client on" (nginx's cert_error
// and no_cert, recorded from nginx 1.22.1).
var (
	certError = map[string]string{config.MailIMAP: "* BYE SSL certificate error\r\n", config.MailPOP3: "-ERR SSL certificate error\r\n", config.MailSMTP: "421 4.7.1 SSL certificate error\r\n"}
	noCert    = map[string]string{config.MailIMAP: "* BYE No required SSL certificate\r\n", config.MailPOP3: "-ERR No required SSL certificate\r\n", config.MailSMTP: "421 4.7.1 No required SSL certificate\r\n"}
)

// verifyClient records the client's certificate and its verdict; a
// certificate that does not verify (unless optional_no_ca forgives its
// issuer), or none under "ssl_verify_client on", ends the session with
// the protocol's error line.
func (s *session) verifyClient(st tls.ConnectionState) error {
	v := s.srv.verifier
	if v == nil {
		return nil
	}
	var res clientauth.Result
	if len(st.PeerCertificates) > 0 {
		res = v.Verify(st.PeerCertificates, time.Now())
		s.ssl.client = &vars.ClientCert{Cert: st.PeerCertificates[0], Verify: res.Variable()}
	}
	switch {
	case !res.OK() && !(v.Mode == config.VerifyOptionalNoCA && res.IssuerOnly()):
		s.logf(errlog.Info, "client SSL certificate verify error: (%d:%s) while SSL handshaking", res.Code, res.Reason)
		_ = s.send(certError[s.srv.cfg.Protocol])
		return errQuit
	case v.Mode == config.VerifyOn && s.ssl.client == nil:
		s.logf(errlog.Info, "client sent no required SSL certificate while SSL handshaking")
		_ = s.send(noCert[s.srv.cfg.Protocol])
		return errQuit
	}
	return nil
}

// authSSLHeaders are the Auth-SSL lines of an auth_http request over TLS,
// as nginx 1.22 writes them: protocol and cipher always; with
// ssl_verify_client the verdict ("NONE" without a certificate) and the
// certificate's subject, issuer, serial and SHA-1 fingerprint, as they
// are (nginx 1.22.1 sends "CN=Test CA" unescaped); with
// auth_http_pass_client_cert the certificate in PEM, escaped.
func (s *session) authSSLHeaders(b *strings.Builder) {
	if s.ssl == nil {
		return
	}
	b.WriteString("Auth-SSL: on\r\nAuth-SSL-Protocol: " + s.ssl.protocol + "\r\nAuth-SSL-Cipher: " + s.ssl.cipher + "\r\n")
	if s.srv.verifier == nil {
		return
	}
	c := s.ssl.client
	if c == nil {
		b.WriteString("Auth-SSL-Verify: NONE\r\n")
		return
	}
	now := time.Now()
	field := func(name string) string { return string(vars.ClientCertField(name)(nil, c, now)) }
	b.WriteString("Auth-SSL-Verify: " + c.Verify + "\r\n")
	b.WriteString("Auth-SSL-Subject: " + field("ssl_client_s_dn") + "\r\n")
	b.WriteString("Auth-SSL-Issuer: " + field("ssl_client_i_dn") + "\r\n")
	b.WriteString("Auth-SSL-Serial: " + field("ssl_client_serial") + "\r\n")
	b.WriteString("Auth-SSL-Fingerprint: " + field("ssl_client_fingerprint") + "\r\n")
	if s.srv.cfg.PassClientCert {
		b.WriteString("Auth-SSL-Cert: " + escapeAuth(field("ssl_client_raw_cert")) + "\r\n")
	}
}

// starttlsLists are the capability replies before TLS with starttls on or
// only, as nginx builds them: IMAP adds STARTTLS after the mechanisms, or
// with only STARTTLS LOGINDISABLED instead of them; POP3 adds STLS after
// the SASL line, or with only drops USER and SASL; SMTP's EHLO adds
// STARTTLS last, or with only replaces AUTH with it.
func (srv *server) starttlsLists(cfg *config.MailServer) {
	only := cfg.StartTLS == config.MailStartTLSOnly
	switch cfg.Protocol {
	case config.MailIMAP:
		caps := cfg.IMAPCapabilities
		if caps == nil {
			caps = defaultIMAPCaps
		}
		line := strings.TrimSuffix(srv.imapCaps, "\r\n") + " STARTTLS\r\n"
		if only {
			line = "* CAPABILITY " + strings.Join(caps, " ") + " STARTTLS LOGINDISABLED\r\n"
		}
		srv.imapCapsPlain = line
	case config.MailPOP3:
		capa := strings.TrimSuffix(srv.pop3Capa, ".\r\n") + "STLS\r\n.\r\n"
		if only {
			caps := cfg.POP3Capabilities
			if caps == nil {
				caps = defaultPOP3Caps
			}
			capa = "+OK Capability list follows\r\n"
			for _, c := range caps {
				if !strings.EqualFold(c, "USER") {
					capa += c + "\r\n"
				}
			}
			capa += "STLS\r\n.\r\n"
		}
		srv.pop3CapaPlain = capa
	default:
		lines := append([]string{srv.name}, cfg.SMTPCapabilities...)
		if !only && len(cfg.SMTPAuth) > 0 {
			lines = append(lines, "AUTH "+strings.ToUpper(strings.Join(cfg.SMTPAuth, " ")))
		}
		srv.smtpEHLOPlain = smtpLines(append(lines, "STARTTLS"))
	}
}

// capabilities are the server's capability replies for the session's
// state: before TLS with starttls on or only, the starttls ones.
func (s *session) capabilities() (imap, pop3, ehlo string) {
	if s.starttlsOffered() {
		return s.srv.imapCapsPlain, s.srv.pop3CapaPlain, s.srv.smtpEHLOPlain
	}
	return s.srv.imapCaps, s.srv.pop3Capa, s.srv.smtpEHLO
}

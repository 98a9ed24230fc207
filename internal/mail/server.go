package mail

import (
	"strings"

	"fulcrum/internal/config"
)

// The default capability lists of nginx's imap and pop3 modules.
var (
	defaultIMAPCaps = []string{"IMAP4", "IMAP4rev1", "UIDPLUS"}
	defaultPOP3Caps = []string{"TOP", "USER", "UIDL"}
)

// newServer prepares cfg's replies; hostname is the default server_name.
func newServer(cfg *config.MailServer, hostname string) *server {
	srv := &server{cfg: cfg, name: cfg.ServerName}
	if srv.name == "" {
		srv.name = hostname
	}
	switch cfg.Protocol {
	case config.MailIMAP:
		srv.greeting = "* OK IMAP4 ready\r\n"
		srv.imapCaps = imapCapability(cfg)
	case config.MailPOP3:
		srv.greeting = "+OK POP3 ready\r\n"
		srv.pop3Capa, srv.pop3Auth = pop3Lists(cfg)
	default:
		srv.greeting = "220 " + srv.name + " ESMTP ready\r\n"
		srv.smtpEHLO = smtpEHLO(cfg, srv.name)
	}
	srv.starttlsLists(cfg)
	return srv
}

// imapCapability is the untagged CAPABILITY line: the capabilities, then
// "AUTH=" and each advertised mechanism.
func imapCapability(cfg *config.MailServer) string {
	caps := cfg.IMAPCapabilities
	if caps == nil {
		caps = defaultIMAPCaps
	}
	line := "* CAPABILITY " + strings.Join(caps, " ")
	for _, m := range cfg.IMAPAuth {
		line += " AUTH=" + strings.ToUpper(m)
	}
	return line + "\r\n"
}

// pop3Lists are the CAPA answer (the capabilities and a SASL line) and
// the answer to AUTH without arguments, as nginx builds them: plain
// lists PLAIN and LOGIN, then CRAM-MD5 and EXTERNAL when enabled; APOP is
// in neither (its salt in the greeting announces it).
func pop3Lists(cfg *config.MailServer) (capa, auth string) {
	caps := cfg.POP3Capabilities
	if caps == nil {
		caps = defaultPOP3Caps
	}
	capa = "+OK Capability list follows\r\n"
	for _, c := range caps {
		capa += c + "\r\n"
	}
	sasl, mechs := "SASL", ""
	for _, m := range cfg.POP3Auth {
		var names []string
		switch m {
		case "plain":
			names = []string{"PLAIN", "LOGIN"}
		case "cram-md5", "external":
			names = []string{strings.ToUpper(m)}
		}
		for _, n := range names {
			sasl += " " + n
			mechs += n + "\r\n"
		}
	}
	return capa + sasl + "\r\n.\r\n", "+OK methods supported:\r\n" + mechs + ".\r\n"
}

// smtpEHLO is the answer to EHLO: the server name, the capabilities, and
// AUTH with the advertised mechanisms, as "250-" lines and a last "250 ".
func smtpEHLO(cfg *config.MailServer, name string) string {
	lines := append([]string{name}, cfg.SMTPCapabilities...)
	if len(cfg.SMTPAuth) > 0 {
		auth := "AUTH"
		for _, m := range cfg.SMTPAuth {
			auth += " " + strings.ToUpper(m)
		}
		lines = append(lines, auth)
	}
	return smtpLines(lines)
}

// smtpLines are lines as a multi-line SMTP reply: "250-" lines and a last
// "250 ".
func smtpLines(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	return b.String()
}

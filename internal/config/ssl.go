package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// TLS is a server block's TLS settings (nginx's ngx_http_ssl_module), written
// in the server or inherited from http. The certificates are loaded and checked
// when the configuration loads, so `fulcrum -t` finds a missing file, a bad PEM
// block or a key that does not match its certificate, and a reload reads them
// again; those named with variables are loaded for each handshake (Dynamic).
type TLS struct {
	// Certificates are the ssl_certificate / ssl_certificate_key pairs in
	// order (several: an RSA and an ECDSA one, say; the handshake picks one
	// the client supports). Empty when no level writes ssl_certificate.
	Certificates []Certificate
	// MinVersion and MaxVersion are ssl_protocols as crypto/tls versions.
	MinVersion, MaxVersion uint16
	// CipherSuites are ssl_ciphers mapped to Go's TLS 1.2 suites; nil means
	// Go's default (ssl_ciphers not written). TLS 1.3 suites are not
	// configurable in Go.
	CipherSuites []uint16
	// Curves are ssl_ecdh_curve's groups; nil means Go's default ("auto").
	Curves []tls.CurveID
	// SessionTickets is ssl_session_tickets (default on).
	SessionTickets bool
	// SessionTimeout is ssl_session_timeout (default 5m): a session made
	// by a full handshake resumes for this long, and no longer. The ticket
	// carries it, so a reload that changes it leaves the sessions already
	// made as they were, as in nginx.
	SessionTimeout time.Duration
	// SessionCache is ssl_session_cache. With tickets (ssl_session_tickets
	// on) nginx resumes whatever it says, as fulcrum does; without them,
	// sessions resume from a builtin or shared cache only (package
	// sessioncache).
	SessionCache SessionCache
	// Stapling is ssl_stapling's settings; nil when it is off (or the
	// server has no certificate). Each certificate's Staple says what it
	// staples.
	Stapling *Stapling
	// TicketKeys are ssl_session_ticket_key's keys, in order: the first
	// encrypts new tickets, all decrypt. Empty: crypto/tls makes and
	// rotates its own keys, which each configuration load renews.
	TicketKeys []TicketKey
	// ClientAuth is the client-certificate verification (ssl_verify_client
	// and its files); its Verify is VerifyOff when not written.
	ClientAuth ClientAuth
	// RejectHandshake is ssl_reject_handshake: a handshake whose SNI name
	// selects this server (or that selects it as its address's default)
	// fails with an unrecognized_name alert. Such a server needs no
	// certificate.
	RejectHandshake bool
	// KeyLog is ssl_key_log's file (NGINX Plus, 1.27.2), absolute: the
	// secrets of each handshake the server makes are appended to it in
	// the NSS key log format, for Wireshark and the like; "" writes none.
	// KeyLogPos is the directive's place.
	KeyLog    string
	KeyLogPos Pos
}

// Certificate is one loaded ssl_certificate and its ssl_certificate_key.
type Certificate struct {
	CertFile, KeyFile string
	// PasswordFile is ssl_password_file (proxy_ssl_password_file for
	// proxy_ssl_certificate, grpc_ssl_password_file for
	// grpc_ssl_certificate, uwsgi_ssl_password_file for
	// uwsgi_ssl_certificate): the passphrases an encrypted key is tried
	// with, in order; empty when not written.
	PasswordFile string
	// Pos is the ssl_certificate directive's place.
	Pos Pos
	// keyPos is the key directive's place, for errors; pwDir the password
	// file's directive.
	keyPos Pos
	pwDir  *Directive
	// prefix is the directives' prefix, for hints: "" for ssl_certificate,
	// "proxy_", "grpc_" or "uwsgi_" for an upstream client certificate.
	prefix string
	// arg is an upstream certificate's value as written, which nginx's
	// error about a missing key names.
	arg string
	// Pair is the parsed certificate chain and private key; empty when the
	// files are named with variables (CertTemplate).
	Pair tls.Certificate
	// CertTemplate and KeyTemplate are proxy_ssl_certificate's and
	// proxy_ssl_certificate_key's values as written when either has
	// variables (nginx 1.21): the pair is then loaded for each TLS
	// handshake with an upstream from their values (package upstreamtls,
	// LoadCertificate), and CertFile and KeyFile are empty. The same for
	// ssl_certificate and ssl_certificate_key (nginx 1.15.9), where
	// variables in any pair of a level make every pair of it loaded for
	// each client handshake (TLS.Dynamic; package certcache). An empty
	// certificate value sends none; a value "data:PEM" is the PEM itself.
	// Both are empty otherwise. Dir is the directory relative names are
	// taken against (the prefix), and Passwords are the password file's
	// passphrases, read at load as nginx keeps them
	// (ngx_ssl_preserve_passwords); nil without a password file.
	CertTemplate, KeyTemplate string
	Dir                       string
	Passwords                 [][]byte
	// Staple is the certificate's OCSP stapling; nil without (ssl_stapling
	// off, or ignored for it with a warning).
	Staple *Staple
}

// KeyPos is the place of the key's directive (ssl_certificate_key and the
// like), for errors about its value.
func (c *Certificate) KeyPos() Pos { return c.keyPos }

// tlsNames are the directives buildTLS reads.
var tlsNames = append([]string{"ssl_certificate", "ssl_certificate_key", "ssl_password_file", "ssl_protocols", "ssl_ciphers", "ssl_ecdh_curve", "ssl_session_tickets", "ssl_session_ticket_key", "ssl_reject_handshake"}, append(clientAuthNames, staplingNames...)...)

// tlsModule is how a block's ssl module reads certificates.
type tlsModule struct {
	// variables: ssl_certificate and ssl_certificate_key take variables
	// (nginx 1.15.9's http and stream modules; the mail module takes a
	// "$" literally).
	variables bool
	// onlyWithTLS: only a server that speaks TLS reads its certificates
	// (the stream and mail modules' merge stops before them otherwise:
	// recorded with nginx 1.22.1 -t, a plain stream or mail server naming
	// missing files, or fewer keys, loads); the http module reads them in
	// every server.
	onlyWithTLS bool
}

// The ssl modules of the http, stream and mail blocks.
var (
	httpTLS   = tlsModule{variables: true}
	streamTLS = tlsModule{variables: true, onlyWithTLS: true}
	mailTLS   = tlsModule{onlyWithTLS: true}
)

// buildTLS reads the TLS settings of server level sc, for module m. It
// returns nil when no level writes any of them (a plain server). ssl says
// the server speaks TLS (listens with "ssl" somewhere; mail: or has "ssl
// on" or starttls).
func (b *builder) buildTLS(sc *scope, ssl bool, m tlsModule) (*TLS, error) {
	written := false
	for _, n := range tlsNames {
		if dirs, _ := sc.nearest(n); len(dirs) > 0 {
			written = true
		}
	}
	if !written {
		return nil, nil
	}
	t := &TLS{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionTickets: true}
	if dirs, _ := sc.nearest("ssl_password_file"); len(dirs) > 0 {
		// Read whether or not a key is encrypted, as nginx 1.22.1 reads it
		// at parse time (recorded: a missing file fails nginx -t for a
		// server without certificates too).
		if _, err := b.readPasswords(dirs[0]); err != nil {
			return nil, err
		}
	}
	var err error
	if t.Certificates, err = b.certificates(sc, ssl, m); err != nil {
		return nil, err
	}
	if err := b.checkDHParam(sc, t); err != nil {
		return nil, err
	}
	if dirs, _ := sc.nearest("ssl_protocols"); len(dirs) > 0 {
		if t.MinVersion, t.MaxVersion, err = b.protocols(dirs); err != nil {
			return nil, err
		}
	}
	if dirs, _ := sc.nearest("ssl_ciphers"); len(dirs) > 0 {
		if t.CipherSuites, err = b.ciphers(dirs[0]); err != nil {
			return nil, err
		}
	}
	if dirs, _ := sc.nearest("ssl_ecdh_curve"); len(dirs) > 0 {
		if t.Curves, err = b.curves(dirs[0]); err != nil {
			return nil, err
		}
	}
	if dirs, _ := sc.nearest("ssl_session_tickets"); len(dirs) > 0 {
		t.SessionTickets, _ = parseFlag(dirs[0].Args[0]) // argsFlag checked it
	}
	if dirs, _ := sc.nearest("ssl_reject_handshake"); len(dirs) > 0 {
		t.RejectHandshake, _ = parseFlag(dirs[0].Args[0]) // argsFlag checked it
	}
	if dirs, _ := sc.nearest("ssl_key_log"); len(dirs) > 0 {
		t.KeyLog, t.KeyLogPos = b.path(dirs[0].Args[0]), dirs[0].Pos
	}
	if err := b.sessionSettings(sc, t); err != nil {
		return nil, err
	}
	if len(t.Certificates) > 0 || t.RejectHandshake {
		// As nginx 1.22.1 reads them, once it sets up the server's TLS:
		// a server without certificates leaves the files unread
		// (recorded: nginx -t took a plain server naming a missing one).
		if t.TicketKeys, err = b.ticketKeys(sc); err != nil {
			return nil, err
		}
	}
	if err := b.buildClientAuth(sc, t, ssl); err != nil {
		return nil, err
	}
	if err := b.buildStapling(sc, t); err != nil {
		return nil, err
	}
	return t, nil
}

// certificates pairs the nearest ssl_certificate directives with the nearest
// ssl_certificate_key ones, in order, as nginx does, and loads each pair
// (none for a server without TLS of a module that reads them onlyWithTLS).
// With variables (m.variables) in any certificate or key of the level,
// every pair is loaded per handshake instead (dynamicCertificate).
func (b *builder) certificates(sc *scope, ssl bool, m tlsModule) ([]Certificate, error) {
	if m.onlyWithTLS && !ssl {
		return nil, nil
	}
	certs, _ := sc.nearest("ssl_certificate")
	keys, _ := sc.nearest("ssl_certificate_key")
	pw, _ := sc.nearest("ssl_password_file")
	if len(keys) < len(certs) {
		// Before any file is read, naming the last certificate, as nginx
		// 1.22.1 does (recorded: three certificates and one key name the
		// third).
		d := certs[len(certs)-1]
		return nil, hintf(d.Pos, "add an ssl_certificate_key line for each ssl_certificate, in the same order",
			`no "ssl_certificate_key" is defined for certificate "%s"`, d.Args[0])
	}
	var out []Certificate
	dynamic := m.variables && certificateVariables(certs, keys)
	for i, d := range certs {
		c := Certificate{CertFile: b.path(d.Args[0]), KeyFile: b.path(keys[i].Args[0]), Pos: d.Pos, keyPos: keys[i].Pos}
		if len(pw) > 0 {
			c.PasswordFile, c.pwDir = b.path(pw[0].Args[0]), pw[0]
		}
		if dynamic {
			if err := b.dynamicCertificate(&c, d.Args[0], keys[i].Args[0]); err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		pair, err := b.loadPair(c, keys[i].Pos)
		if err != nil {
			return nil, err
		}
		c.Pair = pair
		out = append(out, c)
	}
	return out, nil
}

// certificateVariables reports whether a certificate or a key paired with
// one has variables: nginx 1.15.9's ngx_http_ssl_compile_certificates
// (and the stream module's) then loads them all, those without variables
// too, for each handshake. A key without a certificate is not looked at.
func certificateVariables(certs, keys []*Directive) bool {
	for i, d := range certs {
		if strings.Contains(d.Args[0], "$") || i < len(keys) && strings.Contains(keys[i].Args[0], "$") {
			return true
		}
	}
	return false
}

// dynamicCertificate makes c a pair loaded for each handshake from the
// values cert and key as written: nginx 1.22.1 reads the password file at
// load and keeps its passphrases (ngx_ssl_preserve_passwords; a missing
// one is an error then), and takes a relative name against the
// configuration's prefix when the handshake loads it.
func (b *builder) dynamicCertificate(c *Certificate, cert, key string) error {
	c.CertTemplate, c.KeyTemplate, c.Dir = cert, key, b.prefix
	c.CertFile, c.KeyFile = "", ""
	if c.pwDir == nil {
		return nil
	}
	var err error
	c.Passwords, err = b.readPasswords(c.pwDir)
	return err
}

// Dynamic reports that the certificates are loaded for each handshake:
// their files are named with variables (CertTemplate).
func (t *TLS) Dynamic() bool {
	return len(t.Certificates) > 0 && t.Certificates[0].CertTemplate != ""
}

// loadPair reads and checks one certificate and key, once per load: servers
// that inherit the http level's pair share it.
func (b *builder) loadPair(c Certificate, keyPos Pos) (tls.Certificate, error) {
	key := [3]string{c.CertFile, c.KeyFile, c.PasswordFile}
	if p, ok := b.certs[key]; ok {
		return p, nil
	}
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		if msg, ok := opensslOpenError(err, c.CertFile, "r", false); ok {
			return tls.Certificate{}, hintf(c.Pos, fileHint(err), `cannot load certificate "%s": BIO_new_file() failed (%s)`, c.CertFile, msg)
		}
		return tls.Certificate{}, hintf(c.Pos, fileHint(err), `cannot load certificate "%s": %v`, c.CertFile, unwrapPath(err))
	}
	keyPEM, err := os.ReadFile(c.KeyFile)
	if err != nil {
		if msg, ok := opensslOpenError(err, c.KeyFile, "r", false); ok {
			return tls.Certificate{}, hintf(keyPos, fileHint(err), `cannot load certificate key "%s": BIO_new_file() failed (%s)`, c.KeyFile, msg)
		}
		return tls.Certificate{}, hintf(keyPos, fileHint(err), `cannot load certificate key "%s": %v`, c.KeyFile, unwrapPath(err))
	}
	if keyPEM, err = b.decryptKey(c, keyPos, keyPEM); err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, hintf(c.Pos, pairHint(err),
			`cannot load certificate "%s" with key "%s": %v`, c.CertFile, c.KeyFile, err)
	}
	if b.certs == nil {
		b.certs = map[[3]string]tls.Certificate{}
	}
	b.certs[key] = pair
	return pair, nil
}

// unwrapPath drops the path and operation an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// opensslOpenError is OpenSSL's error queue, as nginx 1.22.1 logs it with
// OpenSSL 3, for a file fopen could not open for a certificate, key, CA
// bundle, CRL, DH parameters or OCSP response (recorded with nginx -t: a
// missing file is "SSL: error:80000002:system library::No such file or
// directory:calling fopen(F, r) error:10000080:BIO routines::no such
// file"); mode is fopen's, x509 adds the line of the certificate store's
// loaders (SSL_CTX_load_verify_locations, X509_LOOKUP_load_file). ok is
// false for other errors (a directory, say), which keep fulcrum's words.
func opensslOpenError(err error, file, mode string, x509 bool) (msg string, ok bool) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = "SSL: error:80000002:system library::No such file or directory:calling fopen(" + file + ", " + mode + ") error:10000080:BIO routines::no such file"
	case errors.Is(err, fs.ErrPermission):
		msg = "SSL: error:8000000D:system library::Permission denied:calling fopen(" + file + ", " + mode + ") error:10080002:BIO routines::system lib"
	default:
		return "", false
	}
	if x509 {
		msg += " error:05880002:x509 certificate routines::system lib"
	}
	return msg, true
}

func fileHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return "fulcrum reads the file when the configuration loads: let its user read it"
	}
	return "check the path (a relative one is against the -p prefix, else the main file's directory)"
}

func pairHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not match"):
		return "the key is not the certificate's: give each ssl_certificate its own key, in the same order"
	}
	return "both files must be PEM: the certificate (then its chain) and its private key"
}

// protocolVersions maps ssl_protocols' names to crypto/tls versions.
var protocolVersions = []struct {
	name    string
	version uint16
}{
	{"TLSv1", tls.VersionTLS10}, {"TLSv1.1", tls.VersionTLS11}, {"TLSv1.2", tls.VersionTLS12}, {"TLSv1.3", tls.VersionTLS13},
}

// protocols maps a level's ssl_protocols lines to a range of versions. As
// nginx's bitmask slot, the lines of one level add up, names compare without
// case, and a name given twice is warned about (`duplicate value "TLSv1.2"`).
// Go's TLS takes a range, not a set, so a list with a gap is an error; SSLv2
// and SSLv3, which Go does not speak, are skipped with a warning.
func (b *builder) protocols(dirs []*Directive) (lo, hi uint16, err error) {
	have := map[uint16]bool{}
	seen := map[string]bool{}
	d := dirs[len(dirs)-1]
	for _, d := range dirs {
		for _, a := range d.Args {
			if seen[strings.ToLower(a)] {
				b.warnDir(d, "", `duplicate value "%s"`, a)
				continue
			}
			seen[strings.ToLower(a)] = true
			v, ok := protocolVersion(a)
			switch {
			case ok:
				have[v] = true
			case strings.EqualFold(a, "SSLv2") || strings.EqualFold(a, "SSLv3"):
				b.warnDir(d, "Go's TLS does not speak SSL; clients get TLS", `"%s" in "%s" is ignored`, a, d.Name)
			default:
				return 0, 0, hintf(d.Pos, "the protocols are TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3", `invalid value "%s" in "%s" directive`, a, d.Name)
			}
		}
	}
	var vs []uint16
	for _, p := range protocolVersions {
		if have[p.version] {
			vs = append(vs, p.version)
		}
	}
	if len(vs) == 0 {
		return 0, 0, hintf(d.Pos, "list TLSv1.2 TLSv1.3", `no TLS version in "%s"`, d.Name)
	}
	lo, hi = vs[0], vs[len(vs)-1]
	if int(hi-lo)+1 != len(vs) {
		return 0, 0, hintf(d.Pos, "list consecutive versions, such as TLSv1.2 TLSv1.3",
			`fulcrum's TLS takes a range of versions, "%s" has a gap`, d.Name)
	}
	return lo, hi, nil
}

// protocolVersion returns the crypto/tls version of an ssl_protocols name
// (without case, as nginx's bitmask slot compares).
func protocolVersion(name string) (uint16, bool) {
	for _, p := range protocolVersions {
		if strings.EqualFold(p.name, name) {
			return p.version, true
		}
	}
	return 0, false
}

// curveNames maps ssl_ecdh_curve's names (OpenSSL's and the IETF's) to Go's
// groups.
var curveNames = map[string]tls.CurveID{
	"x25519": tls.X25519, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256, "p-256": tls.CurveP256,
	"secp384r1": tls.CurveP384, "p-384": tls.CurveP384, "secp521r1": tls.CurveP521, "p-521": tls.CurveP521,
	"x25519mlkem768": tls.X25519MLKEM768,
}

// opensslGroups are the group names OpenSSL 3.0 (which Debian 12's nginx
// 1.22.1 uses) takes in SSL_CTX_set1_curves_list, lower case (it compares
// them without case): nginx loads a list of them, even those Go's TLS lacks.
var opensslGroups = map[string]bool{
	"sect163k1": true, "sect163r1": true, "sect163r2": true, "sect193r1": true, "sect193r2": true,
	"sect233k1": true, "sect233r1": true, "sect239k1": true, "sect283k1": true, "sect283r1": true,
	"sect409k1": true, "sect409r1": true, "sect571k1": true, "sect571r1": true,
	"secp160k1": true, "secp160r1": true, "secp160r2": true, "secp192k1": true, "secp224k1": true,
	"secp224r1": true, "secp256k1": true, "secp256r1": true, "secp384r1": true, "secp521r1": true,
	"prime192v1": true, "prime256v1": true, "p-192": true, "p-224": true, "p-256": true, "p-384": true, "p-521": true,
	"brainpoolp256r1": true, "brainpoolp384r1": true, "brainpoolp512r1": true,
	"x25519": true, "x448": true,
	"ffdhe2048": true, "ffdhe3072": true, "ffdhe4096": true, "ffdhe6144": true, "ffdhe8192": true,
}

// curves maps ssl_ecdh_curve ("auto" or a list separated by ":") to
// CurvePreferences. Names Go does not have are skipped with a warning; a list
// of none of its names is an error.
func (b *builder) curves(d *Directive) ([]tls.CurveID, error) {
	if strings.EqualFold(d.Args[0], "auto") {
		return nil, nil
	}
	const hint = "Go's TLS has X25519, prime256v1, secp384r1, secp521r1 and X25519MLKEM768; or write auto"
	var out, skipped []string
	var ids []tls.CurveID
	for n := range strings.SplitSeq(d.Args[0], ":") {
		id, ok := curveNames[strings.ToLower(n)]
		if !ok && !opensslGroups[strings.ToLower(n)] {
			// No group OpenSSL knows: nginx 1.22.1's error, in its words
			// with OpenSSL 3 (recorded with nginx -t).
			return nil, hintf(d.Pos, hint, `SSL_CTX_set1_curves_list("%s") failed (SSL: error:0A080106:SSL routines::passed invalid argument:group '%s' cannot be set)`, d.Args[0], n)
		}
		if !ok {
			skipped = append(skipped, n)
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
			out = append(out, n)
		}
	}
	if len(ids) == 0 {
		// Groups OpenSSL has and Go's TLS lacks: nginx would take them.
		return nil, hintf(d.Pos, hint, `no curve fulcrum knows in "ssl_ecdh_curve %s"`, d.Args[0])
	}
	if len(skipped) > 0 {
		b.warnDir(d, "Go's TLS does not have them; the others are used", `curves %s in "ssl_ecdh_curve" are ignored`, strings.Join(skipped, ", "))
	}
	return ids, nil
}

// checkTLSKeys is the stream and mail modules' check of a server that
// speaks TLS because of the directive at pos (mode: "listen ... ssl", or
// mail's "ssl" and "starttls"), made before any file is read, in nginx
// 1.22.1's words (ngx_stream_ssl_merge_conf, ngx_mail_ssl_merge_conf): a
// certificate needs its key. No certificate at all is the caller's error.
func checkTLSKeys(sc *scope, pos Pos, mode string) error {
	certs, _ := sc.nearest("ssl_certificate")
	keys, _ := sc.nearest("ssl_certificate_key")
	const hint = "add an ssl_certificate_key line for each ssl_certificate, in the same order"
	switch {
	case len(certs) == 0:
		return nil
	case len(keys) == 0:
		return hintf(pos, hint, `no "ssl_certificate_key" is defined for the "%s" directive`, mode)
	case len(keys) < len(certs):
		return hintf(pos, hint, `no "ssl_certificate_key" is defined for certificate "%s" and the "%s" directive`, certs[len(certs)-1].Args[0], mode)
	}
	return nil
}

// checkTLSListens refuses an address listened on with "ssl" whose default
// server has no certificate (and does not reject handshakes with
// ssl_reject_handshake), in nginx's words; the server block's place is the
// one nginx names. defaults maps each ssl address to its default server.
func checkTLSListens(defaults map[string]*Server) error {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := defaults[k]
		if s.TLS == nil || len(s.TLS.Certificates) == 0 && !s.TLS.RejectHandshake {
			return hintf(s.Pos, "add ssl_certificate and ssl_certificate_key to this server or to http, or ssl_reject_handshake on to refuse its handshakes",
				`no "ssl_certificate" is defined for the "listen ... ssl" directive`)
		}
	}
	return nil
}

// tlsDefaults finds, for every address some server listens on with "ssl", the
// server nginx takes the certificate from when no SNI name matches: the one
// with default_server, else the first.
func tlsDefaults(servers []*Server) map[string]*Server {
	ssl := map[string]bool{}
	first := map[string]*Server{}
	explicit := map[string]*Server{}
	for _, s := range servers {
		for _, l := range s.Listens {
			key := l.Network + " " + l.Addr
			ssl[key] = ssl[key] || l.SSL
			if first[key] == nil {
				first[key] = s
			}
			if l.DefaultServer && explicit[key] == nil {
				explicit[key] = s
			}
		}
	}
	out := map[string]*Server{}
	for key, on := range ssl {
		if !on {
			continue
		}
		out[key] = first[key]
		if s := explicit[key]; s != nil {
			out[key] = s
		}
	}
	return out
}

// String describes the settings for dumps.
func (t *TLS) String() string {
	var files []string
	for _, c := range t.Certificates {
		if c.CertTemplate != "" {
			files = append(files, c.CertTemplate+"+"+c.KeyTemplate)
			continue
		}
		files = append(files, c.CertFile+"+"+c.KeyFile)
	}
	out := fmt.Sprintf("tls certificates=%s versions=%#x-%#x ciphers=%d curves=%v tickets=%t",
		strings.Join(files, ","), t.MinVersion, t.MaxVersion, len(t.CipherSuites), t.Curves, t.SessionTickets)
	for _, k := range t.TicketKeys {
		out += " ticket_key=" + k.File
	}
	if t.SessionTimeout != defaultSessionTimeout {
		out += " session_timeout=" + t.SessionTimeout.String()
	}
	if c := t.SessionCache; c.Off || c.Builtin || len(c.Zones) > 0 {
		out += " session_cache=" + c.String()
	}
	if st := t.Stapling; st != nil {
		out += fmt.Sprintf(" stapling verify=%t responder=%q file=%q", st.Verify, st.Responder, st.File)
	}
	if a := t.ClientAuth; a.Verify != VerifyOff || a.ClientCertificate != "" || a.TrustedCertificate != "" || a.CRL != "" {
		out += " " + a.String()
	}
	return out
}

// checkDHParam reads the ssl_dhparam file of a server with certificates, as
// nginx 1.22.1 does when it sets up the server's TLS: Go's TLS has no DHE
// suites, so the parameters are not used (the table warns), but a file that
// cannot be read is nginx's error (recorded: BIO_new_file("...") failed ...
// No such file or directory), not a setting to skip.
func (b *builder) checkDHParam(sc *scope, t *TLS) error {
	dirs, _ := sc.nearest("ssl_dhparam")
	if len(dirs) == 0 || len(t.Certificates) == 0 {
		return nil
	}
	d := dirs[0]
	file := b.path(d.Args[0])
	f, err := os.Open(file)
	if err != nil {
		if msg, ok := opensslOpenError(err, file, "r", false); ok {
			return hintf(d.Pos, fileHint(err), `BIO_new_file("%s") failed (%s)`, file, msg)
		}
		return hintf(d.Pos, fileHint(err), `cannot load DH parameters "%s": %v`, file, unwrapPath(err))
	}
	return f.Close()
}

package config

import (
	"crypto/tls"
	"slices"
	"strings"
)

// CipherSuite is one TLS cipher suite fulcrum can use, with its OpenSSL name
// (what ssl_ciphers and $ssl_cipher say).
type CipherSuite struct {
	ID      uint16
	OpenSSL string
}

// CipherSuites are the TLS 1.2 suites ssl_ciphers can choose among (Go's
// secure ones and its CBC-SHA256 ones; not 3DES or RC4), then the TLS 1.3
// suites, which Go always offers and ssl_ciphers does not change (as in
// OpenSSL, whose ssl_ciphers list does not touch TLS 1.3 either).
var CipherSuites = []CipherSuite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256"},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA"},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA"},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA"},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256"},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384"},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256"},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA"},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA"},
	// TLS 1.3: not subject to ssl_ciphers.
	{tls.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"},
	{tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
	{tls.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"},
}

// ProtocolName is OpenSSL's name of a TLS version, as $ssl_protocol shows
// it in http and stream.
func ProtocolName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// HelloVersion is the version a handshake whose ClientHello offered
// supported (in the client's order of preference) agrees on with a server
// that takes min to max, as crypto/tls chooses it before it asks for the
// certificate; 0 for none. The variables of a certificate loaded at the
// handshake read it ($ssl_protocol: nginx 1.22.1's certificate callback
// sees the version, recorded).
func HelloVersion(supported []uint16, min, max uint16) uint16 {
	for _, v := range supported {
		if v >= min && v <= max {
			return v
		}
	}
	return 0
}

// CipherName is the OpenSSL name of a suite ($ssl_cipher), or Go's name for
// one outside CipherSuites.
func CipherName(id uint16) string {
	for _, c := range CipherSuites {
		if c.ID == id {
			return c.OpenSSL
		}
	}
	return tls.CipherSuiteName(id)
}

// tls12Suites are the suites ssl_ciphers selects from.
func tls12Suites() []CipherSuite {
	return slices.DeleteFunc(slices.Clone(CipherSuites), func(c CipherSuite) bool {
		return strings.HasPrefix(c.OpenSSL, "TLS_")
	})
}

// cipherAliases are OpenSSL's cipher list aliases, as tests on the OpenSSL
// name of a suite. Aliases of algorithms Go does not have (aNULL, MD5, DHE,
// CAMELLIA, ...) select nothing, which makes "!aNULL:!MD5" harmless.
var cipherAliases = map[string]func(n string) bool{
	"ALL":     func(string) bool { return true },
	"DEFAULT": func(n string) bool { return !strings.HasSuffix(n, "-SHA256") || strings.Contains(n, "GCM") },
	"HIGH":    func(string) bool { return true },
	"MEDIUM":  func(string) bool { return false },
	"LOW":     func(string) bool { return false },
	"ECDHE":   isECDHE, "EECDH": isECDHE, "kEECDH": isECDHE, "kECDHE": isECDHE, "AECDH": isECDHE,
	"RSA": func(n string) bool { return !isECDHE(n) }, "kRSA": func(n string) bool { return !isECDHE(n) },
	"aRSA":  func(n string) bool { return !strings.Contains(n, "ECDSA") },
	"ECDSA": func(n string) bool { return strings.Contains(n, "ECDSA") }, "aECDSA": func(n string) bool { return strings.Contains(n, "ECDSA") },
	"AES":      func(n string) bool { return strings.Contains(n, "AES") },
	"AES128":   func(n string) bool { return strings.Contains(n, "AES128") },
	"AES256":   func(n string) bool { return strings.Contains(n, "AES256") },
	"AESGCM":   func(n string) bool { return strings.Contains(n, "GCM") },
	"CHACHA20": func(n string) bool { return strings.Contains(n, "CHACHA20") },
	"SHA1":     func(n string) bool { return strings.HasSuffix(n, "-SHA") }, "SHA": func(n string) bool { return strings.HasSuffix(n, "-SHA") },
	"SHA256": func(n string) bool { return strings.HasSuffix(n, "-SHA256") || strings.Contains(n, "CHACHA20") },
	"SHA384": func(n string) bool { return strings.HasSuffix(n, "-SHA384") },
	"TLSv1.2": func(n string) bool {
		return strings.HasSuffix(n, "-SHA256") || strings.HasSuffix(n, "-SHA384") || strings.Contains(n, "CHACHA20")
	},
	"TLSv1": func(n string) bool { return strings.HasSuffix(n, "-SHA") }, "SSLv3": func(n string) bool { return strings.HasSuffix(n, "-SHA") },
}

// openSSLOnly are aliases and algorithm names OpenSSL knows that select none
// of Go's suites; they are accepted silently.
var openSSLOnly = []string{"aNULL", "eNULL", "NULL", "MD5", "RC4", "DES", "3DES", "IDEA", "SEED", "CAMELLIA", "CAMELLIA128",
	"CAMELLIA256", "ARIA", "ARIA128", "ARIA256", "PSK", "SRP", "DSS", "aDSS", "DH", "DHE", "EDH", "kEDH", "kDHE", "ADH",
	"EXP", "EXPORT", "aPSK", "kPSK", "ECDHEPSK", "DHEPSK", "RSAPSK", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL", "SUITEB128",
	"SUITEB128ONLY", "SUITEB192", "CCM", "CCM8", "AESCCM", "AESCCM8", "GOST", "kGOST", "aGOST", "SHA224", "RC2", "MEDIUM", "LOW"}

func isECDHE(n string) bool { return strings.HasPrefix(n, "ECDHE-") }

// ciphers maps an OpenSSL cipher list (ssl_ciphers) to Go's TLS 1.2 suites:
// items separated by ":", ",", ";" or spaces (a byte no item has is nginx's
// "invalid command" error); "A+B" is the suites in both; "!"
// removes for good, "-" removes, "+" (reordering) and "@STRENGTH" or
// "@SECLEVEL=n" change nothing, since Go orders suites itself. Full names of
// suites Go does not implement are skipped with a warning, as OpenSSL skips
// names it does not know; a list that selects nothing is an error (nginx's
// "no cipher match" when OpenSSL has none of it either). A byte OpenSSL's
// rule parser cannot take is nginx 1.22.1's "invalid command", in its words
// with OpenSSL 3 (recorded with nginx -t).
func (b *builder) ciphers(d *Directive) ([]uint16, error) {
	all := tls12Suites()
	on := map[uint16]bool{}
	banned := map[uint16]bool{}
	var unknown []string
	for item := range strings.FieldsFuncSeq(d.Args[0], isCipherSeparator) {
		if cipherItemValid(item) {
			continue
		}
		// OpenSSL's rule parser met a byte it cannot take: nginx's
		// SSL_CTX_set_cipher_list fails ("invalid command"), recorded with
		// nginx 1.22.1 for BoringSSL's "[A|B]" groups, "AES*", "_x", "@FOO".
		hint := `OpenSSL, which nginx uses, takes names and aliases (joined by "+"; "!", "-" or "+" before one), "@STRENGTH" and "@SECLEVEL=n", separated by ":"`
		if strings.ContainsAny(d.Args[0], "[|]") {
			hint = `"[A|B]" groups of equal preference are BoringSSL's; ` + hint
		}
		return nil, hintf(d.Pos, hint+`; "`+item+`" is not one`, `SSL_CTX_set_cipher_list("%s") failed (SSL: error:0A000118:SSL routines::invalid command)`, d.Args[0])
	}
	for item := range strings.FieldsFuncSeq(d.Args[0], isCipherSeparator) {
		op := byte(0)
		if strings.IndexByte("!-+", item[0]) >= 0 {
			op, item = item[0], item[1:]
		}
		if strings.HasPrefix(item, "@") {
			continue
		}
		match, ok := cipherMatcher(item)
		if !ok {
			unknown = append(unknown, item)
			continue
		}
		for _, c := range all {
			if !match(c.OpenSSL) {
				continue
			}
			switch op {
			case '!':
				banned[c.ID], on[c.ID] = true, false
			case '-':
				on[c.ID] = false
			case 0:
				on[c.ID] = !banned[c.ID]
			}
		}
	}
	var out []uint16
	for _, c := range all {
		if on[c.ID] {
			out = append(out, c.ID)
		}
	}
	if len(out) == 0 {
		// nginx's "no cipher match" comes only when OpenSSL has none of the
		// list either; fulcrum cannot tell (OpenSSL has suites Go's TLS
		// lacks, such as aNULL's and DHE's), so its own words.
		return nil, hintf(d.Pos, `Go's TLS 1.2 suites are ECDHE with AES-GCM, CHACHA20 or AES-CBC, and RSA with AES; "HIGH:!aNULL:!MD5" selects them`,
			`no cipher match in "%s %s"`, d.Name, d.Args[0])
	}
	if len(unknown) > 0 {
		b.warnDir(d, "Go's TLS does not implement them; the other suites are used",
			`ciphers %s in "%s" are ignored`, strings.Join(unknown, ", "), d.Name)
	}
	return out, nil
}

// isCipherSeparator reports whether r separates OpenSSL cipher list items.
func isCipherSeparator(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' }

// isCipherNameByte reports whether c continues a name in OpenSSL's rule
// parser (an item that starts with any other byte is an error).
func isCipherNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '='
}

// cipherItemValid reports whether OpenSSL 3's rule parser takes item, as
// recorded with nginx 1.22.1: after one of "!", "-", "+", a name must start
// at once ("[A|B]", "*", "_x" are "invalid command"); a name OpenSSL does not
// know ends the item, whatever follows ("TLS_AES_128_GCM_SHA256", "A/B" are
// ignored); after a name it knows only "+" and another name may follow
// ("AES*", "ECDHE-RSA-AES128-GCM-SHA256|AES128-SHA" are errors); "@" starts
// "@STRENGTH" or "@SECLEVEL=n" only. Names known to OpenSSL but not to
// fulcrum count as unknown, so fulcrum may take what OpenSSL refuses, never
// the reverse.
func cipherItemValid(item string) bool {
	if strings.IndexByte("!-+", item[0]) >= 0 {
		item = item[1:]
	}
	if strings.HasPrefix(item, "@") {
		return item == "@STRENGTH" || strings.HasPrefix(item, "@SECLEVEL=")
	}
	for {
		n := 0
		for n < len(item) && isCipherNameByte(item[n]) {
			n++
		}
		if n == 0 {
			return false
		}
		if _, known := cipherMatcher(item[:n]); !known || n == len(item) {
			return true
		}
		if item[n] != '+' {
			return false
		}
		item = item[n+1:]
		if item == "" {
			return false
		}
	}
}

// cipherMatcher returns the test of one item ("ECDHE-RSA-AES128-GCM-SHA256",
// "HIGH", "ECDHE+AESGCM"); false when it names something unknown to Go.
func cipherMatcher(item string) (func(string) bool, bool) {
	var tests []func(string) bool
	for part := range strings.SplitSeq(item, "+") {
		switch t, ok := cipherAliases[part]; {
		case ok:
			tests = append(tests, t)
		case slices.Contains(openSSLOnly, part):
			tests = append(tests, func(string) bool { return false })
		case slices.ContainsFunc(CipherSuites, func(c CipherSuite) bool { return c.OpenSSL == part }):
			name := part
			tests = append(tests, func(n string) bool { return n == name })
		default:
			return nil, false
		}
	}
	return func(n string) bool {
		for _, t := range tests {
			if !t(n) {
				return false
			}
		}
		return true
	}, true
}

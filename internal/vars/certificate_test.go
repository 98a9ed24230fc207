package vars

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

func readClientCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientCertVariables compares the $ssl_client_* variables with what
// nginx 1.22.1 (OpenSSL 3.0) answered for the same certificates:
// testdata/client-*.nginx are its responses to
//
//	return 200 "$ssl_client_escaped_cert\n---\n$ssl_client_raw_cert\n---\n$ssl_client_cert\n";
//	return 200 "v=$ssl_client_verify|s=$ssl_client_s_dn|i=$ssl_client_i_dn|ser=$ssl_client_serial|fp=...|vs=...|ve=...|vr=...\n";
//
// client-alice has a multi-valued RDN, a comma and an emailAddress;
// client-jose a leading "#" and space, a trailing space, RFC 2253's special
// characters, UTF-8, DC, UID, serialNumber and x500UniqueIdentifier.
func TestClientCertVariables(t *testing.T) {
	alice := readClientCert(t, "testdata/client-alice.pem")
	jose := readClientCert(t, "testdata/client-jose.pem")
	nginxAlice, err := os.ReadFile("testdata/client-alice.nginx")
	if err != nil {
		t.Fatal(err)
	}
	nginxJose, err := os.ReadFile("testdata/client-jose.nginx")
	if err != nil {
		t.Fatal(err)
	}
	// nginx answered 4 days, some hours before alice's notAfter.
	c := &Compiler{Now: func() time.Time { return alice.NotAfter.Add(-4*24*time.Hour - time.Hour) }}
	tests := []struct {
		name string
		cert *x509.Certificate
		tmpl string
		want string
	}{
		{"alice certs", alice, "$ssl_client_escaped_cert\n---\n$ssl_client_raw_cert\n---\n$ssl_client_cert\n",
			string(nginxAlice[:strings.Index(string(nginxAlice), "v=SUCCESS")])},
		{"alice fields", alice, "v=$ssl_client_verify|s=$ssl_client_s_dn|i=$ssl_client_i_dn|ser=$ssl_client_serial|fp=$ssl_client_fingerprint|vs=$ssl_client_v_start|ve=$ssl_client_v_end|vr=$ssl_client_v_remain",
			string(nginxAlice[strings.Index(string(nginxAlice), "v=SUCCESS") : len(nginxAlice)-1])},
		{"jose", jose, "v=$ssl_client_verify|s=$ssl_client_s_dn|i=$ssl_client_i_dn|ser=$ssl_client_serial\n", string(nginxJose)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := c.Compile(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			st := &State{}
			st.TLS = &TLS{Client: &ClientCert{Cert: tt.cert, Verify: "SUCCESS"}}
			if got := tm.String(st); got != tt.want {
				t.Errorf("got\n%s\nwant (nginx)\n%s", got, tt.want)
			}
		})
	}
}

// TestClientCertLegacyDN compares $ssl_client_s_dn_legacy and
// $ssl_client_i_dn_legacy (OpenSSL's X509_NAME_oneline) with nginx 1.22.1's
// answer for testdata/client-legacy.pem, a self-signed certificate made with
// openssl req -utf8 -subj "/C=US/O=Acme\/Co/OU=Ops+OU=Dev/CN=a\+b ü/emailAddress=x@y":
// testdata/client-legacy.nginx is its response to
//
//	return 200 "s=$ssl_client_s_dn_legacy|i=$ssl_client_i_dn_legacy\n";
//
// (the entries in the certificate's order, a multi-valued RDN's joined with
// "+" in DER order, "/" and "+" escaped, bytes outside printable ASCII as
// \xHH).
func TestClientCertLegacyDN(t *testing.T) {
	cert := readClientCert(t, "testdata/client-legacy.pem")
	want, err := os.ReadFile("testdata/client-legacy.nginx")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := (&Compiler{}).Compile("s=$ssl_client_s_dn_legacy|i=$ssl_client_i_dn_legacy\n")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	st.TLS = &TLS{Client: &ClientCert{Cert: cert, Verify: "SUCCESS"}}
	if got := tm.String(st); got != string(want) {
		t.Errorf("got\n%s\nwant (nginx)\n%s", got, want)
	}
}

// TestClientCertAbsent: on a plain connection the variables are not found;
// on TLS without a certificate too (nginx 1.22.1 logs "-" for
// $ssl_client_s_dn, recorded), but $ssl_client_verify, "NONE".
func TestClientCertAbsent(t *testing.T) {
	c := &Compiler{}
	names := []string{"ssl_client_verify", "ssl_client_s_dn", "ssl_client_i_dn", "ssl_client_serial", "ssl_client_fingerprint",
		"ssl_client_cert", "ssl_client_escaped_cert", "ssl_client_raw_cert", "ssl_client_v_start", "ssl_client_v_end", "ssl_client_v_remain",
		"ssl_client_s_dn_legacy", "ssl_client_i_dn_legacy"}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			g, err := c.resolve(n)
			if err != nil {
				t.Fatal(err)
			}
			if _, found := g(nil, &State{}); found {
				t.Errorf("found on a plain connection")
			}
			want := ""
			if n == "ssl_client_verify" {
				want = "NONE"
			}
			st := &State{}
			st.TLS = &TLS{}
			if got, found := g(nil, st); found != (want != "") || string(got) != want {
				t.Errorf("got %q %t, want %q", got, found, want)
			}
		})
	}
}

func TestClientCertVRemainExpired(t *testing.T) {
	alice := readClientCert(t, "testdata/client-alice.pem")
	c := &Compiler{Now: func() time.Time { return alice.NotAfter.Add(time.Second) }}
	tm, _ := c.Compile("$ssl_client_v_remain")
	st := &State{}
	st.TLS = &TLS{Client: &ClientCert{Cert: alice}}
	if got := tm.String(st); got != "0" {
		t.Errorf("got %q", got)
	}
}

func TestAppendDNUnknownTypes(t *testing.T) {
	// SEQUENCE { SET { SEQUENCE { OID 1.2.3.4, INTEGER 5 } } }: an unknown
	// type and a value that is not a string print as OID=#DER.
	raw := []byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x02, 0x02, 0x00, 0x05}
	if got := string(AppendDN(nil, raw)); got != "1.2.3.4=#02020005" {
		t.Errorf("got %q", got)
	}
	if got := AppendDN(nil, []byte{0x01}); len(got) != 0 {
		t.Errorf("bad DER: %q", got)
	}
}

package mail

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestSMTPClientHost: with a resolver, an SMTP session looks up the
// client's name before the greeting and gives it to auth_http (Client-Host)
// and the backend (XCLIENT NAME), as recorded with nginx 1.22.1 and a
// Python DNS server: the PTR name when its addresses include the client's,
// [UNAVAILABLE] when DNS does not know a name or the addresses leave the
// client out, [TEMPUNAVAIL] when a lookup failed otherwise (SERVFAIL, no
// answer within resolver_timeout), each failure logged at error in nginx's
// words, after the session's number ("*1"). A PTR name that is no host
// name is not passed on.
func TestSMTPClientHost(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*testutil.DNSServer)
		host  string
		log   string // the error line, "" for none
	}{
		{"confirmed", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "client.example")
			d.Set("client.example", "127.0.0.1")
		}, "client.example", ""},
		{"one of several addresses", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "client.example")
			d.Set("client.example", "10.0.0.1", "127.0.0.1", "2001:db8::1")
		}, "client.example", ""},
		{"no PTR", func(*testutil.DNSServer) {}, "[UNAVAILABLE]",
			"127.0.0.1 could not be resolved (3: Host not found) while in resolving client address, client: 127.0.0.1, server: "},
		{"PTR without a record", func(d *testutil.DNSServer) { d.Set("1.0.0.127.in-addr.arpa") }, "[UNAVAILABLE]",
			"127.0.0.1 could not be resolved (3: Host not found) while in resolving client address, client: 127.0.0.1, server: "},
		{"PTR server failure", func(d *testutil.DNSServer) { d.SetFailure("127.0.0.1") }, "[TEMPUNAVAIL]",
			"127.0.0.1 could not be resolved (2: Server failure) while in resolving client address, client: 127.0.0.1, server: "},
		{"PTR timeout", func(d *testutil.DNSServer) { d.SetSilent("127.0.0.1") }, "[TEMPUNAVAIL]",
			"127.0.0.1 could not be resolved (110: Operation timed out) while in resolving client address, client: 127.0.0.1, server: "},
		{"other address", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "client.example")
			d.Set("client.example", "10.0.0.1")
		}, "[UNAVAILABLE]", ""},
		{"name unknown", func(d *testutil.DNSServer) { d.SetPTR("127.0.0.1", "client.example") }, "[UNAVAILABLE]",
			`"client.example" could not be resolved (3: Host not found) while in resolving client hostname, client: 127.0.0.1, server: `},
		{"name server failure", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "client.example")
			d.SetFailure("client.example")
		}, "[TEMPUNAVAIL]",
			`"client.example" could not be resolved (2: Server failure) while in resolving client hostname, client: 127.0.0.1, server: `},
		{"name timeout", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "client.example")
			d.SetSilent("client.example")
		}, "[TEMPUNAVAIL]",
			`"client.example" could not be resolved (110: Operation timed out) while in resolving client hostname, client: 127.0.0.1, server: `},
		{"not a host name", func(d *testutil.DNSServer) {
			d.SetPTR("127.0.0.1", "x\r\nAuth-User: admin.example")
			d.Set("x\r\nAuth-User: admin.example", "127.0.0.1")
		}, "[UNAVAILABLE]",
			"127.0.0.1 resolved to an invalid name while in resolving client address, client: 127.0.0.1, server: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := testutil.StartDNSServer(t)
			tt.setup(dns)
			logFile := filepath.Join(t.TempDir(), "mail.log")
			e := newEnv(t, fmt.Sprintf("resolver %s valid=30s; resolver_timeout 300ms; error_log %s info;", dns.Addr, logFile))
			c := dial(t, e.servers[2])
			c.run([]step{
				{"", "220 mx.example ESMTP ready\r\n"},
				{"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"},
				{"AUTH PLAIN AGpvZQBwdw==\r\n", "235 2.0.0 OK\r\n"},
			})
			got := e.auth.requests.waitFor(t, 1)[0]
			if want := strings.Replace(authRequest("joe", "pw", "smtp", 1, ""), "[UNAVAILABLE]", tt.host, 1); got != want {
				t.Errorf("auth request %q, want %q", got, want)
			}
			want := []string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=" + tt.host + "\r\n", "EHLO x\r\n"}
			if got := e.back["smtp"].lines.waitFor(t, 3); !slices.Equal(got, want) {
				t.Errorf("backend read %q, want %q", got, want)
			}
			b, _ := os.ReadFile(logFile)
			var errs []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "[error]") {
					errs = append(errs, l)
				}
				// Every line of the session names it as nginx does: "*1".
				if strings.Contains(l, "client 127.0.0.1") || strings.Contains(l, "client: 127.0.0.1") {
					if !strings.Contains(l, "#0: *1 ") {
						t.Errorf("line %q lacks the session's number", l)
					}
				}
			}
			switch {
			case tt.log == "" && len(errs) > 0:
				t.Errorf("error lines %q, want none", errs)
			case tt.log != "" && (len(errs) != 1 || !strings.HasSuffix(errs[0], "*1 "+tt.log+e.servers[2])):
				t.Errorf("error lines %q, want one with %q", errs, tt.log+e.servers[2])
			}
		})
	}
}

// TestClientHostResolverPerInclude: each include of a file with a resolver
// line is its own resolver, with its own answers, as nginx makes one per
// directive it reads: nginx 1.22.1 asked DNS (PTR, A, AAAA) once for each of
// three SMTP servers that include one file, and not again for a second
// session on the first (recorded with a DNS server of its own).
func TestClientHostResolverPerInclude(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetPTR("127.0.0.1", "client.example")
	dns.Set("client.example", "127.0.0.1")
	inc := filepath.Join(t.TempDir(), "resolver.conf")
	if err := os.WriteFile(inc, []byte("resolver "+dns.Addr+" valid=30s;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, fmt.Sprintf(`server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; include %[1]s; }
server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; include %[1]s; }`, inc))
	for _, i := range []int{3, 4, 3} {
		c := dial(t, e.servers[i])
		c.expect("220 mx.example ESMTP ready\r\n")
		c.send("QUIT\r\n")
		c.expect("221 2.0.0 Bye\r\n")
	}
	if n := dns.Queries(); n != 6 { // PTR, A, AAAA for each server's resolver
		t.Errorf("%d DNS queries for two servers that include the resolver, want 6", n)
	}
}

// TestClientHostCachedAndSMTPOnly: a second session takes the names from
// the resolver's cache (valid=), and IMAP and POP3 sessions look nothing
// up and send no Client-Host, as nginx.
func TestClientHostCachedAndSMTPOnly(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetPTR("127.0.0.1", "client.example")
	dns.Set("client.example", "127.0.0.1")
	e := newEnv(t, fmt.Sprintf("resolver %s valid=30s;", dns.Addr))
	for range 2 {
		c := dial(t, e.servers[2])
		c.expect("220 mx.example ESMTP ready\r\n")
		c.send("QUIT\r\n")
		c.expect("221 2.0.0 Bye\r\n")
	}
	if n := dns.Queries(); n != 3 { // PTR, A, AAAA once
		t.Errorf("%d DNS queries for two sessions, want 3", n)
	}
	c := dial(t, e.servers[0])
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a LOGIN joe pw\r\n", "a OK done\r\n"}})
	if got := e.auth.requests.waitFor(t, 1)[0]; got != authRequest("joe", "pw", "imap", 1, "") {
		t.Errorf("auth request %q", got)
	}
	if n := dns.Queries(); n != 3 {
		t.Errorf("%d DNS queries after an IMAP session, want 3", n)
	}
}

package resolve

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
)

func TestReverseName(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"127.0.0.1", "1.0.0.127.in-addr.arpa."},
		{"192.0.2.10", "10.2.0.192.in-addr.arpa."},
		{"::ffff:10.1.2.3", "3.2.1.10.in-addr.arpa."},
		{"2001:db8::567:89ab", "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
	}
	for _, tt := range tests {
		if got := reverseName(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("reverseName(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

// TestResolveAddr: a PTR answer's name, kept in the cache; the failures in
// nginx's words (Describe) as its mail resolver logs them.
func TestResolveAddr(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetPTR("127.0.0.1", "client.example")
	dns.SetPTR("2001:db8::1", "six.example")
	dns.Set("2.0.0.127.in-addr.arpa") // the name, but no PTR record
	dns.SetFailure("127.0.0.3")
	dns.SetSilent("127.0.0.4")
	c := NewClient([]string{dns.Addr}, 300*time.Millisecond, true, true).WithCache(NewCache())
	now := time.Now()
	tests := []struct {
		ip, name, failure string
	}{
		{"127.0.0.1", "client.example", ""},
		{"2001:db8::1", "six.example", ""},
		{"127.0.0.2", "", "3: Host not found"},
		{"127.0.0.3", "", "2: Server failure"},
		{"127.0.0.4", "", "110: Operation timed out"},
		{"127.0.0.9", "", "3: Host not found"}, // NXDOMAIN
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			name, expires, err := c.ResolveAddr(context.Background(), netip.MustParseAddr(tt.ip), 0, now)
			if tt.failure != "" {
				if err == nil || Describe(err) != tt.failure {
					t.Fatalf("%q, %v: want the failure %q", name, err, tt.failure)
				}
				return
			}
			if err != nil || name != tt.name || !expires.Equal(now.Add(time.Second)) {
				t.Errorf("%q until %v, %v: want %q for a second", name, expires.Sub(now), err, tt.name)
			}
		})
	}
	before := dns.Queries()
	if name, _, err := c.ResolveAddr(context.Background(), netip.MustParseAddr("127.0.0.1"), 0, now.Add(500*time.Millisecond)); err != nil || name != "client.example" {
		t.Fatalf("cached: %q, %v", name, err)
	}
	if dns.Queries() != before {
		t.Error("a cached answer went to DNS again")
	}
	if _, _, err := c.ResolveAddr(context.Background(), netip.MustParseAddr("127.0.0.1"), 0, now.Add(2*time.Second)); err != nil || dns.Queries() != before+1 {
		t.Errorf("an expired answer: %v, %d queries, want one more than %d", err, dns.Queries(), before)
	}
}

// TestResolveAddrWithoutPTR: an answer whose records hold no PTR record (a
// CNAME alone, as nginx-tests' mail_resolver.t sends) is dropped with
// nginx 1.22.1's line "no PTR type in DNS response", and the lookup times
// out, "(110: Operation timed out)", as nginx's does (recorded: the mail
// client gets [TEMPUNAVAIL]); an answer without records is a name not found.
func TestResolveAddrWithoutPTR(t *testing.T) {
	s := &zoneDNS{zone: map[string]map[uint16]zoneAnswer{
		"1.0.0.127.in-addr.arpa": {12: {recs: []string{"cname:1.1.0.0.127.in-addr.arpa"}}},
		"2.0.0.127.in-addr.arpa": {12: {}},
	}}
	startZoneDNS(t, s)
	var logged strings.Builder
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Error}}, Stderr: &logged})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient([]string{s.addr}, 300*time.Millisecond, true, true).WithLog(log)
	_, _, err = c.ResolveAddr(context.Background(), netip.MustParseAddr("127.0.0.1"), 0, time.Now())
	if err == nil || Describe(err) != "110: Operation timed out" {
		t.Errorf("a CNAME alone: %v, want (110: Operation timed out)", err)
	}
	if !strings.Contains(logged.String(), "[error]") || !strings.Contains(logged.String(), "no PTR type in DNS response") {
		t.Errorf("log %q, want nginx's no PTR type line", logged.String())
	}
	_, _, err = c.ResolveAddr(context.Background(), netip.MustParseAddr("127.0.0.2"), 0, time.Now())
	if err == nil || Describe(err) != "3: Host not found" {
		t.Errorf("no records: %v, want (3: Host not found)", err)
	}
}

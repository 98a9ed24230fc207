package testutil

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer is a small authoritative DNS server on 127.0.0.1 (UDP) for
// tests: it answers A and AAAA queries for the names given to Set, SetTTL
// and SetCNAME, NXDOMAIN for the others, and counts the queries it got.
type DNSServer struct {
	// Addr is where it listens, "127.0.0.1:port".
	Addr string
	mu   sync.Mutex // guards names, queries and asked
	// names are the records per lower-case fully qualified name.
	names   map[string]dnsRecords
	queries int
	asked   map[string]int
}

// dnsRecords are one name's records: its addresses, or a CNAME, and
// their TTL.
type dnsRecords struct {
	addrs []netip.Addr
	cname string
	ttl   uint32
}

// dnsKey is the map key of name: lower case, fully qualified.
func dnsKey(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// StartDNSServer starts a DNSServer that stops with the test.
func StartDNSServer(t testing.TB) *DNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &DNSServer{Addr: pc.LocalAddr().String(), names: map[string]dnsRecords{}, asked: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := s.answer(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return s
}

// Set makes name resolve to addrs (none: an empty answer), with a TTL of
// one second.
func (s *DNSServer) Set(name string, addrs ...string) {
	s.SetTTL(name, 1, addrs...)
}

// SetTTL makes name resolve to addrs with records of ttl seconds.
func (s *DNSServer) SetTTL(name string, ttl uint32, addrs ...string) {
	var list []netip.Addr
	for _, a := range addrs {
		list = append(list, netip.MustParseAddr(a))
	}
	s.mu.Lock()
	s.names[dnsKey(name)] = dnsRecords{addrs: list, ttl: ttl}
	s.mu.Unlock()
}

// SetCNAME makes name an alias of target, with a CNAME record of ttl
// seconds. The answer holds target's records too when the server knows
// them (as a recursive server's does), else the CNAME alone.
func (s *DNSServer) SetCNAME(name, target string, ttl uint32) {
	s.mu.Lock()
	s.names[dnsKey(name)] = dnsRecords{cname: dnsKey(target), ttl: ttl}
	s.mu.Unlock()
}

// Queries is how many queries the server answered.
func (s *DNSServer) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// QueriesFor is how many queries about name the server answered.
func (s *DNSServer) QueriesFor(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[dnsKey(name)]
}

// answer builds the reply to one query, nil for a message it cannot read.
func (s *DNSServer) answer(req []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	s.queries++
	key := strings.ToLower(q.Name.String())
	s.asked[key]++
	recs, known := s.names[key]
	var alias *dnsRecords
	if target, ok := s.names[recs.cname]; ok && recs.cname != "" {
		alias = &target
	}
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	name := q.Name
	if recs.cname != "" {
		target := dnsmessage.MustNewName(recs.cname)
		b.CNAMEResource(dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: recs.ttl}, dnsmessage.CNAMEResource{CNAME: target})
		if alias == nil {
			recs = dnsRecords{}
		} else {
			name, recs = target, *alias
		}
	}
	for _, a := range recs.addrs {
		rrh := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: recs.ttl}
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			rrh.Type = dnsmessage.TypeA
			b.AResource(rrh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			rrh.Type = dnsmessage.TypeAAAA
			b.AAAAResource(rrh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

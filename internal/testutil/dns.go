package testutil

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer is a small authoritative DNS server on 127.0.0.1 (UDP) for
// tests: it answers A and AAAA queries for the names given to Set, SetTTL
// and SetCNAME, PTR queries for the addresses given to SetPTR, SERVFAIL
// for the names given to SetFailure, nothing at all for those given to
// SetSilent, NXDOMAIN for the others, and counts the queries it got.
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
	ptr   string
	ttl   uint32
	// fail answers SERVFAIL; silent answers nothing.
	fail, silent bool
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

// SetPTR makes the reverse name of ip (its in-addr.arpa or ip6.arpa name)
// a PTR record naming name, with a TTL of one second.
func (s *DNSServer) SetPTR(ip, name string) {
	s.mu.Lock()
	s.names[reverseName(netip.MustParseAddr(ip))] = dnsRecords{ptr: dnsKey(name), ttl: 1}
	s.mu.Unlock()
}

// SetFailure makes every query about name (a reverse name for an address
// given as an IP) answered with SERVFAIL.
func (s *DNSServer) SetFailure(name string) {
	s.mu.Lock()
	s.names[nameOrReverse(name)] = dnsRecords{fail: true}
	s.mu.Unlock()
}

// SetSilent makes every query about name (a reverse name for an address
// given as an IP) go unanswered, as a DNS server that is down.
func (s *DNSServer) SetSilent(name string) {
	s.mu.Lock()
	s.names[nameOrReverse(name)] = dnsRecords{silent: true}
	s.mu.Unlock()
}

// nameOrReverse is the map key of name, or of the reverse name of the
// address name is.
func nameOrReverse(name string) string {
	if ip, err := netip.ParseAddr(name); err == nil {
		return reverseName(ip)
	}
	return dnsKey(name)
}

// reverseName is ip's PTR name, as the map keeps it.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", a[3], a[2], a[1], a[0])
	}
	var b strings.Builder
	a := ip.As16()
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", a[i]&0xf, a[i]>>4)
	}
	return b.String() + "ip6.arpa."
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
	if recs.silent {
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	switch {
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	case recs.fail:
		rh.RCode = dnsmessage.RCodeServerFailure
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
	if recs.ptr != "" && q.Type == dnsmessage.TypePTR {
		b.PTRResource(dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET, TTL: recs.ttl}, dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(recs.ptr)})
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

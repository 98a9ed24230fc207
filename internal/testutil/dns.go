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
// tests: it answers A and AAAA queries for the names given to Set, NXDOMAIN
// for the others, and counts the queries it got.
type DNSServer struct {
	// Addr is where it listens, "127.0.0.1:port".
	Addr string
	mu   sync.Mutex // guards addrs and queries
	// addrs are the addresses per lower-case fully qualified name.
	addrs   map[string][]netip.Addr
	queries int
}

// StartDNSServer starts a DNSServer that stops with the test.
func StartDNSServer(t testing.TB) *DNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &DNSServer{Addr: pc.LocalAddr().String(), addrs: map[string][]netip.Addr{}}
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

// Set makes name resolve to addrs (none: an empty answer).
func (s *DNSServer) Set(name string, addrs ...string) {
	key := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	var list []netip.Addr
	for _, a := range addrs {
		list = append(list, netip.MustParseAddr(a))
	}
	s.mu.Lock()
	s.addrs[key] = list
	s.mu.Unlock()
}

// Queries is how many queries the server answered.
func (s *DNSServer) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
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
	addrs, known := s.addrs[strings.ToLower(q.Name.String())]
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
	for _, a := range addrs {
		rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
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

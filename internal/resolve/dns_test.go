package resolve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/errlog"
)

// tcpDNS is a DNS server on one 127.0.0.1 port, UDP and TCP, built on
// the standard library alone so that its wire format is not the client's
// own package's: over UDP it answers with udp (and the TC bit when
// truncated), over TCP with tcp; a nil tcp closes the connection unread.
type tcpDNS struct {
	addr      string
	truncated bool
	udp, tcp  []rr
	// wrongID makes the TCP answer carry another query's ID.
	wrongID bool
	// wrongUDP is how many of the first UDP answers carry another
	// query's ID.
	wrongUDP int32
	udpN     atomic.Int32
	tcpN     atomic.Int32
}

// rr is one address record of the answer, for A or AAAA questions.
type rr struct {
	addr string
	ttl  uint32
}

// startTCPDNS listens on a port free for both UDP and TCP and serves s
// until the test ends.
func startTCPDNS(t *testing.T, s *tcpDNS) {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		p, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err != nil {
			p.Close()
			if try == 20 {
				t.Fatalf("no port free for both UDP and TCP: %v", err)
			}
			continue
		}
		pc, ln = p, l
	}
	s.addr = pc.LocalAddr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			wrong := s.udpN.Add(1) <= s.wrongUDP
			if resp := s.reply(buf[:n], s.udp, s.truncated, wrong); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.tcpN.Add(1)
			s.serveTCP(c)
		}
	}()
	t.Cleanup(func() { pc.Close(); ln.Close(); wg.Wait() })
}

// serveTCP reads one length-prefixed query from c and answers it.
func (s *tcpDNS) serveTCP(c net.Conn) {
	defer c.Close()
	if s.tcp == nil {
		return
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return
	}
	q := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, q); err != nil {
		return
	}
	resp := s.reply(q, s.tcp, false, s.wrongID)
	if resp == nil {
		return
	}
	c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp))))
	c.Write(resp)
}

// reply builds the answer to query q with the records of answers that fit
// its type (A or AAAA), nil for a query it cannot read.
func (s *tcpDNS) reply(q []byte, answers []rr, truncated, wrongID bool) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12 // the question: labels, a zero byte, type and class
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5
	if end > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[end-4:])
	var recs [][]byte
	for _, a := range answers {
		ip := netip.MustParseAddr(a.addr)
		switch {
		case qtype == 1 && ip.Is4():
			b := ip.As4()
			recs = append(recs, record(1, a.ttl, b[:]))
		case qtype == 28 && ip.Is6():
			b := ip.As16()
			recs = append(recs, record(28, a.ttl, b[:]))
		}
	}
	flags := uint16(0x8180) // a response, recursion desired and available
	if truncated {
		flags |= 0x0200 // TC
	}
	id := binary.BigEndian.Uint16(q)
	if wrongID {
		id++
	}
	out := binary.BigEndian.AppendUint16(nil, id)
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(recs)))
	out = append(out, 0, 0, 0, 0)
	out = append(out, q[12:end]...)
	for _, r := range recs {
		out = append(out, r...)
	}
	return out
}

// record is one answer record about the question's name (a pointer to
// offset 12) of type typ.
func record(typ uint16, ttl uint32, data []byte) []byte {
	b := []byte{0xc0, 12}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// TestTruncatedAnswerOverTCP: a UDP answer with the TC bit is asked again
// over TCP of the same server, and the TCP answer is the one taken, its
// TTL too; the truncated one is never used, even when TCP fails.
func TestTruncatedAnswerOverTCP(t *testing.T) {
	short := []rr{{"10.9.9.9", 5}} // what a client ignoring TC would take
	whole := []rr{{"10.0.0.2", 300}, {"10.0.0.1", 600}, {"2001:db8::1", 400}}
	tests := []struct {
		name       string
		truncated  bool
		udp0, tcp0 []rr // the server's answers (tcpDNS.udp, tcpDNS.tcp)
		wrongID    bool
		ipv6       bool
		want       string
		ttl        time.Duration
		udp, tcp   int32 // the queries each side got
		wantError  bool
	}{
		{"truncated: the TCP answer", true, short, whole, false, false, "[10.0.0.1 10.0.0.2]", 300 * time.Second, 1, 1, false},
		{"truncated, both families", true, short, whole, false, true, "[10.0.0.1 10.0.0.2 2001:db8::1]", 300 * time.Second, 2, 2, false},
		{"not truncated: UDP alone", false, whole, short, false, false, "[10.0.0.1 10.0.0.2]", 300 * time.Second, 1, 0, false},
		{"truncated, TCP closes unanswered", true, short, nil, false, false, "", 0, 1, 1, true},
		{"truncated, TCP answers another query", true, short, whole, true, false, "", 0, 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &tcpDNS{truncated: tt.truncated, udp: tt.udp0, tcp: tt.tcp0, wrongID: tt.wrongID}
			startTCPDNS(t, s)
			c := NewClient([]string{s.addr}, 5*time.Second, true, tt.ipv6)
			addrs, ttl, err := c.LookupTTL(context.Background(), "big.test")
			if tt.wantError {
				var de *net.DNSError
				if err == nil || !errors.As(err, &de) {
					t.Fatalf("%v %v %v, want a DNS error", addrs, ttl, err)
				}
			} else if err != nil || fmt.Sprint(addrs) != tt.want || ttl != tt.ttl {
				t.Fatalf("%v %v %v, want %s %v", addrs, ttl, err, tt.want, tt.ttl)
			}
			if u, n := s.udpN.Load(), s.tcpN.Load(); u != tt.udp || n != tt.tcp {
				t.Errorf("the server got %d UDP and %d TCP queries, want %d and %d", u, n, tt.udp, tt.tcp)
			}
		})
	}
}

// TestResendAfterWrongID: an answer with another query's ID is skipped and
// logged, and the query is sent again after the resend interval (nginx's
// 5 seconds) rather than waited on until resolver_timeout, as nginx 1.22.1
// answers nginx-tests' http_resolver.t "resend after malformed response"
// (recorded: "wrong ident 59039 in DNS response for id.example.net, expect
// 59038", then the resend's answer is used).
func TestResendAfterWrongID(t *testing.T) {
	s := &tcpDNS{udp: []rr{{"10.0.0.1", 60}}, wrongUDP: 1}
	startTCPDNS(t, s)
	var logged strings.Builder
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Error}}, Stderr: &logged})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient([]string{s.addr}, 3*time.Second, true, false).WithLog(log)
	c.resend = 50 * time.Millisecond
	addrs, _, err := c.LookupTTL(context.Background(), "id.example.net")
	if err != nil || fmt.Sprint(addrs) != "[10.0.0.1]" {
		t.Fatalf("%v %v, want [10.0.0.1]", addrs, err)
	}
	if n := s.udpN.Load(); n != 2 {
		t.Errorf("the server got %d queries, want 2 (the first and its resend)", n)
	}
	if !strings.Contains(logged.String(), "wrong ident ") || !strings.Contains(logged.String(), " in DNS response for id.example.net, expect ") {
		t.Errorf("log %q, want nginx's wrong ident line", logged.String())
	}
}

// zoneDNS is a UDP DNS server that answers each name and type from zone:
// an rcode, and records about the name (an address, or "cname:TARGET").
type zoneDNS struct {
	addr string
	zone map[string]map[uint16]zoneAnswer
}

// zoneAnswer is one answer of a zoneDNS: its rcode and records.
type zoneAnswer struct {
	rcode uint16
	recs  []string
}

// startZoneDNS serves s on a UDP port of 127.0.0.1 until the test ends.
func startZoneDNS(t *testing.T, s *zoneDNS) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = pc.LocalAddr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := s.reply(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
}

// wireName is name in DNS labels, uncompressed.
func wireName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// reply answers query q from the zone (an empty NOERROR for what it does
// not hold); each record is about the name the previous CNAME led to.
func (s *zoneDNS) reply(q []byte) []byte {
	var labels []string
	end := 12
	for end < len(q) && q[end] != 0 {
		l := int(q[end])
		if end+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[end+1:end+1+l]))
		end += l + 1
	}
	end += 5
	if end > len(q) {
		return nil
	}
	name := strings.Join(labels, ".")
	qtype := binary.BigEndian.Uint16(q[end-4:])
	a := s.zone[name][qtype]
	out := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
	out = binary.BigEndian.AppendUint16(out, 0x8180|a.rcode)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(a.recs)))
	out = append(out, 0, 0, 0, 0)
	out = append(out, q[12:end]...)
	owner := name
	for _, r := range a.recs {
		typ, data := uint16(5), []byte(nil)
		if target, ok := strings.CutPrefix(r, "cname:"); ok {
			data = wireName(target)
		} else if ip := netip.MustParseAddr(r); ip.Is4() {
			b := ip.As4()
			typ, data = 1, b[:]
		} else {
			b := ip.As16()
			typ, data = 28, b[:]
		}
		out = append(out, wireName(owner)...)
		out = binary.BigEndian.AppendUint16(out, typ)
		out = binary.BigEndian.AppendUint16(out, 1)
		out = binary.BigEndian.AppendUint32(out, 60)
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
		out = append(out, data...)
		if typ == 5 {
			owner = strings.TrimPrefix(r, "cname:")
		}
	}
	return out
}

// TestAAndAAAATogether: the answers to a name's A and AAAA queries are put
// together as nginx 1.22.1's resolver does (recorded with nginx-tests'
// http_resolver_aaaa.t, whose names these are): an error answer to either
// fails the name; the addresses of both are its addresses, and a CNAME is
// followed, with both types, only when neither answer gave an address and
// the last (AAAA) answer is the CNAME alone.
func TestAAndAAAATogether(t *testing.T) {
	const (
		a, aaaa  = 1, 28
		servfail = 2
	)
	ok := func(recs ...string) zoneAnswer { return zoneAnswer{recs: recs} }
	zone := map[string]map[uint16]zoneAnswer{
		"alias2.test": {a: ok("10.0.0.201"), aaaa: ok("fe80::1")},
		"alias4.test": {a: ok("10.0.0.4")},
		"alias6.test": {aaaa: ok("fe80::6")},
		"n_e.test":    {a: ok("10.0.0.1"), aaaa: {rcode: servfail}},
		"e_n.test":    {a: {rcode: servfail}, aaaa: ok("fe80::1")},
		"cn_e.test":   {a: ok("cname:alias2.test", "10.0.0.201"), aaaa: {rcode: servfail}},
		"n_c.test":    {a: ok("10.0.0.1"), aaaa: ok("cname:alias2.test")},
		"c_z.test":    {a: ok("cname:alias2.test")},
		"c_n.test":    {a: ok("cname:alias2.test"), aaaa: ok("fe80::9")},
		"z_c.test":    {aaaa: ok("cname:alias2.test")},
		"c1_c2.test":  {a: ok("cname:alias4.test"), aaaa: ok("cname:alias6.test")},
		"c_cn.test":   {a: ok("cname:alias2.test"), aaaa: ok("cname:alias2.test", "fe80::1", "fe80::2")},
		"cn_c.test":   {a: ok("cname:alias2.test", "10.0.0.201", "10.0.0.202"), aaaa: ok("cname:alias2.test")},
	}
	s := &zoneDNS{zone: zone}
	startZoneDNS(t, s)
	tests := []struct {
		name, want string // want: the addresses, or "error"
	}{
		{"n_e.test", "error"},
		{"e_n.test", "error"},
		{"cn_e.test", "error"},
		{"n_c.test", "[10.0.0.1]"},
		{"c_z.test", "error"},
		{"c_n.test", "[fe80::9]"},
		{"z_c.test", "[10.0.0.201 fe80::1]"},
		{"c1_c2.test", "[fe80::6]"},
		{"c_cn.test", "[fe80::1 fe80::2]"},
		{"cn_c.test", "[10.0.0.201 10.0.0.202]"},
	}
	c := NewClient([]string{s.addr}, 2*time.Second, true, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs, _, err := c.LookupTTL(context.Background(), tt.name)
			got := fmt.Sprint(addrs)
			if err != nil {
				got = "error"
			}
			if got != tt.want {
				t.Errorf("%s: %s (%v), want %s", tt.name, got, err, tt.want)
			}
		})
	}
}

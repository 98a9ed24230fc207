package resolve

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"fulcrum/internal/errlog"

	"golang.org/x/net/dns/dnsmessage"
)

// maxCNAMEs bounds the chain of CNAME records one lookup follows.
const maxCNAMEs = 8

// answer is what one query of one type found: the addresses and the
// smallest TTL of the records that led to them (CNAMEs included), as
// nginx's resolver keeps an answer for that long.
type answer struct {
	addrs []netip.Addr
	ttl   uint32
	// none reports that there was no record to take a TTL from.
	none bool
}

// merge adds b's addresses and keeps the smaller TTL.
func (a *answer) merge(b answer) {
	a.addrs = append(a.addrs, b.addrs...)
	if b.none {
		return
	}
	if a.none || b.ttl < a.ttl {
		a.ttl = b.ttl
	}
	a.none = false
}

// lookupName asks for name's records of each of the client's types (A,
// then AAAA) and puts the answers together as nginx's resolver does
// (ngx_resolver_process_a; recorded with nginx 1.22.1 and nginx-tests'
// http_resolver_aaaa.t): an error answer (SERVFAIL, NXDOMAIN) to either
// query fails the name, whatever the other found; else the addresses of
// both answers are the name's. A name neither answer gave an address for
// is resolved again under a CNAME's target, with every type, when the last
// answer is that CNAME alone (a CNAME that only an earlier answer gave, the
// last one empty, is not followed: the name is not found). An unknown name
// is a net.DNSError with IsNotFound, no answer in time one with IsTimeout.
func (c *Client) lookupName(ctx context.Context, name string) (answer, error) {
	out := answer{none: true}
	target := name
	for range maxCNAMEs {
		got, next, err := c.askTypes(ctx, target, name)
		if err != nil {
			return out, err
		}
		out.merge(got)
		if len(got.addrs) > 0 {
			return out, nil
		}
		if next == "" {
			return out, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		target = next // only a CNAME: ask for its target
	}
	return out, &net.DNSError{Err: "too many CNAME records", Name: name}
}

// askTypes sends target's query of each of the client's types and returns
// the addresses they found and the CNAME the last answer ended in ("" when
// it had none, or had addresses); an error answer to any of them is the
// error (the first one's), a failed exchange ends the lookup at once. name
// is the name the lookup began with, for the error.
func (c *Client) askTypes(ctx context.Context, target, name string) (got answer, next string, err error) {
	got.none = true
	var failed error
	for _, qt := range c.types() {
		msg, err := c.exchange(ctx, target, qt)
		if err != nil {
			return got, "", err
		}
		switch msg.RCode {
		case dnsmessage.RCodeSuccess:
		case dnsmessage.RCodeNameError:
			failed = cmp.Or(failed, error(&net.DNSError{Err: "no such host", Name: name, IsNotFound: true}))
			continue
		default:
			failed = cmp.Or(failed, error(&net.DNSError{Err: "server misbehaving: " + msg.RCode.String(), Name: name, IsTemporary: true}))
			continue
		}
		a, cname := records(msg.Answers, target, qt)
		got.merge(a)
		next = cname
	}
	if failed != nil {
		return got, "", failed
	}
	return got, next, nil
}

// records takes from answers the addresses of name, following CNAME
// records in any order, and their smallest TTL; next is the end of a CNAME
// chain with no address in answers ("" when there was no CNAME).
func records(answers []dnsmessage.Resource, name string, qt dnsmessage.Type) (a answer, next string) {
	a.none = true
	target := name
	used := make([]bool, len(answers))
	for progress := true; progress; {
		progress = false
		for i, r := range answers {
			if used[i] || !strings.EqualFold(r.Header.Name.String(), target) {
				continue
			}
			switch body := r.Body.(type) {
			case *dnsmessage.CNAMEResource:
				target, next, progress = body.CNAME.String(), body.CNAME.String(), true
			case *dnsmessage.AResource:
				if qt != dnsmessage.TypeA {
					continue
				}
				a.addrs = append(a.addrs, netip.AddrFrom4(body.A))
			case *dnsmessage.AAAAResource:
				if qt != dnsmessage.TypeAAAA {
					continue
				}
				a.addrs = append(a.addrs, netip.AddrFrom16(body.AAAA).Unmap())
			default:
				continue
			}
			used[i] = true
			a.merge(answer{ttl: r.Header.TTL})
		}
	}
	if len(a.addrs) > 0 {
		next = ""
	}
	return a, next
}

// exchange sends one query to the client's DNS servers, each in turn
// until one answers, over UDP, and over TCP to the same server when the
// answer was truncated.
func (c *Client) exchange(ctx context.Context, name string, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	q, id, err := query(name, qt)
	if err != nil {
		return nil, err
	}
	var last error
	var refused []string
	for left := len(c.servers); left > 0; left-- {
		server := c.servers[int(c.next.Add(1)-1)%len(c.servers)]
		msg, err := c.askShare(ctx, left, server, q, id, name, qt)
		if err == nil {
			return msg, nil
		}
		if ctx.Err() != nil {
			return nil, dnsError(ctx.Err(), name)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			refused = append(refused, server)
			if c.log != nil && len(c.servers) > 1 {
				// nginx's line as it goes on to the next server
				// (recorded: "resolver 127.0.0.11 10.0.0.2" with
				// nothing at the first).
				c.log.Logf(errlog.Error, "recv() failed (%s) while resolving, resolver: %s", errlog.Errno(err), server)
			}
		}
		last = err
	}
	if len(refused) == len(c.servers) {
		return nil, &refusedError{servers: refused, err: last}
	}
	return nil, dnsError(last, name)
}

// refusedError is an exchange every DNS server refused (an ICMP port
// unreachable: nothing listens there, as 127.0.0.11 outside Docker), which
// nginx takes as no answer (see Client.refused).
type refusedError struct {
	servers []string
	err     error
}

func (e *refusedError) Error() string { return "refused by " + strings.Join(e.servers, ", ") }

func (e *refusedError) Unwrap() error { return e.err }

// refused logs a query every server refused as nginx 1.22.1 does, and
// waits, as nginx waits for an answer, until ctx ends (resolver_timeout):
// the lookup then fails as timed out (recorded: a 502 after the timeout,
// "could not be resolved (110: Operation timed out)"). nginx's line depends
// on the queries it sends: with one type, the refusal comes as its read
// fails, "recv() failed (111: Connection refused) while resolving,
// resolver: ADDR"; with A and AAAA, the second send fails, and nginx tries
// both once more: "send() failed (...)" twice (recorded with one server;
// with several, exchange writes a "recv() failed" line for each refusal).
func (c *Client) refused(ctx context.Context, e *refusedError, name string) error {
	if c.log != nil && len(c.servers) == 1 { // (several: exchange wrote theirs)
		call, times := "recv()", 1
		if len(c.types()) > 1 {
			call, times = "send()", 2
		}
		for range times {
			for _, server := range e.servers {
				c.log.Logf(errlog.Error, "%s failed (%s) while resolving, resolver: %s", call, errlog.Errno(e.err), server)
			}
		}
	}
	<-ctx.Done()
	return dnsError(ctx.Err(), name)
}

// askShare asks server, over UDP then TCP for a truncated answer, within
// its share of the time ctx has left: an even part for each of the left
// servers still to ask, so one that does not answer leaves time for the
// next.
func (c *Client) askShare(ctx context.Context, left int, server string, q []byte, id uint16, name string, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	if dl, ok := ctx.Deadline(); ok && left > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(left))
		defer cancel()
	}
	msg, err := c.ask(ctx, "udp", server, q, id, name, qt)
	if err == nil && msg.Truncated {
		msg, err = c.ask(ctx, "tcp", server, q, id, name, qt)
	}
	return msg, err
}

// dnsError words a failed exchange as Go's resolver does: a timeout is a
// net.DNSError with IsTimeout.
func dnsError(err error, name string) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
}

// query builds a recursive query for name's records of type qt.
func query(name string, qt dnsmessage.Type) ([]byte, uint16, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, 0, &net.DNSError{Err: "invalid name", Name: name, IsNotFound: true}
	}
	id := uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(make([]byte, 2, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, 0, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: qt, Class: dnsmessage.ClassINET}); err != nil {
		return nil, 0, err
	}
	msg, err := b.Finish() // msg[:2] is room for the TCP length
	return msg, id, err
}

// ask sends q (with 2 bytes in front of it for TCP's length) to server
// and reads the answer with its ID and question.
func (c *Client) ask(ctx context.Context, network, server string, q []byte, id uint16, name string, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if network == "tcp" {
		binary.BigEndian.PutUint16(q, uint16(len(q)-2))
		return readTCP(conn, q, id, name, qt)
	}
	return c.readUDP(ctx, conn, q[2:], id, name, qt)
}

// resendEvery is how long a UDP query waits for its answer before it is
// sent again, as nginx's resolver resends a query every 5 seconds until
// resolver_timeout (its resend_timeout): an answer that was lost, or one
// that could not be taken (another query's ID), does not fail the lookup.
const resendEvery = 5 * time.Second

// readUDP sends q and reads until the answer to it comes, sending q again
// every resend interval (resendEvery unless the client sets its own) until
// ctx ends. An answer with another ID is logged as nginx logs it and
// skipped.
func (c *Client) readUDP(ctx context.Context, conn net.Conn, q []byte, id uint16, name string, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	every := cmp.Or(c.resend, resendEvery)
	buf := make([]byte, 1232)
	for {
		if _, err := conn.Write(q); err != nil {
			return nil, err
		}
		wait := time.Now().Add(every)
		if dl, ok := ctx.Deadline(); ok && dl.Before(wait) {
			wait = dl
		}
		conn.SetReadDeadline(wait)
		if ctx.Err() != nil { // ctx's AfterFunc may have run before this deadline
			return nil, ctx.Err()
		}
		for {
			n, err := conn.Read(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil && !time.Now().Before(wait) {
				break // no answer yet: send the query again
			}
			if err != nil {
				return nil, err
			}
			msg, ok := parse(buf[:n], id, name, qt)
			if ok {
				return msg, nil
			}
			c.logWrongID(buf[:n], id, name, qt)
		}
	}
}

// logWrongID writes nginx's line about an answer to the question whose ID
// is not the query's (recorded with nginx 1.22.1: "wrong ident 59039 in
// DNS response for id.example.net, expect 59038", at error level without
// a request): the answer is skipped and the query waits on.
func (c *Client) logWrongID(b []byte, id uint16, name string, qt dnsmessage.Type) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || c.log == nil || !h.Response || h.ID == id {
		return
	}
	if qq, err := p.Question(); err == nil && qq.Type == qt && strings.EqualFold(qq.Name.String(), name) {
		c.log.Logf(errlog.Error, "wrong ident %d in DNS response for %s, expect %d", h.ID, strings.TrimSuffix(name, "."), id)
	}
}

// readTCP sends q over a TCP connection and reads the one answer.
func readTCP(conn net.Conn, q []byte, id uint16, name string, qt dnsmessage.Type) (*dnsmessage.Message, error) {
	if _, err := conn.Write(q); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	msg, ok := parse(buf, id, name, qt)
	if !ok {
		return nil, fmt.Errorf("an answer to another question from %s", conn.RemoteAddr())
	}
	return msg, nil
}

// parse reads an answer, ok when it is a response to the query id about
// name and qt.
func parse(b []byte, id uint16, name string, qt dnsmessage.Type) (*dnsmessage.Message, bool) {
	var msg dnsmessage.Message
	if err := msg.Unpack(b); err != nil || !msg.Response || msg.ID != id || len(msg.Questions) != 1 {
		return nil, false
	}
	qq := msg.Questions[0]
	if qq.Type != qt || !strings.EqualFold(qq.Name.String(), name) {
		return nil, false
	}
	return &msg, true
}

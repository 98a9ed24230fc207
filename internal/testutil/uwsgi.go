package testutil

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// errUWSGIVars is a uwsgi packet whose variables overrun it.
var errUWSGIVars = errors.New("uwsgi variables overrun the packet")

// ReadUWSGI reads one uwsgi request packet's header and variables from r,
// as a test backend receives them (any body follows): its two modifiers
// and its variables in order.
func ReadUWSGI(r io.Reader) (mods [2]byte, vars [][2]string, err error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return mods, nil, err
	}
	mods = [2]byte{h[0], h[3]}
	packet := make([]byte, binary.LittleEndian.Uint16(h[1:3]))
	if _, err := io.ReadFull(r, packet); err != nil {
		return mods, nil, err
	}
	for len(packet) > 0 {
		var k, v string
		if k, packet, err = uwsgiString(packet); err != nil {
			return mods, vars, err
		}
		if v, packet, err = uwsgiString(packet); err != nil {
			return mods, vars, err
		}
		vars = append(vars, [2]string{k, v})
	}
	return mods, vars, nil
}

// uwsgiString reads one length-prefixed string of a uwsgi packet.
func uwsgiString(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, errUWSGIVars
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, errUWSGIVars
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

// UWSGIVar is the value of name in vars ("" without it).
func UWSGIVar(vars [][2]string, name string) string {
	for _, kv := range vars {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

// SUWSGIBackend starts a uwsgi application behind TLS, its certificate for
// backend.test signed by ca. It answers each connection's packet (nginx
// sends one a connection) with the handshake's SNI, whether the session
// was resumed, and the packet's REQUEST_URI: "sni=S resumed=B uri=U".
// conns counts the connections it accepted.
func SUWSGIBackend(t testing.TB, ca *CA) (addr string, conns *atomic.Int64) {
	t.Helper()
	certPEM, keyPEM := ca.Issue(t, Leaf{Subject: pkix.Name{CommonName: "backend.test"},
		DNSNames: []string{"backend.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	Serve(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}}), func(c net.Conn) {
		conns.Add(1)
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			return
		}
		_, vars, err := ReadUWSGI(bufio.NewReader(c))
		if err != nil {
			return
		}
		cs := tc.ConnectionState()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsni=%s resumed=%t uri=%s", cs.ServerName, cs.DidResume, UWSGIVar(vars, "REQUEST_URI"))
	})
	return ln.Addr().String(), conns
}

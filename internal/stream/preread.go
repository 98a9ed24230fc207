package stream

import (
	"time"

	"fulcrum/internal/errlog"
)

// ssl_preread (ngx_stream_ssl_preread_module): the session's first bytes
// are read, without terminating TLS, until they hold a whole TLS
// ClientHello, for $ssl_preread_server_name, $ssl_preread_alpn_protocols
// and $ssl_preread_protocol; then they go to the upstream server unchanged,
// ahead of the rest. The parser follows nginx 1.22's, quirks included: it
// reads record by record, takes the first server_name and ALPN extensions,
// and says TLSv1.3 for any supported_versions extension.

// statusBadRequest is nginx's NGX_STREAM_BAD_REQUEST: ssl_preread's
// buffer filled before the ClientHello ended.
const statusBadRequest = 400

// hello is what the ClientHello told, so far: values are filled as the
// parser reaches them, so a session that ends while reading has the parts
// that came.
type hello struct {
	host    []byte // the server_name, once read whole (hostLen)
	hostLen int
	alpn    []byte // the ALPN protocols joined by "," (alpnLen of them)
	alpnLen int
	version [2]byte // the client_version, or 3.4 with supported_versions
}

// serverName is $ssl_preread_server_name.
func (h *hello) serverName() []byte { return h.host[:h.hostLen] }

// alpnProtocols is $ssl_preread_alpn_protocols.
func (h *hello) alpnProtocols() []byte { return h.alpn[:h.alpnLen] }

// protocol is $ssl_preread_protocol, as OpenSSL's SSL_get_version names the
// version; "" for one it does not name.
func (h *hello) protocol() string {
	switch h.version {
	case [2]byte{0, 2}:
		return "SSLv2"
	case [2]byte{3, 0}:
		return "SSLv3"
	case [2]byte{3, 1}:
		return "TLSv1"
	case [2]byte{3, 2}:
		return "TLSv1.1"
	case [2]byte{3, 3}:
		return "TLSv1.2"
	case [2]byte{3, 4}:
		return "TLSv1.3"
	}
	return ""
}

// verdict is the parser's answer for the bytes it has.
type verdict uint8

const (
	helloMore     verdict = iota // the ClientHello goes on: read more
	helloDone                    // the ClientHello was read
	helloDeclined                // not a ClientHello: the variables are not found
)

// helloParser reads a ClientHello from a growing buffer.
type helloParser struct {
	h   hello
	pos int // where the first record not parsed yet starts
	hs  handshake
}

// feed parses the complete records of buf that were not parsed yet; buf
// is the previous buffer with more bytes appended.
func (p *helloParser) feed(buf []byte) verdict {
	for len(buf)-p.pos >= 5 {
		r := buf[p.pos:]
		if r[0]&0x80 != 0 && r[2] == 1 && (r[3] == 0 || r[3] == 3) {
			p.h.version = [2]byte{r[3], r[4]} // an SSLv2-style ClientHello
			return helloDone
		}
		if r[0] != 0x16 || r[1] != 3 { // not a handshake record, not SSL 3 / TLS
			return helloDeclined
		}
		n := int(r[3])<<8 | int(r[4])
		if len(r) < 5+n {
			break // the record is parsed whole
		}
		if v := p.hs.parse(&p.h, r[5:5+n]); v != helloMore {
			return v
		}
		p.pos += 5 + n
	}
	return helloMore
}

// The states of the handshake parser: each names what it has just read.
const (
	hsStart       = iota
	hsHeader      // msg_type, length
	hsVersion     // client_version
	hsRandom      // random
	hsSIDLen      // session_id length
	hsSID         // session_id
	hsCSLen       // cipher_suites length
	hsCS          // cipher_suites
	hsCMLen       // compression_methods length
	hsCM          // compression_methods
	hsExt         // an extension, or the extensions' length
	hsExtHeader   // extension_type, extension_data length
	hsSNILen      // server_name_list length
	hsSNIHostHead // name_type, host_name length
	hsSNIHost     // host_name
	hsALPNLen     // protocol_name_list length
	hsALPNProtoLen
	hsALPNProto
	hsSupVerLen // supported_versions length
)

// Where the bytes being read go.
const (
	toNone = iota
	toBuf
	toVersion
	toHost
	toALPN
)

// handshake is the ClientHello parser across records, nginx's state
// machine: it waits for size bytes (copying them to dst), then moves on;
// left is what remains of the handshake message, ext of the extension
// being read.
type handshake struct {
	state, size, left, ext int
	dst, off               int
	buf                    [4]byte
	sawHost, sawALPN       bool
}

// parse takes one record's bytes.
func (hs *handshake) parse(h *hello, data []byte) verdict {
	for {
		n := min(len(data), hs.size)
		hs.copy(h, data[:n])
		data = data[n:]
		hs.size -= n
		hs.left -= n
		if hs.size != 0 {
			return helloMore
		}
		if v := hs.next(h); v != helloMore {
			return v
		}
		if hs.left < hs.size {
			return helloDeclined // a length runs past the message
		}
	}
}

// copy puts b where the current field goes.
func (hs *handshake) copy(h *hello, b []byte) {
	switch hs.dst {
	case toBuf:
		copy(hs.buf[hs.off:], b)
	case toVersion:
		copy(h.version[hs.off:], b)
	case toHost:
		copy(h.host[hs.off:], b)
	case toALPN:
		h.alpn = append(h.alpn, b...)
	}
	hs.off += len(b)
}

// want makes the parser wait for size bytes for dst in state.
func (hs *handshake) want(state, dst, size int) {
	hs.state, hs.dst, hs.off, hs.size = state, dst, 0, size
}

// next moves on from the field just read; helloMore means keep reading.
func (hs *handshake) next(h *hello) verdict {
	b := &hs.buf
	switch hs.state {
	case hsStart:
		hs.want(hsHeader, toBuf, 4)
		hs.left = 4
	case hsHeader:
		if b[0] != 1 {
			return helloDeclined // not a ClientHello
		}
		hs.want(hsVersion, toVersion, 2)
		hs.left = int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	case hsVersion:
		hs.want(hsRandom, toNone, 32)
	case hsRandom:
		hs.want(hsSIDLen, toBuf, 1)
	case hsSIDLen:
		hs.want(hsSID, toNone, int(b[0]))
	case hsSID:
		hs.want(hsCSLen, toBuf, 2)
	case hsCSLen:
		hs.want(hsCS, toNone, int(b[0])<<8|int(b[1]))
	case hsCS:
		hs.want(hsCMLen, toBuf, 1)
	case hsCMLen:
		hs.want(hsCM, toNone, int(b[0]))
	case hsCM, hsExt:
		if hs.left == 0 {
			return helloDone // the message ended: no (more) extensions
		}
		if hs.state == hsCM {
			hs.want(hsExt, toBuf, 2) // the extensions' length
		} else {
			hs.want(hsExtHeader, toBuf, 4)
		}
	case hsExtHeader:
		hs.extension()
	default:
		return hs.nextInExtension(h)
	}
	return helloMore
}

// extension starts one extension: server_name (the first), ALPN (the
// first) and supported_versions are read, the others skipped.
func (hs *handshake) extension() {
	b := &hs.buf
	switch {
	case b[0] == 0 && b[1] == 0 && !hs.sawHost:
		hs.want(hsSNILen, toBuf, 2)
	case b[0] == 0 && b[1] == 16 && !hs.sawALPN:
		hs.want(hsALPNLen, toBuf, 2)
	case b[0] == 0 && b[1] == 43:
		hs.want(hsSupVerLen, toBuf, 1)
	default:
		hs.want(hsExt, toNone, int(b[2])<<8|int(b[3]))
	}
}

// nextInExtension moves on inside server_name, ALPN or
// supported_versions.
func (hs *handshake) nextInExtension(h *hello) verdict {
	b := &hs.buf
	switch hs.state {
	case hsSNILen:
		hs.ext = int(b[0])<<8 | int(b[1])
		hs.want(hsSNIHostHead, toBuf, 3)
	case hsSNIHostHead:
		if b[0] != 0 {
			return helloDeclined // the name is not a host_name
		}
		size := int(b[1])<<8 | int(b[2])
		if hs.ext < 3+size {
			return helloDeclined
		}
		hs.ext -= 3 + size
		hs.sawHost = true
		h.host, h.hostLen = make([]byte, size), 0
		hs.want(hsSNIHost, toHost, size)
	case hsSNIHost:
		h.hostLen = len(h.host)
		hs.want(hsExt, toNone, hs.ext) // the rest of the list
	case hsALPNLen:
		hs.ext = int(b[0])<<8 | int(b[1])
		hs.sawALPN = true
		hs.want(hsALPNProtoLen, toBuf, 1)
	case hsALPNProtoLen:
		size := int(b[0])
		if size == 0 || hs.ext < 1+size {
			return helloDeclined // an empty protocol, or past the list
		}
		hs.ext -= 1 + size
		h.alpn = h.alpn[:h.alpnLen]
		hs.want(hsALPNProto, toALPN, size)
	case hsALPNProto:
		h.alpnLen = len(h.alpn)
		if hs.ext > 0 {
			h.alpn = append(h.alpn, ',')
			h.alpnLen++
			hs.want(hsALPNProtoLen, toBuf, 1)
			break
		}
		hs.want(hsExt, toNone, 0)
	case hsSupVerLen:
		h.version = [2]byte{3, 4} // a client that lists versions is taken for TLSv1.3
		hs.want(hsExt, toNone, int(b[0]))
	}
	return helloMore
}

// preread runs the preread phase: ssl_preread, mqtt_preread and mqtt read
// until the buffer holds what each looks for (a whole ClientHello, a whole
// CONNECT packet) or bytes that are not it, within preread_timeout, as
// nginx's preread phase does. The bytes read go to the upstream server
// first (s.pending). false means the session ended: the client closed or
// timed out first ($status 200, as nginx), the buffer filled (400), or a
// reader refused the bytes (logged, $status set).
func (s *session) preread() bool {
	cfg := s.srv.cfg
	if !cfg.Preread && !s.mqttPrereads() || s.udp {
		return true
	}
	buf := make([]byte, 0, cfg.PrereadBufferSize)
	var p helloParser
	tlsMore, mqttMore := cfg.Preread, s.mqttPrereads()
	_ = s.c.SetReadDeadline(s.now().Add(cfg.PrereadTimeout))
	defer func() { _ = s.c.SetReadDeadline(time.Time{}) }()
	for {
		if len(buf) == cap(buf) {
			s.logPlain(errlog.Error, "preread buffer full while prereading client data"+s.peers())
			s.status = statusBadRequest
			return false
		}
		n, err := s.c.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			buf = buf[:len(buf)+n]
			if tlsMore {
				tlsMore = s.feedHello(&p, buf)
			}
			if mqttMore {
				var ok bool
				if mqttMore, ok = s.feedMQTT(buf); !ok {
					return false
				}
			}
			if !tlsMore && !mqttMore {
				s.pending = buf
				return true
			}
		}
		if err != nil {
			s.status = statusOK
			s.ended = true
			return false
		}
	}
}

// feedHello feeds the preread bytes to ssl_preread's parser; true says
// read on. The ClientHello's values are found from the first bytes on, as
// nginx's context; bytes that are not one leave them not found.
func (s *session) feedHello(p *helloParser, buf []byte) bool {
	s.hello = &p.h
	switch p.feed(buf) {
	case helloDone:
		return false
	case helloDeclined:
		s.hello = nil
		return false
	}
	return true
}

package config

// HTTP/2 (nginx's ngx_http_v2_module): the checks of its directives'
// values, and the warning for HTTP/2 asked of an address without ssl.

// checkHTTP2ChunkSize refuses "http2_chunk_size 0", as nginx does.
func checkHTTP2ChunkSize(d *Directive) error {
	if n, err := parseSize(d.Args[0]); err == nil && n == 0 {
		return errorf(d.Pos, "the http2 chunk size cannot be zero")
	}
	return nil
}

// checkHTTP2RecvBuffer refuses a receive buffer of at most twice nginx's
// state buffer (16 bytes), as ngx_http_v2_recv_buffer_size does.
func checkHTTP2RecvBuffer(d *Directive) error {
	if n, err := parseSize(d.Args[0]); err == nil && n <= 2*16 {
		return errorf(d.Pos, `"%s" directive value is too small`, d.Name)
	}
	return nil
}

// MaxHTTP2Window is HTTP/2's largest flow-control window (RFC 9113, 6.9.1).
const MaxHTTP2Window = 1<<31 - 1

// checkHTTP2Preread refuses a preread size larger than a flow-control
// window can be.
func checkHTTP2Preread(d *Directive) error {
	if n, err := parseSize(d.Args[0]); err == nil && n > MaxHTTP2Window {
		return errorf(d.Pos, `"%s" directive invalid value`, d.Name)
	}
	return nil
}

// warnPlainHTTP2 warns about "http2 on" for an address that does not speak
// TLS: nginx 1.25's directive would serve both HTTP/1.1 and h2c there, and
// fulcrum ignores it. The listen parameter http2 on such an address is
// nginx 1.22's plain-text HTTP/2 (h2c) with prior knowledge only, which
// fulcrum speaks (then HTTP/1.1 no longer, as nginx 1.22).
func (b *builder) warnPlainHTTP2(servers []*Server) {
	ssl := map[string]bool{}
	for _, s := range servers {
		for _, l := range s.Listens {
			ssl[l.Network+" "+l.Addr] = ssl[l.Network+" "+l.Addr] || l.SSL
		}
	}
	const hint = "write \"listen ... http2\" for plain-text HTTP/2 with prior knowledge (h2c), as nginx 1.22; this address serves HTTP/1.1"
	for _, s := range servers {
		for _, l := range s.Listens {
			if ssl[l.Network+" "+l.Addr] {
				continue
			}
			if s.Settings.HTTP2 && s.Settings.HTTP2Pos.Line != 0 {
				b.warn(s.Settings.HTTP2Pos, hint, `"http2 on" for the address %s without ssl (plain-text HTTP/2, h2c) is not supported and is ignored`, l.Addr)
			}
		}
	}
}

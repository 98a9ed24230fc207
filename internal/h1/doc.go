// Package h1 is the wire layer of fulcrum's own HTTP/1.1 engine: a strict
// RFC 9112 parser and serialiser for request and response heads, body
// readers for the Content-Length and chunked framings, a chunked writer and
// the Connection/hop-by-hop helpers a proxy needs. It imports only the
// standard library (net/http only in tests, to fuzz against).
//
// # Shape
//
// Heads are parsed into reusable structs (Request, Response) filled in place:
// the bytes of a head live in one buffer taken from a sync.Pool when its
// first byte arrives and given back by Reset, and header fields are a slice
// of (name, value) byte slices into that buffer, looked up
// case-insensitively. Nothing is allocated per request in steady state: no
// map, no string.
//
// A plain head that came whole in one read is checked and parsed in one
// left-to-right pass (quick.go). Any other head, and every refusal, takes
// the full path: the head's lines checked as they arrive (head.go), then
// parsed and interpreted (request.go, response.go). The full path decides
// what is accepted; the one-pass parser takes a subset of it and must give
// the same result (TestQuickMatchesFull, FuzzQuick).
//
// The engine loop this is built for, one goroutine per client connection:
//
//	var req h1.Request
//	var resp h1.Response
//	var body h1.Body
//	for {
//		err := h1.ReadRequest(clientBR, &req, limits)       // parse + policy checks
//		// err: io.EOF -> close quietly; h1.Error -> answer e.Status(), close
//		// route on req.Host, req.Path; req.CheckBodySize(max) -> 413
//		// req.DropUnderscored() unless underscores_in_headers
//		// head := h1.AppendRequestLine(buf, req.Method, target, h1.HTTP11)
//		// for each h in req.Headers not req.Headers.HopByHop(h.Name): AppendHeader
//		// + own headers, then Content-Length or Transfer-Encoding: chunked
//		// write head; body.Reset(clientBR, req.Framing, req.ContentLength, bl)
//		// io.Copy(upstream or ChunkedWriter, &body)
//		err = h1.ReadResponse(upstreamBR, &resp, req.Method, limits) // loop while 1xx
//		// h1.CheckUpgrade(&req, &resp) for a 101; any error -> 502, close upstream
//		// write resp head (hop-by-hop removed), copy its body the same way
//		// reuse upstream only if !resp.Close and body.Done() and nothing extra buffered
//		// req.Reset(); resp.Reset(); stop if req.Close
//	}
//
// # Stricter than net/http, on purpose
//
// The policy is ../../shared/spec/http-hardening.md ("Safe at the edge"):
// reject what the RFCs allow us to reject, answer 4xx, and close after any
// framing error, because a proxy that reads a message differently from its
// backend lets an attacker smuggle a request. Where net/http's reader is
// lenient, h1 rejects:
//
//   - Line terminators: a bare LF (net/http accepts it in heads) or a bare CR
//     anywhere is 400. Obsolete line folding (net/http unfolds it) is 400.
//   - Whitespace before the first header field, a field line without colon,
//     whitespace before the colon, control characters: 400, with a distinct
//     Error kind for each.
//   - Both Transfer-Encoding and Content-Length: 400 (net/http drops
//     Content-Length and uses chunked). Transfer-Encoding on HTTP/1.0 or on
//     two lines: 400 (net/http ignores it on HTTP/1.0). Transfer-Encoding
//     must be a single "chunked"; an unknown coding is 501, anything else
//     400 (the policy; nginx 1.22.1 answers 501 to all of them).
//   - Request line versions as nginx 1.22.1 reads them: a major version
//     over 1 is 505, HTTP/1.N (N up to 999, not 0) is HTTP/1.1 (RFC 9110
//     section 2.5; net/http takes single digits only), HTTP/0.9 is 400.
//   - Content-Length: 1*DIGIT; several values only when byte-identical.
//     Unlike net/http, identical values in one comma-separated line
//     ("5, 5") are accepted and collapsed, as the policy allows
//     (RFC 9110 section 8.6).
//   - Host: exactly one in HTTP/1.1 (net/http's reader leaves the check to
//     its server), and valid: reg-name or bracketed IPv6, no pct-encoding,
//     no empty labels, digits-only port. An absolute-form target must be
//     http or https and its authority replaces Host (RFC 9112 section
//     3.2.2); userinfo is refused.
//   - Request target: '#', control characters and a malformed %-escape in
//     the path are 400; "*" only with OPTIONS; CONNECT only with
//     authority-form host:port (net/http also takes a path).
//   - Only HTTP/1.0 and HTTP/1.1 (other well-formed versions: 505).
//   - Limits: request line 8 KiB (414), field line 8 KiB and head 64 KiB
//     (431), 100 field lines (431); http.ReadRequest has none of its own.
//     With Limits.HeaderBuffer a request head is bounded as nginx's
//     buffers bound it instead (the daemon's setting).
//   - Chunked bodies: no whitespace after the size (net/http trims it),
//     chunk extensions parsed by the RFC grammar and capped in total,
//     trailer lines with the same rules as header lines; trailer fields
//     that carry framing, routing, authentication or content semantics are
//     dropped (see ChunkedReader.Trailers).
//   - Responses from upstreams follow the same line rules; a
//     Transfer-Encoding other than chunked, Content-Length or
//     Transfer-Encoding on 1xx/204 or a 2xx to CONNECT, a status outside
//     100-599, and a 101 nobody asked for (CheckUpgrade) are errors: the
//     proxy answers 502 and drops the upstream connection.
//
// Deliberately lenient, per RFC: empty lines before a request line are
// skipped (RFC 9112 section 2.2); a status line without the space before an
// empty reason is accepted; raw bytes >= 0x80 in a path or query are kept as
// nginx and net/http keep them.
//
// FuzzParseRequest checks the differential claim: whatever h1 accepts,
// net/http accepts with the same method, target, version, host, fields and
// body framing.
package h1

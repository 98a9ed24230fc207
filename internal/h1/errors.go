package h1

import "errors"

// ErrIncomplete is returned by ParseRequest and ParseResponse when the byte
// slice does not yet hold a whole head and no limit has been exceeded: read
// more bytes and call again. It is not a protocol error.
var ErrIncomplete = errors.New("h1: incomplete message head")

// Error is a protocol violation found while reading a message. Every Error
// means the connection it came from must be closed after the answer: a
// framing mistake leaves the reader unsure where the next message starts
// (see ../../shared/spec/http-hardening.md, "close the client connection after
// any framing error").
//
// For a client's request, Status is the status code to answer. For an
// upstream's response (ReadResponse, or a response body reader) the answer is
// always 502 Bad Gateway whatever the kind, and the upstream connection is
// closed and never reused; the kind still says what was wrong.
//
// Error values are small constants: returning one does not allocate, and
// callers compare with errors.Is or ==.
type Error uint8

// The kinds of protocol violation. The comment after each is the status a
// request gets.
const (
	ErrRequestLine         Error = iota + 1 // 400: request line is not "method SP target SP version"
	ErrMethod                               // 400: method has a byte other than A-Z, '_' and '-' (nginx's rule)
	ErrTarget                               // 400: control character, space, '#' or bad authority in the target
	ErrTargetEscape                         // 400: a '%' in the target's path that starts no %XX escape (the target is otherwise valid)
	ErrTargetHost                           // 400: an absolute-form target with an empty host ("http:///a"; the target is otherwise valid)
	ErrTargetForm                           // 400: target form not allowed for the method ('*' without OPTIONS or with CONNECT)
	ErrVersion                              // 400: malformed HTTP-version
	ErrVersionNotSupported                  // 505: well-formed version other than HTTP/1.0 and HTTP/1.1
	ErrURITooLong                           // 414: request line longer than Limits.MaxRequestLine
	ErrHeaderTooLarge                       // 431: a field line or the whole head over its limit
	ErrTooManyHeaders                       // 431: more field lines than Limits.MaxHeaders
	ErrBareLF                               // 400: line terminated by LF without CR
	ErrBareCR                               // 400: CR not followed by LF
	ErrControlChar                          // 400: NUL or another control character in a field name or value
	ErrFieldName                            // 400: empty field name or a non-token character in it
	ErrSpaceBeforeColon                     // 400: whitespace between field name and colon
	ErrMissingColon                         // 400: field line without a colon
	ErrLeadingWhitespace                    // 400: whitespace before the first field line
	ErrObsFold                              // 400: obsolete line folding (a field line starting with whitespace)
	ErrMissingHost                          // 400: HTTP/1.1 request without Host
	ErrDuplicateHost                        // 400: more than one Host field line
	ErrInvalidHost                          // 400: Host value is not uri-host [ ":" port ]
	ErrDuplicateField                       // 400: a field nginx takes once (UniqueField) sent more than once
	ErrTEAndCL                              // 400: both Transfer-Encoding and Content-Length
	ErrTransferEncoding                     // 400: TE on HTTP/1.0 or (a request's) on two lines; final coding not chunked, repeated chunked, empty element, parameters on chunked
	ErrUnknownCoding                        // 501: a transfer coding fulcrum does not implement
	ErrContentLength                        // 400: Content-Length not 1*DIGIT, differing values, or overflow
	ErrTrailerDecl                          // 400: Trailer field names Content-Length, Transfer-Encoding or Trailer on a chunked message
	ErrBodyTooLarge                         // 413: body larger than the configured maximum (client_max_body_size)
	ErrChunkSize                            // 400: chunk size not 1-16 hex digits, overflow, or junk after it
	ErrChunkExtension                       // 400: malformed chunk extension or extensions over their total cap
	ErrChunkData                            // 400: chunk data not followed by CRLF (data longer than its size)
	ErrTrailerTooLarge                      // 400: trailer section over BodyLimits.MaxTrailerBytes
	ErrStatusLine                           // 502: malformed response status line
	ErrResponseFraming                      // 502: Content-Length or Transfer-Encoding where the status forbids them
	ErrUnrequestedUpgrade                   // 502: 101 Switching Protocols the client did not ask for
	errKinds                                // number of kinds + 1; not an error
)

// errInfo describes each kind: its client-side status and message.
var errInfo = [errKinds]struct {
	status int
	msg    string
}{
	ErrRequestLine:         {400, "malformed request line"},
	ErrMethod:              {400, "invalid method"},
	ErrTarget:              {400, "invalid request target"},
	ErrTargetEscape:        {400, "invalid percent-encoding in request target"},
	ErrTargetHost:          {400, "invalid host in request target"},
	ErrTargetForm:          {400, "request target form not allowed for method"},
	ErrVersion:             {400, "malformed HTTP version"},
	ErrVersionNotSupported: {505, "HTTP version not supported"},
	ErrURITooLong:          {414, "request line too long"},
	ErrHeaderTooLarge:      {431, "header section too large"},
	ErrTooManyHeaders:      {431, "too many header fields"},
	ErrBareLF:              {400, "bare LF line terminator"},
	ErrBareCR:              {400, "bare CR"},
	ErrControlChar:         {400, "control character in header field"},
	ErrFieldName:           {400, "invalid header field name"},
	ErrSpaceBeforeColon:    {400, "whitespace before colon in header field"},
	ErrMissingColon:        {400, "header field line without colon"},
	ErrLeadingWhitespace:   {400, "whitespace before first header field"},
	ErrObsFold:             {400, "obsolete line folding"},
	ErrMissingHost:         {400, "missing Host header"},
	ErrDuplicateHost:       {400, "more than one Host header"},
	ErrInvalidHost:         {400, "invalid Host header"},
	ErrDuplicateField:      {400, "duplicate header field"},
	ErrTEAndCL:             {400, "both Transfer-Encoding and Content-Length"},
	ErrTransferEncoding:    {400, "invalid Transfer-Encoding"},
	ErrUnknownCoding:       {501, "unsupported transfer coding"},
	ErrContentLength:       {400, "invalid Content-Length"},
	ErrTrailerDecl:         {400, "Trailer names a framing field"},
	ErrBodyTooLarge:        {413, "body too large"},
	ErrChunkSize:           {400, "invalid chunk size"},
	ErrChunkExtension:      {400, "invalid chunk extension"},
	ErrChunkData:           {400, "chunk data not terminated by CRLF"},
	ErrTrailerTooLarge:     {400, "trailer section too large"},
	ErrStatusLine:          {502, "malformed status line"},
	ErrResponseFraming:     {502, "framing header not allowed for response status"},
	ErrUnrequestedUpgrade:  {502, "unrequested protocol upgrade"},
}

// Error returns "h1: " and a lower-case description of the kind.
func (e Error) Error() string {
	if e == 0 || e >= errKinds {
		return "h1: unknown error"
	}
	return "h1: " + errInfo[e].msg
}

// Status returns the status code to answer a client whose request caused e:
// 400, 413, 414, 431, 501 or 505 (502 for the response-only kinds).
func (e Error) Status() int {
	if e == 0 || e >= errKinds {
		return 400
	}
	return errInfo[e].status
}

// Close reports whether the connection must be closed after answering. It is
// true for every kind: after a framing error the rest of the byte stream
// cannot be trusted.
func (e Error) Close() bool { return true }

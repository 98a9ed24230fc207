package h1

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// respView is a comparable summary of a parsed Response.
type respView struct {
	Version       Version
	Status        int
	Reason        string
	Framing       Framing
	ContentLength int64
	Close         bool
}

// parseResponseAll parses raw with ParseResponse and ReadResponse (default
// and tiny buffers) and fails unless they agree.
func parseResponseAll(t *testing.T, raw, method string) (respView, error) {
	t.Helper()
	var r Response
	defer r.Reset()
	_, err := ParseResponse([]byte(raw), &r, []byte(method), Limits{})
	want := respView{r.Version, r.Status, string(r.Reason), r.Framing, r.ContentLength, r.Close}
	for _, size := range []int{4096, 16} {
		err2 := ReadResponse(bufio.NewReaderSize(strings.NewReader(raw), size), &r, []byte(method), Limits{})
		if err == ErrIncomplete {
			if err2 != io.ErrUnexpectedEOF {
				t.Fatalf("size %d: incomplete gave %v", size, err2)
			}
			continue
		}
		if err2 != err {
			t.Fatalf("size %d: %v, ParseResponse %v", size, err2, err)
		}
		got := respView{r.Version, r.Status, string(r.Reason), r.Framing, r.ContentLength, r.Close}
		if err == nil && got != want {
			t.Fatalf("size %d: %+v, ParseResponse %+v", size, got, want)
		}
	}
	return want, err
}

func TestParseResponseValid(t *testing.T) {
	tests := []struct {
		name, method, raw string
		want              respView
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
			respView{HTTP11, 200, "OK", LengthBody, 5, false}},
		{"no reason, no space", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
			respView{HTTP11, 200, "", LengthBody, 0, false}},
		{"empty reason", "GET", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
			respView{HTTP11, 404, "", LengthBody, 0, false}},
		{"reason with spaces and obs-text", "GET", "HTTP/1.1 200 Tout va bien \xe2\x9c\x93\r\nContent-Length: 0\r\n\r\n",
			respView{HTTP11, 200, "Tout va bien \xe2\x9c\x93", LengthBody, 0, false}},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			respView{HTTP11, 200, "OK", ChunkedBody, -1, false}},
		{"close-delimited", "GET", "HTTP/1.1 200 OK\r\n\r\n",
			respView{HTTP11, 200, "OK", CloseBody, -1, true}},
		{"head with length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
			respView{HTTP11, 200, "OK", NoBody, 10, false}},
		{"head with chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			respView{HTTP11, 200, "OK", NoBody, -1, false}},
		{"head without framing", "HEAD", "HTTP/1.1 200 OK\r\n\r\n",
			respView{HTTP11, 200, "OK", NoBody, -1, false}},
		{"204 with zero length", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
			respView{HTTP11, 204, "No Content", NoBody, 0, false}},
		// No body whatever the length says (nginx passes it on), but the
		// length's bytes may follow: the connection closes after it.
		{"204 with a length", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 95\r\n\r\n",
			respView{HTTP11, 204, "No Content", NoBody, 95, true}},
		{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
			respView{HTTP11, 304, "Not Modified", NoBody, 100, false}},
		{"100 continue", "POST", "HTTP/1.1 100 Continue\r\n\r\n",
			respView{HTTP11, 100, "Continue", NoBody, -1, false}},
		{"101", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			respView{HTTP11, 101, "Switching Protocols", NoBody, -1, false}},
		{"connect 200", "CONNECT", "HTTP/1.1 200 Connection Established\r\n\r\n",
			respView{HTTP11, 200, "Connection Established", NoBody, -1, false}},
		{"http/1.0 closes", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
			respView{HTTP10, 200, "OK", LengthBody, 1, true}},
		{"http/1.0 keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
			respView{HTTP10, 200, "OK", LengthBody, 1, false}},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
			respView{HTTP11, 200, "OK", LengthBody, 1, true}},
		{"identical lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			respView{HTTP11, 200, "OK", LengthBody, 3, false}},
		{"599", "GET", "HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n",
			respView{HTTP11, 599, "Custom", LengthBody, 0, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseResponseAll(t, tt.raw, tt.method)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got != tt.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseResponseInvalid(t *testing.T) {
	big := strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 70)
	tests := []struct {
		name, method, raw string
		want              Error
	}{
		{"te and cl", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ErrTEAndCL},
		{"te and cl on head", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ErrTEAndCL},
		{"bad length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", ErrContentLength},
		{"differing lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrContentLength},
		{"bad length on 304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: -1\r\n\r\n", ErrContentLength},
		{"te gzip", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", ErrTransferEncoding},
		{"te unknown", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: foo, chunked\r\n\r\n", ErrUnknownCoding},
		{"te on 1.0", "GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncoding},
		{"204 with te", "GET", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", ErrResponseFraming},
		{"100 with length", "GET", "HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n\r\n", ErrResponseFraming},
		{"connect 200 with length", "CONNECT", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ErrResponseFraming},
		{"two-digit status", "GET", "HTTP/1.1 20 OK\r\n\r\n", ErrStatusLine},
		{"four-digit status", "GET", "HTTP/1.1 2000 OK\r\n\r\n", ErrStatusLine},
		{"status below 100", "GET", "HTTP/1.1 099 Low\r\n\r\n", ErrStatusLine},
		{"status above 599", "GET", "HTTP/1.1 600 High\r\n\r\n", ErrStatusLine},
		{"non-digit status", "GET", "HTTP/1.1 2x0 OK\r\n\r\n", ErrStatusLine},
		{"double space", "GET", "HTTP/1.1  200 OK\r\n\r\n", ErrStatusLine},
		{"control in reason", "GET", "HTTP/1.1 200 O\x01K\r\n\r\n", ErrStatusLine},
		{"not http", "GET", "ICY 200 OK\r\n\r\n", ErrStatusLine},
		{"short version", "GET", "HTTP/2 200 OK\r\n\r\n", ErrStatusLine},
		{"lower-case version", "GET", "http/1.1 200 OK\r\n\r\n", ErrStatusLine},
		{"http/2.0", "GET", "HTTP/2.0 200 OK\r\n\r\n", ErrVersionNotSupported},
		{"empty first line", "GET", "\r\nHTTP/1.1 200 OK\r\n\r\n", ErrStatusLine},
		{"bare LF", "GET", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", ErrBareLF},
		{"bare LF in fields", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", ErrBareLF},
		{"obs-fold", "GET", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
		{"space before colon", "GET", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", ErrSpaceBeforeColon},
		{"oversized head", "GET", "HTTP/1.1 200 OK\r\n" + big + "\r\n", ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseResponseAll(t, tt.raw, tt.method)
			var e Error
			if !errors.As(err, &e) || e != tt.want {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadResponseEOF(t *testing.T) {
	var r Response
	if err := ReadResponse(bufio.NewReader(strings.NewReader("")), &r, []byte("GET"), Limits{}); err != io.EOF {
		t.Fatalf("empty: %v, want io.EOF", err)
	}
	if err := ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n")), &r, []byte("GET"), Limits{}); err != io.ErrUnexpectedEOF {
		t.Fatalf("partial: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestInterimThenFinal(t *testing.T) {
	raw := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	br := bufio.NewReader(strings.NewReader(raw))
	var r Response
	var statuses []int
	for {
		if err := ReadResponse(br, &r, []byte("POST"), Limits{}); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, r.Status)
		if !r.Informational() {
			break
		}
	}
	if len(statuses) != 3 || statuses[0] != 100 || statuses[1] != 103 || statuses[2] != 200 {
		t.Fatalf("statuses %v", statuses)
	}
	var body Body
	if err := body.Reset(br, r.Framing, r.ContentLength, BodyLimits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(&body); err != nil || string(b) != "ok" {
		t.Fatalf("body %q %v", b, err)
	}
}

func TestCheckUpgrade(t *testing.T) {
	const wsReq = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket, foo/2\r\n\r\n"
	const plainReq = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"
	tests := []struct {
		name, req, resp string
		want            error
	}{
		{"asked and given", wsReq, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n\r\n", nil},
		{"versioned protocol", wsReq, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/2\r\n\r\n", nil},
		{"not asked", plainReq, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", ErrUnrequestedUpgrade},
		{"other protocol", wsReq, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", ErrUnrequestedUpgrade},
		{"no upgrade field", wsReq, "HTTP/1.1 101 Switching Protocols\r\n\r\n", ErrUnrequestedUpgrade},
		{"not a 101", plainReq, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			var resp Response
			if _, err := ParseRequest([]byte(tt.req), &req, Limits{}); err != nil {
				t.Fatal(err)
			}
			if _, err := ParseResponse([]byte(tt.resp), &resp, req.Method, Limits{}); err != nil {
				t.Fatal(err)
			}
			if err := CheckUpgrade(&req, &resp); err != tt.want {
				t.Fatalf("CheckUpgrade: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestResponseConnectionField: Connection says whether the head has a
// Connection field, whatever its spelling and options, in the quick and the
// full parse (a head in pieces), as Headers.Lookup("Connection") would.
func TestResponseConnectionField(t *testing.T) {
	for raw, want := range map[string]bool{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":                           false,
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n":      true,
		"HTTP/1.1 200 OK\r\nconnection: x-hop\r\nContent-Length: 0\r\n\r\n":      true,
		"HTTP/1.0 200 OK\r\nX-Connection: close\r\nContent-Length: 0\r\n\r\n":    false,
		"HTTP/1.1 200 OK\r\nCONNECTION: keep-alive\r\nContent-Length: 0\r\n\r\n": true,
		"HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection:\r\nContent-Length: 0\r\n\r\n":  true,
	} {
		var r Response
		if _, err := ParseResponse([]byte(raw), &r, []byte("GET"), Limits{}); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		_, lookedUp := r.Headers.Lookup("Connection")
		if r.Connection != want || lookedUp != want {
			t.Errorf("%q: Connection %v (Lookup %v), want %v", raw, r.Connection, lookedUp, want)
		}
		r.Reset()
		if err := ReadResponse(bufio.NewReaderSize(strings.NewReader(raw), 16), &r, []byte("GET"), Limits{}); err != nil {
			t.Fatalf("%q in pieces: %v", raw, err)
		}
		if r.Connection != want {
			t.Errorf("%q in pieces: Connection %v, want %v", raw, r.Connection, want)
		}
		r.Reset()
	}
}

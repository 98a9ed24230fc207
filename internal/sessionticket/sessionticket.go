// Package sessionticket bounds how long a TLS server's session tickets
// resume, as nginx's ssl_session_timeout bounds its sessions.
//
// crypto/tls resumes a ticket for up to seven days (TLS 1.2 and 1.3 alike).
// nginx, through OpenSSL, resumes a session only for ssl_session_timeout
// (default 5m) from the full handshake that made it, and the session
// carries that timeout: a reload that changes ssl_session_timeout leaves the
// sessions already made as they were. Bound gives a tls.Config the same
// rule: each ticket it issues carries, in its SessionState.Extra, the time
// its session was made and the timeout, and a ticket past them makes a full
// handshake.
//
// What the two libraries do after a resumption differs by version, and so
// does this package, as OpenSSL does (checked with nginx 1.22.1 and
// "openssl s_client -sess_in/-sess_out"): in TLS 1.3 each handshake,
// resumed or not, issues new tickets whose lifetime starts then; in TLS 1.2
// a resumed session keeps its first creation time (crypto/tls sends a new
// ticket after each resumption, where OpenSSL sends none; the new one keeps
// the old one's age).
package sessionticket

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"time"
)

// extraTag starts fulcrum's entry in SessionState.Extra; the 16 bytes after
// it are the creation time (Unix nanoseconds) and the timeout
// (nanoseconds), big-endian.
var extraTag = []byte("fulcrum-session-1:")

// entryLen is the length of fulcrum's Extra entry.
var entryLen = len(extraTag) + 16

// Bound makes c's tickets resume for timeout from the full handshake that
// made their session, and no longer; a timeout of 0 or less leaves c as it
// is (crypto/tls's seven days: config.Load never gives one). It sets
// c.WrapSession and c.UnwrapSession, which encrypt and decrypt with c's
// ticket keys (SetSessionTicketKeys, or crypto/tls's own); clones of c made
// afterwards share them. Call it after the keys are set.
func Bound(c *tls.Config, timeout time.Duration) {
	if timeout <= 0 {
		return
	}
	now := c.Time
	if now == nil {
		now = time.Now
	}
	c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		stamp(ss, cs, timeout, now())
		return c.EncryptTicket(cs, ss)
	}
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := c.DecryptTicket(identity, cs)
		if ss == nil || err != nil {
			return ss, err
		}
		if Expired(ss, timeout, now()) {
			return nil, nil // a full handshake, as for a ticket that does not decrypt
		}
		return ss, nil
	}
}

// stamp appends fulcrum's entry to ss: made now with timeout, except for
// a TLS 1.2 resumption, whose new ticket keeps the session's first creation
// time (crypto/tls keeps it in the state it wraps, but not the Extra of the
// ticket it resumed, so the timeout is today's).
func stamp(ss *tls.SessionState, cs tls.ConnectionState, timeout time.Duration, now time.Time) {
	made := now
	if cs.DidResume && cs.Version < tls.VersionTLS13 {
		if t, ok := goCreated(ss); ok {
			made = t
		}
	}
	e := make([]byte, 0, entryLen)
	e = append(e, extraTag...)
	e = binary.BigEndian.AppendUint64(e, uint64(made.UnixNano()))
	e = binary.BigEndian.AppendUint64(e, uint64(timeout))
	ss.Extra = append(ss.Extra, e)
}

// Expired reports whether the session of ss may no longer resume at now.
// A ticket without fulcrum's entry (made before Bound was used) is aged
// from crypto/tls's own creation time with timeout.
func Expired(ss *tls.SessionState, timeout time.Duration, now time.Time) bool {
	made, ok := time.Time{}, false
	for _, e := range ss.Extra {
		if len(e) == entryLen && bytes.HasPrefix(e, extraTag) {
			made = time.Unix(0, int64(binary.BigEndian.Uint64(e[len(extraTag):])))
			timeout = time.Duration(binary.BigEndian.Uint64(e[len(extraTag)+8:]))
			ok = true
		}
	}
	if !ok {
		if made, ok = goCreated(ss); !ok {
			return true
		}
	}
	return now.Sub(made) >= timeout
}

// goCreated is crypto/tls's creation time of ss, in whole seconds: the
// created_at field that follows the version, type and cipher suite in
// SessionState's documented encoding.
func goCreated(ss *tls.SessionState) (time.Time, bool) {
	b, err := ss.Bytes()
	if err != nil || len(b) < 13 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[5:13])), 0), true
}

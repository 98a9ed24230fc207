package config

import (
	"crypto/sha256"
	"os"
)

// TicketKey is one ssl_session_ticket_key file as crypto/tls takes it.
//
// nginx's file is 48 bytes (a 16-byte key name, a 16-byte AES-128 key and a
// 16-byte HMAC-SHA256 key) or 80 bytes (name, 32-byte HMAC key, AES-256
// key), for OpenSSL's ticket format. Go's crypto/tls has its own format and
// takes a 32-byte key, from which it derives its AES and HMAC keys
// (tls.Config.SetSessionTicketKeys). fulcrum's key is the SHA-256 of the
// whole file: every byte counts, equal files give equal keys (so processes
// that share the file resume each other's sessions) and different files
// different ones. Tickets are not OpenSSL's, so a session cannot move
// between nginx and fulcrum even with the same file.
type TicketKey struct {
	// File is the key file's path.
	File string
	// Key is the SHA-256 of the file's bytes.
	Key [32]byte
}

// ticketKeys reads the nearest ssl_session_ticket_key directives, in order:
// the first key makes new tickets, all of them open old ones, as in nginx.
func (b *builder) ticketKeys(sc *scope) ([]TicketKey, error) {
	dirs, _ := sc.nearest("ssl_session_ticket_key")
	var out []TicketKey
	for _, d := range dirs {
		file := b.path(d.Args[0])
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, hintf(d.Pos, fileHint(err), `cannot read session ticket key "%s": %v`, file, unwrapPath(err))
		}
		if len(data) != 48 && len(data) != 80 {
			return nil, hintf(d.Pos, "make one with openssl rand 80 > ticket.key", `"%s" must be 48 or 80 bytes`, file)
		}
		out = append(out, TicketKey{File: file, Key: sha256.Sum256(data)})
	}
	return out, nil
}

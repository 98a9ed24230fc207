package config

import (
	"crypto/sha256"
	"io"
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
		data, err := readTicketKey(file, d.Pos)
		if err != nil {
			return nil, err
		}
		out = append(out, TicketKey{File: file, Key: sha256.Sum256(data)})
	}
	return out, nil
}

// readTicketKey reads a key file as nginx 1.22.1's
// ngx_ssl_session_ticket_keys does, with its words (recorded with nginx -t,
// which exits 1 on each): a file it cannot open is
// `open() "PATH" failed (2: No such file or directory)` (or
// "13: Permission denied"), one of another size, a directory included
// (nginx opens it and finds its size), `"PATH" must be 48 or 80 bytes`.
// nginx names the line of the http block's closing brace, where it merges
// the servers' settings; fulcrum the directive's.
func readTicketKey(file string, pos Pos) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, hintf(pos, fileHint(err), `open() "%s" failed (%s)`, file, describeOSError(unwrapPath(err)))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err == nil && (fi.IsDir() || fi.Size() != 48 && fi.Size() != 80) {
		return nil, hintf(pos, "make one with openssl rand 80 > ticket.key", `"%s" must be 48 or 80 bytes`, file)
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(f)
	}
	if err == nil && len(data) != 48 && len(data) != 80 { // it changed meanwhile
		return nil, hintf(pos, "make one with openssl rand 80 > ticket.key", `"%s" must be 48 or 80 bytes`, file)
	}
	if err != nil {
		return nil, hintf(pos, fileHint(err), `read() "%s" failed (%s)`, file, describeOSError(unwrapPath(err)))
	}
	return data, nil
}

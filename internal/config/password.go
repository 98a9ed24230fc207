package config

import (
	"bytes"
	"errors"
	"os"

	"fulcrum/internal/pemkey"
)

// decryptKey returns the key file's PEM decrypted with the certificate's
// password file (ssl_password_file, proxy_ssl_password_file,
// grpc_ssl_password_file), or as it is
// when it is not encrypted. keyPos is the key directive's place.
func (b *builder) decryptKey(c Certificate, keyPos Pos, keyPEM []byte) ([]byte, error) {
	if !pemkey.Encrypted(keyPEM) {
		return keyPEM, nil
	}
	var passes [][]byte
	if c.pwDir != nil {
		var err error
		if passes, err = b.readPasswords(c.pwDir); err != nil {
			return nil, err
		}
	}
	out, err := pemkey.Decrypt(keyPEM, passes)
	switch {
	case errors.Is(err, pemkey.ErrEncrypted):
		return nil, hintf(keyPos, "add "+c.prefix+"ssl_password_file with its passphrase, or decrypt it: openssl pkey -in enc.key -out key.pem",
			`cannot load certificate key "%s": it is encrypted and no password file is given`, c.KeyFile)
	case errors.Is(err, pemkey.ErrWrongPassphrase):
		return nil, hintf(keyPos, "the file holds one passphrase a line, tried in order; spaces count, an empty line does not",
			`cannot load certificate key "%s": no passphrase in "%s" decrypts it`, c.KeyFile, c.PasswordFile)
	case err != nil:
		return nil, hintf(keyPos, "re-encrypt the key in OpenSSL's default format: openssl pkcs8 -topk8 -v2 aes256 -in enc.key -out new.key",
			`cannot load certificate key "%s": %v`, c.KeyFile, err)
	}
	return out, nil
}

// readPasswords reads a password file, once per file and load, the way
// nginx's ngx_ssl_read_password_file does: one passphrase a line, a CR
// before the LF dropped, empty lines skipped, nothing else trimmed; a file
// without any is one empty passphrase. nginx reads it when it parses the
// directive, whether or not a key needs it (buildTLS reads a server's).
func (b *builder) readPasswords(d *Directive) ([][]byte, error) {
	file := b.path(d.Args[0])
	if p, ok := b.passwords[file]; ok {
		return p, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		// nginx 1.22.1's ngx_ssl_read_password_file (recorded: open()
		// "/p/nosuch" failed (2: No such file or directory)).
		return nil, hintf(d.Pos, fileHint(err), `open() "%s" failed (%s)`, file, describeOSError(err))
	}
	var out [][]byte
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = [][]byte{{}}
	}
	if b.passwords == nil {
		b.passwords = map[string][][]byte{}
	}
	b.passwords[file] = out
	return out, nil
}

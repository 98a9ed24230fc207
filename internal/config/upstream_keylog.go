package config

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// KeyLogFile is the file of a proxy_ssl_key_log, grpc_ssl_key_log or
// uwsgi_ssl_key_log (NGINX Plus, 1.27.2): the secrets of every TLS
// handshake fulcrum makes with an upstream at the levels that name it are
// appended to it in the NSS key log format. One KeyLogFile is shared by
// every level of a configuration that names the same path.
//
// It is the one part of a Config that changes after Load: package config
// opens no files for it, so the daemon opens the file when it builds the
// configuration's snapshot and hands it over with Attach, before any
// handshake, and closes it when the snapshot is retired. It is an
// io.Writer for crypto/tls's Config.KeyLogWriter.
type KeyLogFile struct {
	// Path is the file, absolute.
	Path string
	// Pos is the first directive that names it, for errors.
	Pos Pos
	// w is the opened file; nil until Attach.
	w atomic.Pointer[io.Writer]
}

// errKeyLogNotOpen is Write's error before Attach: the handshake fails
// rather than go unlogged.
var errKeyLogNotOpen = errors.New("upstream TLS key log file is not open")

// Attach makes w, the opened file, the destination of Write. The daemon
// calls it once per configuration, before handshakes start.
func (k *KeyLogFile) Attach(w io.Writer) { k.w.Store(&w) }

// Write appends one key log line (crypto/tls writes whole lines).
func (k *KeyLogFile) Write(p []byte) (int, error) {
	w := k.w.Load()
	if w == nil {
		return 0, fmt.Errorf("%w: %s", errKeyLogNotOpen, k.Path)
	}
	return (*w).Write(p)
}

// keyLogRule is the rule of a proxy_ssl_key_log (grpc_ssl_key_log,
// uwsgi_ssl_key_log) into the ProxySSL that field gives.
func keyLogRule(name string, field func(*Settings) *ProxySSL) settingRule {
	return settingRule{names: []string{name}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		field(st).KeyLog = b.keyLogFile(dirs[0])
		return nil
	}}
}

// keyLogFile is the KeyLogFile of the path d names, shared with the
// other levels naming it.
func (b *builder) keyLogFile(d *Directive) *KeyLogFile {
	p := b.path(d.Args[0])
	if k := b.keyLogs[p]; k != nil {
		return k
	}
	if b.keyLogs == nil {
		b.keyLogs = map[string]*KeyLogFile{}
	}
	k := &KeyLogFile{Path: p, Pos: d.Pos}
	b.keyLogs[p] = k
	b.cfg.UpstreamKeyLogs = append(b.cfg.UpstreamKeyLogs, k)
	return k
}

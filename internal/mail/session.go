package mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxyproto"
)

// errQuit ends a session after its last reply: the client quit, or an
// error closes the connection as nginx's s->quit does.
var errQuit = errors.New("mail: session ends")

// session is one client connection.
type session struct {
	srv *server
	// raw is the accepted connection; conn is raw, or the TLS connection
	// over it once the handshake is done (r reads conn).
	raw, conn net.Conn
	r         *bufio.Reader
	// implicitTLS is a "listen ... ssl" session: it starts with the
	// handshake. ssl is the TLS state once there is one (nil: plain).
	implicitTLS bool
	ssl         *sslState
	// log is the server's error log (server.log; nil: none); mainLog
	// returns the main error log in force (logger).
	log     *errlog.Logger
	mainLog func() *errlog.Logger
	// addr is the client's IP address as text (nginx's addr_text), peer
	// its address and port, local the server's.
	addr, peer, local string
	closeOnce         sync.Once

	// errors counts the invalid commands (max_errors).
	errors int
	// attempt counts the auth_http requests (Auth-Login-Attempt).
	attempt int
	// login and passwd are the client's credentials, replaced by the
	// auth_http answer's Auth-User and Auth-Pass. As in nginx they outlive
	// a refused login: EXTERNAL, which carries no password, sends the last
	// one known. passwdSet is nginx's passwd.data != NULL: false until a
	// password is known, and again once a salted login (APOP, CRAM-MD5,
	// EXTERNAL with a salt) has sent its digest; then an IMAP or POP3
	// backend login needs the auth_http answer's Auth-Pass.
	login, passwd string
	passwdSet     bool
	// method is the Auth-Method of the login being checked: "plain" (PLAIN,
	// LOGIN, IMAP LOGIN, POP3 USER/PASS), "apop", "cram-md5" or
	// "external". salt is the session's challenge, "<random.time@name>"
	// (nginx's ngx_mail_salt): made at the POP3 greeting when APOP or
	// CRAM-MD5 is enabled, else at the first CRAM-MD5 challenge; "" until
	// then.
	method, salt string
	// tag is the IMAP tag of the command being answered.
	tag string
	// helo and esmtp are the SMTP client's HELO or EHLO argument and
	// whether it ever said EHLO.
	helo  string
	esmtp bool
	// from and to are the SMTP client's MAIL and RCPT lines under
	// "smtp_auth none", sent to auth_http and then to the backend; none
	// is set while such a client is being passed on (Auth-Method: none).
	from, to string
	none     bool
	// host is the SMTP client's name for auth_http's Client-Host and
	// XCLIENT's NAME: what the server's resolver found (clientHost), or
	// [UNAVAILABLE] without one.
	host string
	// id is the session's number, "*id" in its log lines as nginx's
	// connection number.
	id uint64
	// ctx ends when the session closes: it ends a lookup of the client's
	// name that the session no longer waits for.
	ctx    context.Context
	cancel context.CancelFunc
}

// newSession returns a session of c on srv.
func (p *Proxy) newSession(c net.Conn, srv *server) *session {
	s := &session{srv: srv, raw: c, conn: c, log: srv.log, mainLog: p.opts.ErrorLog, method: "plain", peer: c.RemoteAddr().String(), local: c.LocalAddr().String(), host: hostUnavailable, id: p.seq.Add(1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.addr = s.peer
	if host, _, err := net.SplitHostPort(s.peer); err == nil {
		s.addr = host
	}
	if _, ok := c.(*net.UnixConn); ok {
		s.addr, s.peer = "unix:", "unix:"
	}
	s.r = bufio.NewReaderSize(c, max(srv.cfg.ClientBuffer, 16))
	return s
}

// close closes the client connection (once).
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.raw.Close()
	})
}

// logf writes an info line with nginx's session context.
func (s *session) logf(level errlog.Level, format string, args ...any) {
	msg := "*" + strconv.FormatUint(s.id, 10) + " " + fmt.Sprintf(format, args...) + ", client: " + s.addr + ", server: " + s.local
	if s.login != "" {
		msg += `, login: "` + s.login + `"`
	}
	s.logger().Log(level, msg)
}

// logger is the session's error log: its server's own, or else the main
// error log of the configuration it started under (its table holds that
// one open until its last session ended), or, for a table made without
// opening logs, the main error log in force.
func (s *session) logger() *errlog.Logger {
	if s.log != nil {
		return s.log
	}
	return s.mainLog()
}

// run serves the session to its end.
func (s *session) run() {
	defer s.close()
	s.logger().Logf(errlog.Info, "*%d client %s connected to %s", s.id, s.peer, s.local)
	var err error
	if s.implicitTLS {
		err = s.handshake()
	}
	switch {
	case err != nil:
	case s.srv.cfg.Protocol == config.MailIMAP:
		err = s.imap()
	case s.srv.cfg.Protocol == config.MailPOP3:
		err = s.pop3()
	default:
		err = s.smtp()
	}
	if err != nil && !errors.Is(err, errQuit) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.logf(errlog.Info, "client timed out")
			return
		}
		s.logf(errlog.Info, "%v", err)
	}
}

// send writes a reply to the client.
func (s *session) send(line string) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.Timeout))
	_, err := io.WriteString(s.conn, line)
	return err
}

// errTooLong is a command longer than the client buffer.
var errTooLong = errors.New("client sent too long command")

// readLine reads one line from the client within timeout, without its
// CRLF (or LF). A line that does not fit the buffer closes the session,
// as in nginx.
func (s *session) readLine() (string, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.Timeout))
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.logf(errlog.Info, "client sent too long command")
		return "", errQuit
	}
	if err != nil {
		return "", err
	}
	line := strings.TrimSuffix(string(b[:len(b)-1]), "\r")
	return line, nil
}

// reject sends the reply to a command the protocol knows but cannot take
// now or with these arguments; as in nginx, it does not count toward
// max_errors.
func (s *session) reject(reply string) error {
	return s.send(reply)
}

// invalid counts a command nginx's parser cannot read (an unknown command,
// a syntax error) and sends its reply; at max_errors the reply is the
// last one.
func (s *session) invalid(reply string) error {
	s.errors++
	if err := s.send(reply); err != nil {
		return err
	}
	if s.errors >= s.srv.cfg.MaxErrors {
		s.logf(errlog.Info, "client sent too many invalid commands")
		return errQuit
	}
	return nil
}

// internalError sends the protocol's internal server error and ends the
// session.
func (s *session) internalError() error {
	var line string
	switch s.srv.cfg.Protocol {
	case config.MailIMAP:
		line = "* BAD internal server error\r\n"
	case config.MailPOP3:
		line = "-ERR internal server error\r\n"
	default:
		line = "451 4.3.2 Internal server error\r\n"
	}
	_ = s.send(line)
	return errQuit
}

// authenticate asks the auth_http server about s.login and s.passwd and
// acts on its answer: nil means the refusal was sent after its wait and
// the client may try again (keeping its credentials, as nginx does, for a
// later EXTERNAL); an error ends the session (errQuit once it was
// proxied).
func (s *session) authenticate() error {
	for {
		s.attempt++
		ans, err := s.askAuthHTTP()
		if err != nil {
			s.logf(errlog.Error, "%v", err)
			return s.internalError()
		}
		if ans.wait && ans.errmsg == "" { // Auth-Status: WAIT
			s.sleep(ans.sleep)
			continue
		}
		if ans.errmsg != "" {
			s.logf(errlog.Info, `client login failed: "%s"`, ans.errmsg)
			line := s.refusal(ans)
			if ans.sleep == 0 {
				_ = s.send(line)
				return errQuit
			}
			s.sleep(ans.sleep)
			return s.send(line)
		}
		if ans.server == "" || ans.port == "" {
			s.logf(errlog.Error, "auth http server %s did not send server or port", s.srv.cfg.AuthHTTP.Addr)
			return s.internalError()
		}
		if !s.passwdSet && ans.pass == nil && s.srv.cfg.Protocol != config.MailSMTP {
			s.logf(errlog.Error, "auth http server %s did not send password", s.srv.cfg.AuthHTTP.Addr)
			return s.internalError()
		}
		if net.ParseIP(strings.Trim(ans.server, "[]")) == nil {
			s.logf(errlog.Error, `auth http server %s sent invalid server address:"%s"`, s.srv.cfg.AuthHTTP.Addr, ans.server)
			return s.internalError()
		}
		if n, err := strconv.Atoi(ans.port); err != nil || n < 1 || n > 65535 {
			s.logf(errlog.Error, `auth http server %s sent invalid server port:"%s"`, s.srv.cfg.AuthHTTP.Addr, ans.port)
			return s.internalError()
		}
		return s.proxy(ans)
	}
}

// sleep waits n seconds (Auth-Wait) before the refusal goes out.
func (s *session) sleep(n int) {
	t := time.NewTimer(time.Duration(n) * time.Second)
	defer t.Stop()
	<-t.C
}

// refusal is the line a refused login gets: "TAG NO msg", "-ERR msg", or
// SMTP's Auth-Error-Code (default "535 5.7.0") and msg.
func (s *session) refusal(ans *authAnswer) string {
	switch s.srv.cfg.Protocol {
	case config.MailIMAP:
		return s.tag + " NO " + ans.errmsg + "\r\n"
	case config.MailPOP3:
		return "-ERR " + ans.errmsg + "\r\n"
	}
	code := ans.errcode
	if code == "" {
		code = "535 5.7.0"
	}
	return code + " " + ans.errmsg + "\r\n"
}

// proxy connects to the backend the auth_http server named, logs in on
// the client's behalf and relays the session.
func (s *session) proxy(ans *authAnswer) error {
	addr := net.JoinHostPort(strings.Trim(ans.server, "[]"), ans.port)
	if ans.user != nil {
		s.login = *ans.user
	}
	if ans.pass != nil {
		s.passwd, s.passwdSet = *ans.pass, true
	}
	up, err := net.DialTimeout("tcp", addr, s.srv.cfg.Timeout)
	if err != nil {
		s.logf(errlog.Error, "connect() to %s failed (%s) while connecting to upstream", addr, errlog.Errno(err))
		return s.internalError()
	}
	defer up.Close()
	if s.srv.cfg.ProxyProtocol {
		_ = up.SetWriteDeadline(time.Now().Add(s.srv.cfg.Timeout))
		if _, err := up.Write(proxyproto.V1Header(s.conn.RemoteAddr(), s.conn.LocalAddr())); err != nil {
			s.logf(errlog.Error, "send PROXY protocol header to %s failed (%s)", addr, errlog.Errno(err))
			return s.internalError()
		}
	}
	b := &backend{conn: up, r: bufio.NewReaderSize(up, backendBuffer), timeout: s.srv.cfg.Timeout}
	var welcome string
	switch s.srv.cfg.Protocol {
	case config.MailIMAP:
		welcome, err = s.imapLogin(b)
	case config.MailPOP3:
		welcome, err = s.pop3Login(b)
	default:
		welcome, err = s.smtpLogin(b)
	}
	if err != nil {
		return s.backendFailed(addr, err)
	}
	if err := s.send(welcome); err != nil {
		return err
	}
	s.logf(errlog.Info, "client logged in, upstream: %s", addr)
	s.relay(b)
	s.logf(errlog.Info, "proxied session done, upstream: %s", addr)
	return errQuit
}

// badResponse is a backend's line that is not the one its login step
// expects.
type badResponse struct{ line string }

func (e *badResponse) Error() string {
	return fmt.Sprintf("upstream sent invalid response: %q", strings.TrimRight(e.line, "\r\n"))
}

// backendFailed reports a failed backend login: with
// proxy_pass_error_message the backend's line goes to the client, else
// nginx's internal server error.
func (s *session) backendFailed(addr string, err error) error {
	s.logf(errlog.Error, "%v while reading response from upstream, upstream: %s", err, addr)
	var bad *badResponse
	if s.srv.cfg.PassErrorMessage && errors.As(err, &bad) {
		_ = s.send(bad.line)
		return errQuit
	}
	return s.internalError()
}

// backend is the connection to the backend during its login.
type backend struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// send writes a line to the backend.
func (b *backend) send(line string) error {
	_ = b.conn.SetWriteDeadline(time.Now().Add(b.timeout))
	_, err := io.WriteString(b.conn, line)
	return err
}

// line reads one line of the backend's, with its CRLF.
func (b *backend) line() (string, error) {
	_ = b.conn.SetReadDeadline(time.Now().Add(b.timeout))
	l, err := b.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("upstream sent too long response line: %q", l[:len(l)-1])
	}
	if err != nil {
		return "", fmt.Errorf("upstream closed or timed out: %w", err)
	}
	return string(l), nil
}

// backendBuffer is nginx's proxy_buffer (4k, the page size): a backend's
// line during login must fit in it, CRLF included, or nginx logs "upstream
// sent too long response line" and answers its internal server error, as
// recorded with nginx 1.22.1 (a 4,096-byte POP3 greeting logs in, one
// of 4,097 bytes does not). fulcrum ignores proxy_buffer and keeps the default.
const backendBuffer = 4096

// expect reads a line and checks it starts with prefix.
func (b *backend) expect(prefix string) (string, error) {
	l, err := b.line()
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, prefix) {
		return "", &badResponse{line: l}
	}
	return l, nil
}

// relay copies bytes both ways until a side closes or proxy_timeout
// passes without a byte in either direction. What the client or the
// backend sent ahead (pipelined) goes first.
func (s *session) relay(b *backend) {
	_ = s.conn.SetDeadline(time.Time{})
	_ = b.conn.SetDeadline(time.Time{})
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	timeout := s.srv.cfg.ProxyTimeout
	done := make(chan struct{}, 2)
	pump := func(dst, src net.Conn, r *bufio.Reader) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 16<<10)
		for {
			deadline := time.Unix(0, last.Load()).Add(timeout)
			_ = src.SetReadDeadline(deadline)
			n, err := r.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && time.Now().Before(time.Unix(0, last.Load()).Add(timeout)) {
					continue // the other direction moved
				}
				if errors.As(err, &ne) && ne.Timeout() {
					s.logf(errlog.Info, "no traffic for proxy_timeout (%v) while proxying", timeout)
				}
				return
			}
		}
	}
	go pump(b.conn, s.conn, s.r)
	go pump(s.conn, b.conn, b.r)
	<-done
	s.close()
	b.conn.Close()
	<-done
}

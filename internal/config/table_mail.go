package config

// Notes of the mail directives fulcrum does not implement.
const (
	noteMailConfCommand = "OpenSSL configuration commands have no equivalent in Go's TLS; keep nginx where a mail server needs one"
)

// checkMailProtocol refuses a protocol nginx does not know, in its words.
func checkMailProtocol(d *Directive) error {
	switch d.Args[0] {
	case MailIMAP, MailPOP3, MailSMTP:
		return nil
	}
	return hintf(d.Pos, "write protocol imap, pop3 or smtp", `unknown protocol "%s"`, d.Args[0])
}

// mailSpecs are the mail block's directives (nginx's ngx_mail_* modules).
var mailSpecs = []spec{
	{name: "server", module: "mail_core", ctx: ctxMail, args: argsNone | argsBlock, multi: true, child: ctxMailSrv, syntax: "server { ... }"},
	{name: "listen", module: "mail_core", ctx: ctxMailSrv, args: args1More, multi: true, syntax: "listen address:port [ssl] [proxy_protocol] [backlog=number] [rcvbuf=size] [sndbuf=size] [bind] [ipv6only=on|off] [so_keepalive=on|off|[keepidle]:[keepintvl]:[keepcnt]];"},
	{name: "protocol", module: "mail_core", ctx: ctxMailSrv, args: args1, check: checkMailProtocol, syntax: "protocol imap | pop3 | smtp;"},
	{name: "server_name", module: "mail_core", ctx: ctxMailSS, args: args1, syntax: "server_name name;"},
	{name: "timeout", module: "mail_core", ctx: ctxMailSS, args: args1, kinds: []kind{kindMsec}, syntax: "timeout time;"},
	{name: "max_errors", module: "mail_core", ctx: ctxMailSS, args: args1, kinds: []kind{kindNumber}, syntax: "max_errors number;"},
	{name: "resolver", module: "mail_core", ctx: ctxMailSS, args: args1More, syntax: "resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off] | off;"},
	{name: "resolver_timeout", module: "mail_core", ctx: ctxMailSS, args: args1, kinds: []kind{kindMsec}, syntax: "resolver_timeout time;"},
	{name: "set_real_ip_from", module: "mail_realip", ctx: ctxMailSrv, args: args1, kinds: []kind{kindAddress}, multi: true, status: ignored, note: "fulcrum's mail listeners take no PROXY protocol header, so the client's address is always the connection's", syntax: "set_real_ip_from address | CIDR | unix:;"},
	{name: "auth_http", module: "mail_auth_http", ctx: ctxMailSS, args: args1, syntax: "auth_http URL;"},
	{name: "auth_http_header", module: "mail_auth_http", ctx: ctxMailSS, args: args2, multi: true, syntax: "auth_http_header header value;"},
	{name: "auth_http_timeout", module: "mail_auth_http", ctx: ctxMailSS, args: args1, kinds: []kind{kindMsec}, syntax: "auth_http_timeout time;"},
	{name: "auth_http_pass_client_cert", module: "mail_auth_http", ctx: ctxMailSS, args: argsFlag, syntax: "auth_http_pass_client_cert on | off;"},
	{name: "proxy", module: "mail_proxy", ctx: ctxMailSS, args: argsFlag, status: ignored, asIs: []string{"on"}, note: "nginx 1.22 reads this old switch and ignores it too: a mail server always proxies", syntax: "proxy on | off;"},
	{name: "proxy_buffer", module: "mail_proxy", ctx: ctxMailSS, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteBuffers, syntax: "proxy_buffer size;"},
	{name: "proxy_pass_error_message", module: "mail_proxy", ctx: ctxMailSS, args: argsFlag, syntax: "proxy_pass_error_message on | off;"},
	{name: "proxy_protocol", module: "mail_proxy", ctx: ctxMailSS, args: argsFlag, syntax: "proxy_protocol on | off;"},
	{name: "proxy_smtp_auth", module: "mail_proxy", ctx: ctxMailSS, args: argsFlag, syntax: "proxy_smtp_auth on | off;"},
	{name: "proxy_timeout", module: "mail_proxy", ctx: ctxMailSS, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_timeout timeout;"},
	{name: "xclient", module: "mail_proxy", ctx: ctxMailSS, args: argsFlag, syntax: "xclient on | off;"},
	{name: "imap_auth", module: "mail_imap", ctx: ctxMailSS, args: args1More, syntax: "imap_auth method ...;"},
	{name: "imap_capabilities", module: "mail_imap", ctx: ctxMailSS, args: args1More, syntax: "imap_capabilities extension ...;"},
	{name: "imap_client_buffer", module: "mail_imap", ctx: ctxMailSS, args: args1, kinds: []kind{kindSize}, syntax: "imap_client_buffer size;"},
	{name: "pop3_auth", module: "mail_pop3", ctx: ctxMailSS, args: args1More, syntax: "pop3_auth method ...;"},
	{name: "pop3_capabilities", module: "mail_pop3", ctx: ctxMailSS, args: args1More, syntax: "pop3_capabilities extension ...;"},
	{name: "smtp_auth", module: "mail_smtp", ctx: ctxMailSS, args: args1More, syntax: "smtp_auth method ...;"},
	{name: "smtp_capabilities", module: "mail_smtp", ctx: ctxMailSS, args: args1More, syntax: "smtp_capabilities extension ...;"},
	{name: "smtp_client_buffer", module: "mail_smtp", ctx: ctxMailSS, args: args1, kinds: []kind{kindSize}, syntax: "smtp_client_buffer size;"},
	{name: "smtp_greeting_delay", module: "mail_smtp", ctx: ctxMailSS, args: args1, kinds: []kind{kindMsec}, syntax: "smtp_greeting_delay time;"},
	{name: "ssl", module: "mail_ssl", ctx: ctxMailSS, args: argsFlag, syntax: "ssl on | off;"},
	{name: "starttls", module: "mail_ssl", ctx: ctxMailSS, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "only"}, syntax: "starttls on | off | only;"},
	{name: "ssl_certificate", module: "mail_ssl", ctx: ctxMailSS, args: args1, multi: true, syntax: "ssl_certificate file;"},
	{name: "ssl_certificate_key", module: "mail_ssl", ctx: ctxMailSS, args: args1, multi: true, syntax: "ssl_certificate_key file;"},
	{name: "ssl_password_file", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_password_file file;"},
	{name: "ssl_dhparam", module: "mail_ssl", ctx: ctxMailSS, args: args1, status: ignored, note: "Go's TLS has no DHE cipher suites; key exchange is ECDHE", syntax: "ssl_dhparam file;"},
	{name: "ssl_ecdh_curve", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_ecdh_curve curve;"},
	{name: "ssl_protocols", module: "mail_ssl", ctx: ctxMailSS, args: args1More, syntax: "ssl_protocols [SSLv2] [SSLv3] [TLSv1] [TLSv1.1] [TLSv1.2] [TLSv1.3];"},
	{name: "ssl_ciphers", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_ciphers ciphers;"},
	{name: "ssl_prefer_server_ciphers", module: "mail_ssl", ctx: ctxMailSS, args: argsFlag, status: ignored, note: "Go's TLS orders cipher suites itself", syntax: "ssl_prefer_server_ciphers on | off;"},
	{name: "ssl_session_cache", module: "mail_ssl", ctx: ctxMailSS, args: args12, check: checkSessionCache, syntax: "ssl_session_cache off | none | [builtin[:size]] [shared:name:size];"},
	{name: "ssl_session_tickets", module: "mail_ssl", ctx: ctxMailSS, args: argsFlag, syntax: "ssl_session_tickets on | off;"},
	{name: "ssl_session_ticket_key", module: "mail_ssl", ctx: ctxMailSS, args: args1, multi: true, syntax: "ssl_session_ticket_key file;"},
	{name: "ssl_session_timeout", module: "mail_ssl", ctx: ctxMailSS, args: args1, kinds: []kind{kindSec}, syntax: "ssl_session_timeout time;"},
	{name: "ssl_verify_client", module: "mail_ssl", ctx: ctxMailSS, args: args1, kinds: []kind{kindEnum}, enum: verifyModes, syntax: "ssl_verify_client on | off | optional | optional_no_ca;"},
	{name: "ssl_verify_depth", module: "mail_ssl", ctx: ctxMailSS, args: args1, kinds: []kind{kindNumber}, syntax: "ssl_verify_depth number;"},
	{name: "ssl_client_certificate", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_client_certificate file;"},
	{name: "ssl_trusted_certificate", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_trusted_certificate file;"},
	{name: "ssl_crl", module: "mail_ssl", ctx: ctxMailSS, args: args1, syntax: "ssl_crl file;"},
	{name: "ssl_conf_command", module: "mail_ssl", ctx: ctxMailSS, args: args2, multi: true, status: unsupported, note: noteMailConfCommand, syntax: "ssl_conf_command name value;"},
}

// Package htpasswd reads nginx's auth_basic_user_file files and checks
// passwords against the hashes they hold, as ngx_http_auth_basic_module and
// ngx_crypt do: "name:password[:comment]" lines, "#" comments, and the
// password schemes {PLAIN}, {SHA}, {SSHA}, $apr1$, $1$, $5$, $6$ and bcrypt
// ($2a$, $2b$, $2y$). Other crypt(3) schemes (DES, yescrypt) are reported as
// [ErrUnsupported].
package htpasswd

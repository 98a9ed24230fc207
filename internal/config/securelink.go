package config

// SecureLink is what $secure_link checks at a level
// (ngx_http_secure_link_module), in one of two forms. The MD5 form (Link and
// MD5) checks a base64url MD5 hash, with an optional expiry time, that the
// link carries; the secret form (Secret) checks a hex MD5 hash in the
// request URI itself ("/prefix/hash/link").
type SecureLink struct {
	// Link is secure_link's expression: the hash in base64url and,
	// after a comma, the expiry time in seconds since the epoch
	// ("$arg_md5,$arg_expires"). "" in the secret form.
	Link string
	// MD5 is secure_link_md5's expression: the string whose MD5 the hash
	// must be ("$secure_link_expires$uri$remote_addr secret").
	MD5 string
	// Secret is secure_link_secret's word, for the secret form; "" in the
	// MD5 form.
	Secret string
	// Pos is where secure_link (the MD5 form) or secure_link_secret is
	// written; MD5Pos where secure_link_md5 is.
	Pos, MD5Pos Pos
}

// secureLinkNames are the secure_link module's directives.
var secureLinkNames = []string{"secure_link", "secure_link_md5", "secure_link_secret"}

// applySecureLink sets st.SecureLink as nginx's merge of the module's
// configuration does: walking out from level at, the first level that
// writes secure_link_secret ends the walk; secure_link and secure_link_md5
// are each taken from the nearest level before it (or at it) that writes
// one. When either was found, the MD5 form applies (and needs both, else
// $secure_link is never found); otherwise the secret form, with a non-empty
// secret. A server or location that writes secure_link_secret with either
// of the others is an error; the http level is never checked, as in nginx.
func applySecureLink(_ *builder, st *Settings, _ []*Directive, at *scope) error {
	var link, md5, secret *Directive
	for l := at; l != nil && secret == nil; l = l.parent {
		for _, d := range l.own(secureLinkNames...) {
			switch d.Name {
			case "secure_link":
				link = nearer(link, d)
			case "secure_link_md5":
				md5 = nearer(md5, d)
			default:
				secret = d
			}
		}
		if secret != nil && l == at && l.ctx != ctxHTTP && (link != nil || md5 != nil) {
			return hintf(secret.Pos, "a location checks links either with secure_link and secure_link_md5 or with secure_link_secret",
				`"secure_link_secret" cannot be mixed with "secure_link" and "secure_link_md5"`)
		}
	}
	switch {
	case link != nil || md5 != nil:
		if link != nil && md5 != nil {
			st.SecureLink = &SecureLink{Link: link.Args[0], MD5: md5.Args[0], Pos: link.Pos, MD5Pos: md5.Pos}
		}
	case secret != nil && secret.Args[0] != "":
		st.SecureLink = &SecureLink{Secret: secret.Args[0], Pos: secret.Pos}
	}
	return nil
}

// nearer keeps the directive of the nearer level: have if there is one,
// else d.
func nearer(have, d *Directive) *Directive {
	if have != nil {
		return have
	}
	return d
}

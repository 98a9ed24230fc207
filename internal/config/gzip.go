package config

import (
	"strings"

	"fulcrum/internal/pcre"
)

// Gzip is one level's response compression: nginx's ngx_http_gzip_module
// (gzip, gzip_types, gzip_min_length, gzip_comp_level, gzip_vary,
// gzip_buffers) and the gzip directives of its core module (gzip_proxied,
// gzip_disable, gzip_http_version). Each field is inherited on its own, as
// nginx merges them.
type Gzip struct {
	// On is "gzip on".
	On bool
	// Types are gzip_types' MIME types, lower-case, besides text/html, which
	// nginx always compresses; AnyType is "gzip_types *" (every response,
	// one without a Content-Type included).
	Types   []string
	AnyType bool
	// Level is gzip_comp_level, 1 (fastest, the default) to 9 (smallest).
	Level int
	// MinLength is gzip_min_length: a response whose Content-Length is
	// below it is sent as it is (default 20). One without a Content-Length
	// is compressed whatever its size.
	MinLength int64
	// Proxied is gzip_proxied: which responses to requests with a Via
	// field are compressed (default GzipProxiedOff: none).
	Proxied GzipProxied
	// Vary is gzip_vary: "Vary: Accept-Encoding" on every response gzip
	// applies to by status, type and length, compressed or not.
	Vary bool
	// Disable are gzip_disable's regular expressions, matched without case
	// against User-Agent: a match sends the response uncompressed. They are
	// the nearest level's; DisableMSIE6 ("gzip_disable msie6") is inherited
	// on its own, as nginx keeps it in a separate flag.
	Disable      []*pcre.Regexp
	DisableMSIE6 bool
	// HTTP10 is "gzip_http_version 1.0": HTTP/1.0 requests are compressed
	// too (the default, 1.1, leaves them out).
	HTTP10 bool
	// Buffers is gzip_buffers, checked and kept for the dump: fulcrum's
	// compressor sizes its own buffers.
	Buffers BufferSpec
	// Gunzip is "gunzip on" (ngx_http_gunzip_module): a response with
	// "Content-Encoding: gzip" goes out decompressed to a client that does
	// not take gzip (ClientOK's rules, which the gzip_* settings above
	// shape). GunzipBuffers is gunzip_buffers, checked and without effect.
	Gunzip        bool
	GunzipBuffers BufferSpec
	// Static is gzip_static (ngx_http_gzip_static_module): whether a
	// static file's precompressed "FILE.gz" is sent in its place.
	Static GzipStatic
}

// GzipStatic is gzip_static's value.
type GzipStatic uint8

// The gzip_static values.
const (
	// GzipStaticOff: files are served as they are (the default).
	GzipStaticOff GzipStatic = iota
	// GzipStaticOn: FILE.gz is sent to clients that take gzip.
	GzipStaticOn
	// GzipStaticAlways: FILE.gz is sent to every client (gunzip on
	// decompresses it for those that do not take gzip).
	GzipStaticAlways
)

// gzipStaticNames are gzip_static's values, in GzipStatic order.
var gzipStaticNames = []string{"off", "on", "always"}

// String is the value as gzip_static writes it.
func (s GzipStatic) String() string { return gzipStaticNames[s] }

// applyGzipStatic reads gzip_static as nginx's enum slot does: one of off,
// on and always, compared without case.
func applyGzipStatic(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	i := indexFold(gzipStaticNames, d.Args[0])
	if i < 0 {
		return hintf(d.Pos, "use on, off or always", `invalid value "%s"`, d.Args[0])
	}
	st.Gzip.Static = GzipStatic(i)
	return nil
}

// GzipProxied is gzip_proxied's bitmask.
type GzipProxied uint16

// The gzip_proxied values, as nginx's NGX_HTTP_GZIP_PROXIED_* bits.
const (
	GzipProxiedOff GzipProxied = 1 << iota
	GzipProxiedExpired
	GzipProxiedNoCache
	GzipProxiedNoStore
	GzipProxiedPrivate
	GzipProxiedNoLastModified
	GzipProxiedNoETag
	GzipProxiedAuth
	GzipProxiedAny
)

// gzipProxiedNames are gzip_proxied's values in bit order.
var gzipProxiedNames = []string{"off", "expired", "no-cache", "no-store", "private", "no_last_modified", "no_etag", "auth", "any"}

// String lists the set values as gzip_proxied writes them.
func (p GzipProxied) String() string {
	var names []string
	for i, n := range gzipProxiedNames {
		if p&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// defaultGzip is nginx's: off, level 1, 20 bytes, gzip_proxied off,
// HTTP/1.1, 32 buffers of 4k (128k over the page size).
// gunzip_buffers' default is nginx's too: 32 4k.
func defaultGzip() Gzip {
	return Gzip{Level: 1, MinLength: 20, Proxied: GzipProxiedOff, Buffers: BufferSpec{Number: 32, Size: 4 << 10},
		GunzipBuffers: BufferSpec{Number: 32, Size: 4 << 10}}
}

// applyGzipTypes reads the gzip_types of the nearest level with any
// (typesSlot); text/html is always compressed, apart from the list.
func applyGzipTypes(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	g := &st.Gzip
	g.Types, g.AnyType = typesSlot(b, dirs)
	return nil
}

// typesSlot reads a MIME type list as nginx's ngx_http_types_slot does
// (gzip_types, charset_types): lower-cased, a duplicate warned about and
// skipped (text/html is always there, so listing it is a duplicate), "*"
// for every type (any). types does not hold the implicit text/html.
func typesSlot(b *builder, dirs []*Directive) (types []string, any bool) {
	seen := map[string]bool{"text/html": true}
	for _, d := range dirs {
		for _, a := range d.Args {
			if a == "*" {
				return nil, true
			}
			t := strings.ToLower(a)
			if seen[t] {
				b.warnDir(d, "", `duplicate MIME type "%s"`, t)
				continue
			}
			seen[t] = true
			types = append(types, t)
		}
	}
	return types, false
}

// applyGzipCompLevel reads gzip_comp_level (the table's kindNumber checked
// that it is a number).
func applyGzipCompLevel(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	n, err := parseInt(d.Args[0])
	if err != nil || n < 1 || n > 9 {
		return hintf(d.Pos, "1 is the fastest, 9 compresses most", "value must be between 1 and 9")
	}
	st.Gzip.Level = n
	return nil
}

// applyGzipProxied reads the gzip_proxied of the nearest level with any: the
// values of all of them, compared without case, as nginx's bitmask slot
// does.
func applyGzipProxied(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var p GzipProxied
	for _, d := range dirs {
		for _, a := range d.Args {
			i := indexFold(gzipProxiedNames, a)
			if i < 0 {
				return hintf(d.Pos, "use one or more of: "+strings.Join(gzipProxiedNames, " "), `invalid value "%s"`, a)
			}
			bit := GzipProxied(1) << i
			if p&bit != 0 {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			p |= bit
		}
	}
	st.Gzip.Proxied = p
	return nil
}

// indexFold is the index of the first of list equal to s without case, or -1.
func indexFold(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// applyGzipDisable compiles the regular expressions of the nearest level's
// gzip_disable directives (without case, as nginx's NGX_REGEX_CASELESS);
// "msie6" is findMSIE6's.
func applyGzipDisable(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var list []*pcre.Regexp
	for _, d := range dirs {
		for _, a := range d.Args {
			if a == "msie6" {
				continue
			}
			re, err := compileRegex(d.Pos, a, true)
			if err != nil {
				return err
			}
			list = append(list, re)
		}
	}
	st.Gzip.Disable = list
	return nil
}

// findMSIE6 finds a "gzip_disable ... msie6" at this level or above: nginx
// inherits that flag on its own, so a level's gzip_disable without msie6
// keeps its parent's.
func findMSIE6(s *scope, names ...string) ([]*Directive, *scope) {
	for l := s; l != nil; l = l.parent {
		for _, d := range l.own(names...) {
			for _, a := range d.Args {
				if a == "msie6" {
					return []*Directive{d}, l
				}
			}
		}
	}
	return nil, nil
}

// applyGzipBuffers checks gzip_buffers as nginx's bufs slot does: a number
// and a size, neither zero.
func applyGzipBuffers(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	b, err := bufsSlot(dirs[0])
	st.Gzip.Buffers = b
	return err
}

// applyGunzipBuffers checks gunzip_buffers as gzip_buffers.
func applyGunzipBuffers(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	b, err := bufsSlot(dirs[0])
	st.Gzip.GunzipBuffers = b
	return err
}

// bufsSlot reads "number size" as nginx's ngx_conf_set_bufs_slot: neither
// may be zero.
func bufsSlot(d *Directive) (BufferSpec, error) {
	n, err1 := parseInt(d.Args[0])
	size, err2 := parseSize(d.Args[1])
	if err1 != nil || err2 != nil || n == 0 || size == 0 {
		return BufferSpec{}, hintf(d.Pos, "use a number and a size such as 32 4k (fulcrum sizes its buffers itself)", `"%s" directive invalid value`, d.Name)
	}
	return BufferSpec{Number: n, Size: size}, nil
}

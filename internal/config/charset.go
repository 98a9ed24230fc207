package config

import "strings"

// Charset is one level's ngx_http_charset_module settings (charset,
// charset_types, override_charset, source_charset). fulcrum adds the charset
// to Content-Type as nginx does but never recodes a body: a configuration
// under which nginx would recode is refused at load (checkCharset).
type Charset struct {
	// Name is the charset added to Content-Type ("charset NAME"), in the
	// spelling nginx sends: the first one written anywhere in the
	// configuration for that name without case (charsetNames). Empty means
	// "charset off", the default. With Variable, Name is the variable's
	// name (without '$') and the charset is its value per request.
	Name     string
	Variable bool
	// Types are the MIME types (lower-case) whose responses get the charset;
	// AnyType is "charset_types *". The default is nginx's: text/html,
	// text/xml, text/plain, text/vnd.wap.wml, application/javascript,
	// application/rss+xml; a level that writes charset_types gets text/html
	// and its own list.
	Types   []string
	AnyType bool
	// Override is "override_charset on": a proxied response's own charset
	// is replaced when it names the same charset as Name (nginx would recode
	// any other; without a charset_map it logs an error and leaves it).
	Override bool
	// Source is source_charset, as Name (Variable: SourceVariable); empty
	// means none. A static Source is always the same charset as a static
	// Name (a different one is refused at load).
	Source         string
	SourceVariable bool
	// Known are the charset names the configuration writes (charset,
	// source_charset, charset_map), lower-case: a name nginx has an index
	// for. The same slice for every level.
	Known []string
	// Pos is where the level's charset directive is (for variable errors).
	Pos Pos
}

// defaultCharsetTypes are charset_types' default (ngx_http_charset_default_types).
var defaultCharsetTypes = []string{"text/html", "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml"}

// charsetTable is what the whole configuration says about charsets: each
// name's first spelling, by lower-case name, and the charset_map pairs.
type charsetTable struct {
	spelling map[string]string
	known    []string
	maps     []*Directive
}

// collectCharsets walks the configuration in file order, as nginx's parser
// registers charset names (ngx_http_add_charset): the first spelling of a
// name, without case, is the one every level sends.
func collectCharsets(dirs []*Directive, t *charsetTable) {
	for _, d := range dirs {
		switch d.Name {
		case "charset", "source_charset", "charset_map":
			if d.Name == "charset_map" {
				t.maps = append(t.maps, d)
			}
			for _, a := range d.Args {
				if a == "" || a[0] == '$' || d.Name == "charset" && a == "off" {
					continue
				}
				k := strings.ToLower(a)
				if _, ok := t.spelling[k]; !ok {
					t.spelling[k] = a
					t.known = append(t.known, k)
				}
			}
		}
		if d.IsBlock && d.Name != "charset_map" {
			collectCharsets(d.Block, t)
		}
	}
}

// mapBetween reports whether a charset_map converts between a and b (either
// way).
func (t *charsetTable) mapBetween(a, b string) *Directive {
	for _, d := range t.maps {
		if len(d.Args) == 2 && (strings.EqualFold(d.Args[0], a) && strings.EqualFold(d.Args[1], b) ||
			strings.EqualFold(d.Args[0], b) && strings.EqualFold(d.Args[1], a)) {
			return d
		}
	}
	return nil
}

// mapTouching is a charset_map with name on either side ("" matches any).
func (t *charsetTable) mapTouching(name string) *Directive {
	for _, d := range t.maps {
		if name == "" || len(d.Args) == 2 && (strings.EqualFold(d.Args[0], name) || strings.EqualFold(d.Args[1], name)) {
			return d
		}
	}
	return nil
}

// charsetName reads a charset or source_charset argument: a variable, or a
// name in its first spelling.
func (b *builder) charsetName(a string) (name string, variable bool) {
	if strings.HasPrefix(a, "$") {
		return a[1:], true
	}
	if s, ok := b.charsets.spelling[strings.ToLower(a)]; ok {
		return s, false
	}
	return a, false
}

// applyCharset reads "charset NAME | $variable | off" (only "off" in lower
// case is off, as in nginx).
func applyCharset(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	st.Charset.Pos = d.Pos
	if d.Args[0] == "off" {
		st.Charset.Name, st.Charset.Variable = "", false
		return nil
	}
	st.Charset.Name, st.Charset.Variable = b.charsetName(d.Args[0])
	return nil
}

// applySourceCharset reads source_charset.
func applySourceCharset(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.Charset.Source, st.Charset.SourceVariable = b.charsetName(dirs[0].Args[0])
	return nil
}

// applyCharsetTypes reads the charset_types of the nearest level with any
// (typesSlot): text/html and the listed types; "*" is every type.
func applyCharsetTypes(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	c := &st.Charset
	listed, any := typesSlot(b, dirs)
	c.Types, c.AnyType = nil, any
	if !any {
		c.Types = append([]string{"text/html"}, listed...)
	}
	return nil
}

// checkCharset refuses a level under which nginx would recode a response
// body, which fulcrum does not do, and applies nginx's own check
// (ngx_http_charset_postconfiguration): a static source_charset other than
// the static charset needs a charset_map between them. dirs are the
// charset, source_charset and override_charset directives that apply.
func checkCharset(b *builder, st *Settings, dirs []*Directive, s *scope) error {
	c := &st.Charset
	if c.Name == "" {
		return nil
	}
	src, _ := s.nearest("source_charset")
	if c.Source != "" && !c.Variable && !c.SourceVariable && !strings.EqualFold(c.Source, c.Name) {
		if m := b.charsets.mapBetween(c.Source, c.Name); m != nil {
			return hintf(src[0].Pos, "fulcrum sends the body as it is; convert the content, or drop source_charset",
				`fulcrum does not recode responses: "charset_map %s %s" in %s would recode from "%s" to "%s"`,
				m.Args[0], m.Args[1], m.Pos, c.Source, c.Name)
		}
		return errorf(src[0].Pos, `no "charset_map" between the charsets "%s" and "%s"`, c.Source, c.Name)
	}
	touch := c.Name
	if c.Variable {
		touch = ""
	}
	m := b.charsets.mapTouching(touch)
	if m == nil {
		return nil
	}
	if c.Source != "" && (c.Variable || c.SourceVariable) {
		return hintf(src[0].Pos, "fulcrum sends the body as it is; write the same charset in charset and source_charset",
			`fulcrum does not recode responses: with "charset_map %s %s" in %s, "source_charset" may need recoding`, m.Args[0], m.Args[1], m.Pos)
	}
	if c.Override {
		ov, _ := s.nearest("override_charset")
		return hintf(ov[0].Pos, "fulcrum sends the body as it is; drop override_charset or the charset_map",
			`fulcrum does not recode responses: with "charset_map %s %s" in %s, "override_charset on" may need recoding`, m.Args[0], m.Args[1], m.Pos)
	}
	return nil
}

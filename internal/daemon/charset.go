package daemon

import (
	"fmt"
	"net/http"

	"fulcrum/internal/charsetfilter"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// charsetVars are a level's compiled charset and source_charset variables
// (nil where the name is static).
type charsetVars struct {
	dst, src *vars.Template
}

// compileCharsets compiles the variables of "charset $name" and
// "source_charset $name"; a level without any is not in the map, so only a
// level with a variable looks it up.
func (s *snapshot) compileCharsets(comp *vars.Compiler) error {
	s.charsetVars = map[*config.Settings]charsetVars{}
	compile := func(name string, variable bool, pos config.Pos) (*vars.Template, error) {
		if !variable {
			return nil, nil
		}
		t, err := comp.Compile("$" + name)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, pos)
		}
		return t, nil
	}
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		c := &set.Charset
		if _, done := s.charsetVars[set]; done || c.Name == "" || !c.Variable && !c.SourceVariable {
			return nil
		}
		dst, err := compile(c.Name, c.Variable, c.Pos)
		if err != nil {
			return err
		}
		src, err := compile(c.Source, c.SourceVariable, c.Pos)
		if err != nil {
			return err
		}
		s.charsetVars[set] = charsetVars{dst: dst, src: src}
		return nil
	})
}

// setCharset is nginx's charset header filter for the response about to go
// out with code and header h, after add_header and before gzip, as nginx's
// filters run: it adds "; charset=NAME" to the Content-Type
// (charsetfilter.ContentType). It reports false when a charset variable
// was not found: nginx then closes the connection without an answer.
func (w *recorder) setCharset(code int, h http.Header) bool {
	v := h["Content-Type"]
	if len(v) == 0 || v[0] == "" {
		return true
	}
	c := &w.set.Charset
	dst := c.Name
	var source func() (string, bool)
	if cv, ok := w.snap.charsetVars[w.set]; ok {
		if cv.dst != nil {
			b, found := cv.dst.AppendFound(nil, w.st)
			if !found {
				return false
			}
			dst = string(b)
		}
		if cv.src != nil {
			source = func() (string, bool) {
				b, found := cv.src.AppendFound(nil, w.st)
				return string(b), found
			}
		}
	}
	enc := h["Content-Encoding"]
	r := charsetfilter.Response{Status: code, ContentType: v[0], Encoded: len(enc) > 0 && enc[0] != "", Override: w.st.OverrideCharset}
	ct, res, ok := charsetfilter.ContentType(c, r, dst, source)
	if !ok {
		return false
	}
	if res.UnknownOverride {
		w.snap.log.LogRequest(errlog.Error, logRequest(w.st, w.req),
			fmt.Sprintf(`unknown charset "%s" to override`, r.Override))
	}
	if r.Override != "" {
		dst = r.Override // for the no-map line
	}
	if res.NoMapSource != "" {
		w.snap.log.LogRequest(errlog.Error, logRequest(w.st, w.req),
			fmt.Sprintf(`no "charset_map" between the charsets "%s" and "%s"`, res.NoMapSource, dst))
	}
	if ct != v[0] {
		v[0] = ct
	}
	return true
}

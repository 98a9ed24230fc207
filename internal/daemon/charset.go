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
		w.log().LogRequest(errlog.Error, logRequest(w.st, w.req),
			fmt.Sprintf(`unknown charset "%s" to override%s`, r.Override, w.headerAction()))
	}
	if r.Override != "" {
		dst = r.Override // for the no-map line
	}
	if res.NoMapSource != "" {
		w.log().LogRequest(errlog.Error, logRequest(w.st, w.req),
			fmt.Sprintf(`no "charset_map" between the charsets "%s" and "%s"%s`, res.NoMapSource, dst, w.headerAction()))
	}
	if ct != v[0] {
		v[0] = ct
	}
	return true
}

// headerAction is the " while ..." part nginx's error log lines of a header
// filter end with: its connection's log action when the filter runs.
// nginx 1.22.1 wrote (recorded with the charset filter's lines): " while
// reading response header from upstream" for an upstream's own response
// (the proxy named its upstream, NameUpstream), " while sending response
// to client" for a static file's, which the static module sets, also after
// an X-Accel-Redirect or an intercepted error's error_page, and nothing for
// any other answer (return, an X-Accel-Redirect to one, fulcrum's own
// pages).
func (w *recorder) headerAction() string {
	switch {
	case w.fileResponse:
		return " while sending response to client"
	case w.upstream.server != "":
		return " while reading response header from upstream"
	}
	return ""
}

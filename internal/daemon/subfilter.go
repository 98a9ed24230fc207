package daemon

import (
	"fmt"
	"net/http"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/subfilter"
	"fulcrum/internal/vars"
)

// subFilter is a level's compiled sub_filter list.
type subFilter struct {
	// set is the search strings when none has variables; nil otherwise
	// (each response evaluates matches and builds its own Set).
	set *subfilter.Set
	// matches are the search strings' templates when some has variables
	// (nil otherwise); repls are the replacements, in configuration order.
	matches []*vars.Template
	repls   []*vars.Template
}

// compileSubFilters compiles the sub_filter lists of every level that has
// one; a level without any is not in the map and never looks it up.
func (s *snapshot) compileSubFilters(comp *vars.Compiler) error {
	s.subFilters = map[*config.Settings]*subFilter{}
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		pairs := set.SubFilter.Pairs
		if _, done := s.subFilters[set]; done || pairs == nil {
			return nil
		}
		sf := &subFilter{}
		static := make([]string, len(pairs))
		dynamic := false
		for i, p := range pairs {
			m, err := comp.Compile(p.Match)
			if err != nil {
				return fmt.Errorf("%w in %s", err, p.Pos)
			}
			r, err := comp.Compile(p.Replacement)
			if err != nil {
				return fmt.Errorf("%w in %s", err, p.Pos)
			}
			sf.matches = append(sf.matches, m)
			sf.repls = append(sf.repls, r)
			if c, ok := m.Constant(); ok {
				static[i] = c
			} else {
				dynamic = true
			}
		}
		if !dynamic {
			sf.set, sf.matches = subfilter.NewSet(static), nil
		}
		s.subFilters[set] = sf
		return nil
	})
}

// startSub is nginx's sub header filter for the response about to go out
// with header h, after add_header and gunzip and before charset and gzip,
// as nginx's filters run: a response with a Content-Type in
// sub_filter_types (or any under "*") and a Content-Length other than 0
// loses its Content-Length, and its Last-Modified and ETag (with
// sub_filter_last_modified on: keeps them, the ETag made weak); its body
// goes through a subfilter.Writer. nginx looks neither at the status nor at
// a Content-Encoding: a compressed body is searched as it is (and matches
// nothing in practice).
func (w *recorder) startSub(h http.Header) {
	sc := &w.set.SubFilter
	if !subfilter.TypeMatches(sc.Types, sc.AnyType, first(h, "Content-Type")) {
		return
	}
	if v := h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n == 0 {
			return
		}
	}
	sf := w.snap.subFilters[w.set]
	if sf == nil {
		return
	}
	set := sf.set
	w.subIndex = nil
	if sf.matches != nil {
		set = w.dynamicSubSet(sf)
		if set == nil {
			return // every search string evaluated to nothing
		}
	}
	delete(h, "Content-Length")
	if w.fileResponse {
		// nginx's range filter writes a file's Accept-Ranges only for a
		// response that keeps its Content-Length.
		delete(h, "Accept-Ranges")
	}
	if sc.LastModified {
		gzipfilter.WeakETag(h)
	} else {
		delete(h, "Last-Modified")
		delete(h, "Etag")
	}
	if w.req.Method == http.MethodHead {
		return
	}
	w.subTemplates = sf.repls
	w.subf.Reset((*afterSub)(w), set, (*subReplacer)(w), sc.Once)
	w.subbing, w.bodyFilters = true, true
}

// dynamicSubSet evaluates the search strings of a list with variables, as
// nginx does per response: lower-cased, those that come out empty left
// out (subIndex maps the Set's strings to the list's).
func (w *recorder) dynamicSubSet(sf *subFilter) *subfilter.Set {
	pats := make([]string, 0, len(sf.matches))
	for i, m := range sf.matches {
		v := m.String(w.st)
		if v == "" {
			continue
		}
		pats = append(pats, v)
		w.subIndex = append(w.subIndex, i)
	}
	return subfilter.NewSet(pats)
}

// first is a header field's first value, "" without one.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// subReplacer gives the sub filter the replacements of the response's
// location, evaluated when first needed.
type subReplacer recorder

// Replacement implements subfilter.Replacer.
func (r *subReplacer) Replacement(i int) []byte {
	w := (*recorder)(r)
	if w.subIndex != nil {
		i = w.subIndex[i]
	}
	return w.subTemplates[i].Append(nil, w.st)
}

// afterSub is where the sub filter's output goes: the gzip filter or the
// client.
type afterSub recorder

func (a *afterSub) Write(p []byte) (int, error) { return (*recorder)(a).writeOut(p) }

// afterGunzip is where the gunzip filter's output goes: the sub filter,
// else on as afterSub.
type afterGunzip recorder

func (a *afterGunzip) Write(p []byte) (int, error) {
	w := (*recorder)(a)
	if w.subbing {
		return w.subf.Write(p)
	}
	return w.writeOut(p)
}

// writeFiltered sends p through the body filters that run before gzip
// (gunzip, sub) in nginx's order.
func (w *recorder) writeFiltered(p []byte) (int, error) {
	if w.gunzipping {
		return w.gunzip.Write(p)
	}
	return w.subf.Write(p)
}

// writeOut sends p through gzip, when it compresses, to the client.
func (w *recorder) writeOut(p []byte) (int, error) {
	if w.gzipping {
		return w.writeGzip(p)
	}
	n, err := w.ResponseWriter.Write(p)
	w.st.BodyBytesSent += int64(n)
	return n, err
}

// endBodyFilters ends gunzip and sub, in that order, so what each holds
// goes on to the next. A body that does not decompress is logged, and the
// connection is closed without finishing the response, as nginx ends it.
func (w *recorder) endBodyFilters() {
	if w.gunzipping {
		w.gunzipping = false
		if err := w.gunzip.Close(); err != nil && w.ResponseWriter != nil {
			w.snap.log.LogRequest(errlog.Error, logRequest(w.st, w.req), fmt.Sprintf("%v while sending response to client", err))
			if w.ew != nil {
				w.ew.drop()
			}
		}
	}
	if w.subbing {
		w.subbing = false
		_ = w.subf.Close() // a write error is the client's, which the writer keeps
	}
	w.bodyFilters = false
}

// abortBodyFilters drops what gunzip and sub hold (a response cut short).
func (w *recorder) abortBodyFilters() {
	w.gunzip.Abort()
	w.subf.Abort()
}

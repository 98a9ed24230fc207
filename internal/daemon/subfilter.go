package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/ssi"
	"fulcrum/internal/subfilter"
	"fulcrum/internal/vars"
)

// bodyFilters is the state of the body filters that run before gzip, in
// nginx's order: gunzip decompresses the body when gunzipping (gzip.go);
// sub replaces strings in it when subbing, with subTemplates, the
// location's replacements, indexed through subIndex when the search
// strings have variables.
type bodyFilters struct {
	gunzip       gzipfilter.Gunzip
	gunzipping   bool
	gunzipFailed bool // logged (gunzipFailed)
	subf         subfilter.Writer
	subbing      bool
	subTemplates []*vars.Template
	subIndex     []int
	// ssi carries out the SSI commands when ssiOn (ssi.go), ssiDepth
	// being how deep the response's request is in includes.
	ssi      ssi.Filter
	ssiOn    bool
	ssiDepth int
	// running bounds a main request's includes that run at once
	// (ssiRunning); an included subrequest uses its main request's.
	running ssiRunning
}

// active reports whether a body filter runs.
func (bf *bodyFilters) active() bool { return bf.gunzipping || bf.subbing || bf.ssiOn }

// abort drops what gunzip and sub hold (a response cut short).
func (bf *bodyFilters) abort() {
	bf.gunzip.Abort()
	bf.subf.Abort()
	bf.ssi.Discard() // includes still running end (their goroutines too)
	bf.ssiOn = false
}

// bodyFilters is the response's body filter state, made on first use.
func (w *recorder) bodyFilters() *bodyFilters {
	if w.bf == nil {
		w.bf = &bodyFilters{}
	}
	return w.bf
}

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
	var index []int
	if sf.matches != nil {
		if set, index = w.dynamicSubSet(sf); set == nil {
			return // every search string evaluated to nothing
		}
	}
	delete(h, "Content-Length")
	w.LengthUnknown() // nginx's ngx_http_clear_content_length: chunked, however short
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
	bf := w.bodyFilters()
	bf.subTemplates, bf.subIndex = sf.repls, index
	bf.subf.Reset((*afterSub)(w), set, (*subReplacer)(w), sc.Once)
	bf.subbing = true
}

// dynamicSubSet evaluates the search strings of a list with variables, as
// nginx does per response: lower-cased, those that come out empty left
// out (index maps the Set's strings to the list's).
func (w *recorder) dynamicSubSet(sf *subFilter) (set *subfilter.Set, index []int) {
	pats := make([]string, 0, len(sf.matches))
	for i, m := range sf.matches {
		v := m.String(w.st)
		if v == "" {
			continue
		}
		pats = append(pats, v)
		index = append(index, i)
	}
	return subfilter.NewSet(pats), index
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
	if w.bf.subIndex != nil {
		i = w.bf.subIndex[i]
	}
	return w.bf.subTemplates[i].Append(nil, w.st)
}

// afterSub is where the sub filter's output goes: the SSI filter, else the
// gzip filter or the client.
type afterSub recorder

func (a *afterSub) Write(p []byte) (int, error) {
	w := (*recorder)(a)
	if w.bf.ssiOn {
		return w.bf.ssi.Write(p)
	}
	return w.writeOut(p)
}

// afterGunzip is where the gunzip filter's output goes: the sub filter,
// else on as afterSub.
type afterGunzip recorder

func (a *afterGunzip) Write(p []byte) (int, error) {
	w := (*recorder)(a)
	if w.bf.subbing {
		return w.bf.subf.Write(p)
	}
	return (*afterSub)(w).Write(p)
}

// writeFiltered sends p through the body filters that run before gzip
// (gunzip, sub, ssi) in nginx's order.
func (w *recorder) writeFiltered(p []byte) (int, error) {
	switch {
	case w.bf.gunzipping:
		n, err := w.bf.gunzip.Write(p)
		if errors.Is(err, gzipfilter.ErrGunzip) {
			w.gunzipFailed(err)
		}
		return n, err
	case w.bf.subbing:
		return w.bf.subf.Write(p)
	}
	return w.bf.ssi.Write(p)
}

// gunzipFailed logs, once, a body that does not decompress, and has the
// connection close without finishing the response, as nginx ends it (a
// short body that was held back goes nowhere: no answer at all).
func (w *recorder) gunzipFailed(err error) {
	if w.bf.gunzipFailed {
		return
	}
	w.bf.gunzipFailed = true
	w.log().LogRequest(errlog.Error, logRequest(w.st, w.req), fmt.Sprintf("%v while sending to client", err))
	if w.ew != nil {
		w.ew.drop()
	}
}

// writeOut sends p through gzip, when it compresses, to the client.
func (w *recorder) writeOut(p []byte) (int, error) {
	if w.bodyEnded {
		return len(p), nil // an included image ended the response (endIncluded)
	}
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
	bf := w.bf
	if bf.gunzipping {
		bf.gunzipping = false
		if err := bf.gunzip.Close(); errors.Is(err, gzipfilter.ErrGunzip) {
			w.gunzipFailed(err)
		}
	}
	if bf.subbing {
		bf.subbing = false
		_ = bf.subf.Close() // a write error is the client's, which the writer keeps
	}
	if bf.ssiOn {
		bf.ssiOn = false
		if err := bf.ssi.Close(); errors.Is(err, ssi.ErrAborted) && !w.sub && w.req != nil && w.req.Context().Err() != nil {
			// the client left while the page waited for its includes:
			// nginx logs the request 499 (recorded with nginx 1.22.1)
			w.drop(499)
		}
	}
}

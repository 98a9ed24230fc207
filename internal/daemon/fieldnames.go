package daemon

import (
	"net/http"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// dropInvalidFields applies ignore_invalid_headers (on by default) to the
// request's header fields once its server is chosen: a field whose name nginx
// calls invalid is dropped, as if it had not been sent, with nginx's info
// line "client sent invalid header line". A name is valid when it holds only
// letters, digits and '-', and '_' when underscores_in_headers is on
// (nginx's ngx_http_parse_header_line; h1 has already refused names that are
// not RFC 9110 tokens). With ignore_invalid_headers off every field stays,
// underscored ones included, as in nginx. When the request keeps a name with
// '_', st.UnderscoredFields is set, so that $http_NAME finds it.
//
// The fields are removed from r.Header and from st.Fields, so neither
// $http_NAME, the proxy, realip nor any other reader sees them. A request
// whose names are all valid costs one scan of them, none when plain says
// (connInfo.plainNames) that every name holds only letters, digits and '-':
// then no field is dropped and none has '_'.
func (s *snapshot) dropInvalidFields(r *http.Request, st *vars.State, set *config.Settings, plain bool) {
	if plain {
		return
	}
	ignore, underscores := set.IgnoreInvalidHeaders, set.UnderscoresInHeaders
	keepsUnderscores := underscores || !ignore
	first := -1
	for i := range st.Fields {
		name := st.Fields[i].Name
		if keepsUnderscores && strings.IndexByte(name, '_') >= 0 {
			st.UnderscoredFields = true // $http_NAME looks at them too
		}
		if ignore && first < 0 && !nginxFieldName(name, underscores) {
			first = i
		}
	}
	if first < 0 {
		return
	}
	kept := st.Fields[:first]
	for _, f := range st.Fields[first:] {
		if nginxFieldName(f.Name, underscores) {
			kept = append(kept, f)
			continue
		}
		if s.logAt(set).Enabled(errlog.Info) {
			s.logAt(set).LogRequest(errlog.Info, logRequest(st, r), `client sent invalid header line: "`+f.Name+": "+f.Value+`" while reading client request headers`)
		}
	}
	clear(st.Fields[len(kept):])
	st.Fields = kept
	for name := range r.Header {
		if !nginxFieldName(name, underscores) {
			delete(r.Header, name)
		}
	}
}

// nginxFieldName reports whether nginx takes name as a valid header name:
// letters, digits, '-', and '_' when underscores is set.
func nginxFieldName(name string, underscores bool) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		case c == '_' && underscores:
		default:
			return false
		}
	}
	return true
}

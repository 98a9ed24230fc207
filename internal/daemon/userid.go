package daemon

import (
	"net/http"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/userid"
	"fulcrum/internal/vars"
)

// uidState is the userid module's work on one request (nginx's
// ngx_http_userid_ctx_t): the cookie the client sent, read once, and the
// identifier this response sends, made once. The zero value is a request
// that read nothing yet.
type uidState struct {
	// read reports that the Cookie fields were looked at.
	read bool
	// cookie is the received value ("" when none); got its identifier,
	// gotOK when it decoded to a valid one.
	cookie string
	got    userid.UID
	gotOK  bool
	// set is the identifier this response sends, when setOK; resend
	// reports that it is got, sent again for the level's mark, and reset
	// that $uid_reset replaced got with a new one.
	set    userid.UID
	setOK  bool
	resend bool
}

// defineUseridVariables makes $uid_got, $uid_set and $uid_reset known to
// comp, before the set directives claim their slots: $uid_reset is empty
// until a set (or a map) gives it a value, as nginx's changeable variable.
func (s *snapshot) defineUseridVariables(comp *vars.Compiler) {
	comp.Define("uid_got", s.getUIDGot)
	comp.Define("uid_set", s.getUIDSet)
	// set may change $uid_reset alone, as in nginx 1.22.1
	comp.Unchangeable("uid_got")
	comp.Unchangeable("uid_set")
	comp.Define("uid_reset", func(dst []byte, _ *vars.State) ([]byte, bool) { return dst, true })
}

// compileUserid compiles the $uid_reset reference the module reads when a
// client sent a valid cookie, once the set directives have their slots.
func (s *snapshot) compileUserid(comp *vars.Compiler) error {
	t, err := comp.Compile("$uid_reset")
	s.uidReset = t
	return err
}

// getUIDGot is $uid_got: the received identifier, at a level whose userid
// is not off; not found without a valid cookie.
func (s *snapshot) getUIDGot(dst []byte, st *vars.State) ([]byte, bool) {
	sc, set := levelOf(st)
	if set == nil || set.Userid.Mode == config.UseridOff {
		return dst, false
	}
	u := s.uidRead(sc, &set.Userid)
	if !u.gotOK {
		return dst, false
	}
	return u.got.AppendVar(dst, set.Userid.Name), true
}

// getUIDSet is $uid_set: the identifier the response sends, made now if
// it was not yet, at a level that sends cookies (on or v1); not found when
// the client's cookie stays as it is.
func (s *snapshot) getUIDSet(dst []byte, st *vars.State) ([]byte, bool) {
	sc, set := levelOf(st)
	if set == nil || set.Userid.Mode < config.UseridV1 {
		return dst, false
	}
	u := s.uidCreate(sc, &set.Userid)
	if !u.setOK {
		return dst, false
	}
	return u.set.AppendVar(dst, set.Userid.Name), true
}

// uidRead reads the client's cookie into sc's uidState, once per request
// (nginx's ngx_http_userid_get_uid): the first Cookie field with the name
// gives the value; one too short or not base64 is logged, as nginx logs
// it (with the whole field), and counts as no cookie.
func (s *snapshot) uidRead(sc *requestScratch, set *config.Userid) *uidState {
	u := &sc.uid
	if u.read {
		return u
	}
	u.read = true
	st := &sc.st
	if st.Header == nil {
		return u
	}
	line, next, ok := st.Header.Lookup("Cookie", 0)
	for ; ok; line, next, ok = st.Header.Lookup("Cookie", next) {
		v, found := vars.FindCookie(line, set.Name)
		if !found {
			continue
		}
		got, err := userid.Decode(v)
		if err != nil {
			if log := sc.rec.log(); log.Enabled(errlog.Error) {
				log.LogRequest(errlog.Error, logRequest(st, sc.rec.req), err.Error()+` "`+line+`"`)
			}
			return u
		}
		u.cookie, u.got, u.gotOK = v, got, got.Valid()
		return u
	}
	return u
}

// uidCreate decides the identifier the response sends (nginx's
// ngx_http_userid_create_uid), once per request: none for a valid cookie
// that carries the level's mark (or any, without userid_mark), unless
// $uid_reset is neither empty nor "0"; the received one again for a valid
// cookie without the mark; else a new one ("log" also logs the reset).
func (s *snapshot) uidCreate(sc *requestScratch, set *config.Userid) *uidState {
	u := s.uidRead(sc, set)
	if u.setOK {
		return u
	}
	if u.gotOK {
		reset := ""
		if s.uidReset != nil {
			reset = s.uidReset.String(&sc.st)
		}
		if reset == "" || reset == "0" {
			if set.Mark == 0 || userid.Marked(u.cookie, set.Mark) {
				return u
			}
			u.set, u.setOK, u.resend = u.got, true, true
			return u
		}
		if log := sc.rec.log(); reset == "log" && log.Enabled(errlog.Notice) {
			log.LogRequest(errlog.Notice, logRequest(&sc.st, sc.rec.req),
				`userid cookie "`+string(u.got.AppendVar(nil, set.Name))+`" was reset`)
		}
	}
	u.set, u.setOK = s.uids.New(set, sc.st.Local.Addr(), s.now()), true
	return u
}

// setUserid is nginx's userid filter for a main request at a level that
// sends cookies: the Set-Cookie field (and userid_p3p's P3P field) when
// the response sends an identifier, after the fields the headers filter
// added.
func (w *recorder) setUserid(h http.Header) {
	sc, _ := w.st.Engine.(*requestScratch)
	if sc == nil {
		return
	}
	set := &w.set.Userid
	u := w.snap.uidCreate(sc, set)
	if !u.setOK {
		return
	}
	resend := ""
	if u.resend {
		resend = u.cookie
	}
	w.pinFields()
	h["Set-Cookie"] = append(h["Set-Cookie"], string(userid.AppendCookie(nil, set, &u.set, resend, w.snap.now())))
	w.placeField("Set-Cookie", "Set-Cookie")
	if set.P3P != "" {
		h["P3p"] = append(h["P3p"], set.P3P)
		w.placeField("P3P", "P3p")
	}
}

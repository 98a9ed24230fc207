package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/jwt"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// authJWT is a compiled auth_jwt with its key sets, read at load.
type authJWT struct {
	realm *vars.Template
	// token is the token= template; nil means "Authorization: Bearer".
	token *vars.Template
	keys  []*jwt.KeySet
	// requests are the auth_jwt_key_request URIs; cache is
	// auth_jwt_key_cache, how long their key sets are kept.
	requests []*vars.Template
	cache    time.Duration
	requires []jwtRequire
	leeway   time.Duration
}

// maxKeySetSize bounds the body of an auth_jwt_key_request subrequest
// that fulcrum reads: a key set is a few kilobytes.
const maxKeySetSize = 1 << 20

// jwtKeyCache keeps the key sets auth_jwt_key_request fetched, by URI, for
// auth_jwt_key_cache; it lives as long as its snapshot.
type jwtKeyCache struct {
	mu   sync.Mutex // guards sets; held for a lookup or a store, never across a fetch
	sets map[jwtKeyCacheKey]cachedKeySet
}

// jwtKeyCacheKey is a cached set's auth_jwt level and URI: each level
// keeps its sets for its own auth_jwt_key_cache, so a level without one
// fetches its set for every token even when another level caches the same
// URI.
type jwtKeyCacheKey struct {
	level *authJWT
	uri   string
}

// cachedKeySet is a fetched key set and when it stops being used.
type cachedKeySet struct {
	keys    *jwt.KeySet
	expires time.Time
}

// get returns the key set cached for uri at now, if any.
func (c *jwtKeyCache) get(uri jwtKeyCacheKey, now time.Time) *jwt.KeySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sets[uri]
	if !ok || !now.Before(e.expires) {
		return nil
	}
	return e.keys
}

// maxCachedKeySets bounds the key sets jwtKeyCache holds. The URI of an
// auth_jwt_key_request may contain variables, some of them the client's
// ($arg_*, $http_*): each distinct URI is an entry, and without a bound
// a client could grow the cache by one key set per request until a reload.
const maxCachedKeySets = 256

// put caches keys for uri until now+ttl. When the cache is full, the sets
// whose time has passed go first, then the one that expires soonest.
func (c *jwtKeyCache) put(uri jwtKeyCacheKey, keys *jwt.KeySet, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets == nil {
		c.sets = map[jwtKeyCacheKey]cachedKeySet{}
	}
	if _, ok := c.sets[uri]; !ok && len(c.sets) >= maxCachedKeySets {
		c.evict(now)
	}
	c.sets[uri] = cachedKeySet{keys: keys, expires: now.Add(ttl)}
}

// evict makes room for one set (c.mu held): it drops the expired sets,
// or, when none has expired, the one that expires soonest.
func (c *jwtKeyCache) evict(now time.Time) {
	var soonest jwtKeyCacheKey
	first := true
	for uri, e := range c.sets {
		if !now.Before(e.expires) {
			delete(c.sets, uri)
			continue
		}
		if first || e.expires.Before(c.sets[soonest].expires) {
			soonest, first = uri, false
		}
	}
	if len(c.sets) >= maxCachedKeySets {
		delete(c.sets, soonest)
	}
}

// jwtRequire is a compiled auth_jwt_require.
type jwtRequire struct {
	values []*vars.Template
	status int
}

// defineJWTVariables makes $jwt_header_NAME, $jwt_claim_NAME, $jwt_payload
// and the variables of auth_jwt_claim_set and auth_jwt_header_set known to
// comp. Their values come from the request's token once it verified
// (requestScratch.jwtToken): the first read checks it, in any phase, so a
// request that reads none pays nothing.
func defineJWTVariables(comp *vars.Compiler, h *config.HTTP) {
	comp.DefinePrefix("jwt_header_", func(name string) vars.Getter { return jwtGetter(true, []string{name}) })
	comp.DefinePrefix("jwt_claim_", func(name string) vars.Getter { return jwtGetter(false, []string{name}) })
	// NGINX Plus fills $jwt_payload for encrypted and nested tokens only.
	comp.Define("jwt_payload", func(dst []byte, _ *vars.State) ([]byte, bool) { return dst, true })
	for _, s := range h.JWTVarSets {
		comp.Define(s.Name, jwtGetter(s.Header, s.Path))
	}
}

// jwtGetter returns the getter of the header parameter (or claim) at path
// of the request's verified token.
func jwtGetter(header bool, path []string) vars.Getter {
	return func(dst []byte, st *vars.State) ([]byte, bool) {
		sc, _ := st.Engine.(*requestScratch)
		if sc == nil {
			return dst, false
		}
		tok := sc.jwtToken(st)
		if tok == nil {
			return dst, false
		}
		var v string
		var ok bool
		if header {
			v, ok = tok.HeaderValue(path...)
		} else {
			v, ok = tok.Claim(path...)
		}
		return append(dst, v...), ok
	}
}

// jwtState is what a request knows of its token (requestScratch.jwt): the
// last check of one, by a $jwt_* variable read or by the access phase.
type jwtState struct {
	// tok is the token the check accepted; nil when it refused it (or
	// none was checked).
	tok *jwt.Token
	// level is the auth_jwt level that checked raw, the token; the access
	// phase of that level reuses the check for the same token.
	level *authJWT
	raw   string
	// err is why the check refused raw.
	err error
}

// jwtToken returns the token the $jwt_* variables read. NGINX Plus's
// documentation says only that the values of encrypted tokens (which
// fulcrum does not accept) wait for the access phase, where they are
// decrypted: a signed token's claims can be read in every phase. So the
// first read at a level with auth_jwt checks the request's token as that
// level's access phase would (its key files' signatures, exp and nbf with
// auth_jwt_leeway; not auth_jwt_require, which may read the variables
// themselves) and keeps the result for the request: the access phase
// reuses it instead of checking the same token again. A token that does
// not pass leaves the variables empty. A level with auth_jwt_key_request
// cannot fetch its key sets before its access phase (they come from a
// subrequest), so its variables stay empty until that phase accepted the
// token. At a level without auth_jwt, the variables keep the token a check
// accepted earlier in the request, if any.
func (sc *requestScratch) jwtToken(st *vars.State) *jwt.Token {
	var c *authJWT
	if s := sc.rec.snap; s != nil && sc.rec.set != nil {
		c = s.jwts[sc.rec.set]
	}
	if c == nil || len(c.requests) > 0 {
		return sc.jwt.tok
	}
	raw := c.bearer(st)
	if c == sc.jwt.level && raw == sc.jwt.raw {
		return sc.jwt.tok
	}
	if raw == "" {
		return nil
	}
	tok, err := c.verify(raw, c.keys)
	sc.jwt = jwtState{tok: tok, level: c, raw: raw, err: err}
	return tok
}

// verify parses the token raw and checks it with keys (check); nil and
// the reason when it does not pass.
func (c *authJWT) verify(raw string, keys []*jwt.KeySet) (*jwt.Token, error) {
	tok, err := jwt.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := c.check(tok, keys); err != nil {
		return nil, err
	}
	return tok, nil
}

// check checks a parsed token with keys: its signature, then its exp and
// nbf with the level's leeway.
func (c *authJWT) check(tok *jwt.Token, keys []*jwt.KeySet) error {
	if err := tok.Verify(keys...); err != nil {
		return err
	}
	return tok.CheckTime(time.Now(), c.leeway)
}

// compileAuthJWT compiles the auth_jwt checks of every level (limit_except
// blocks included) and reads their key files, each once: a file that
// cannot be read or is not a usable JSON Web Key Set is a configuration
// error naming the directive's file and line.
func (s *snapshot) compileAuthJWT(comp *vars.Compiler) error {
	s.jwts = map[*config.Settings]*authJWT{}
	files := map[string]*jwt.KeySet{}
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		aj := set.AuthJWT
		if aj == nil || s.jwts[set] != nil {
			return nil
		}
		c := &authJWT{leeway: aj.Leeway, cache: aj.KeyCache}
		var err error
		if c.realm, err = comp.Compile(aj.Realm); err != nil {
			return fmt.Errorf("%w in %s", err, aj.Pos)
		}
		if aj.Token != "" {
			if c.token, err = comp.Compile(aj.Token); err != nil {
				return fmt.Errorf("%w in %s", err, aj.Pos)
			}
		}
		for _, f := range aj.KeyFiles {
			ks := files[f.Path]
			if ks == nil {
				if ks, err = readKeySet(f); err != nil {
					return err
				}
				files[f.Path] = ks
			}
			c.keys = append(c.keys, ks)
		}
		for _, kr := range aj.KeyRequests {
			t, err := comp.Compile(kr.URI)
			if err != nil {
				return fmt.Errorf("%w in %s", err, kr.Pos)
			}
			c.requests = append(c.requests, t)
		}
		for _, r := range aj.Requires {
			req := jwtRequire{status: r.Status}
			for _, v := range r.Values {
				t, err := comp.Compile(v)
				if err != nil {
					return fmt.Errorf("%w in %s", err, r.Pos)
				}
				req.values = append(req.values, t)
			}
			c.requires = append(c.requires, req)
		}
		s.jwts[set] = c
		return nil
	})
}

// readKeySet reads and parses the auth_jwt_key_file f; its errors are
// configuration errors at the directive, with a hint.
func readKeySet(f config.JWTKeyFile) (*jwt.KeySet, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &config.Error{Pos: f.Pos, Msg: fmt.Sprintf(`auth_jwt_key_file "%s" cannot be read (%v)`, f.Path, err),
			Hint: "write the path of a JSON Web Key Set file; a relative path is relative to the configuration's directory"}
	}
	ks, err := jwt.ParseKeySet(data)
	if err != nil {
		return nil, &config.Error{Pos: f.Pos, Msg: fmt.Sprintf(`auth_jwt_key_file "%s": %v`, f.Path, err),
			Hint: `the file must be a JSON Web Key Set (RFC 7517), {"keys":[...]}, of oct, RSA, EC (P-256, P-384, P-521) or OKP (Ed25519) keys`}
	}
	return ks, nil
}

// authJWTCheck is the auth_jwt handler of the access phase: 0 when off;
// otherwise 200 for a token that verifies with the level's keys (its key
// files' and, fetched or cached, its key requests'; see requestKeys for
// the 500 and 499 of a fetch that fails), is
// within its exp and nbf (with auth_jwt_leeway) and passes every
// auth_jwt_require; 401 with "WWW-Authenticate: Bearer realm=..." when
// there is no token; 401 with `, error="invalid_token"` added (RFC 6750
// section 3.1) for a token that does not pass; and an auth_jwt_require's
// status (401 with the same challenge, or 403 without) when one of its
// values is empty or "0". A $jwt_* variable read earlier at the same
// level may have checked the same token already (jwtToken): its result
// stands. The accepted token is kept for the $jwt_* variables, which the
// auth_jwt_require values may read.
func (s *snapshot) authJWTCheck(w *recorder, r *http.Request, st *vars.State, srv *router.Server, set *config.Settings) int {
	c := s.jwts[set]
	if c == nil {
		return 0
	}
	realm := c.realm.String(st)
	raw := c.bearer(st)
	if raw == "" {
		s.logAuth(set, errlog.Info, r, st, "no JSON Web Token was provided")
		return bearerChallenge(w, realm, false)
	}
	sc, _ := st.Engine.(*requestScratch)
	var tok *jwt.Token
	var err error
	if sc != nil && sc.jwt.level == c && sc.jwt.raw == raw {
		tok, err = sc.jwt.tok, sc.jwt.err
	} else {
		var code int
		if tok, code, err = s.checkToken(w, r, st, srv, c, raw); code != 0 {
			return code
		}
	}
	if sc != nil {
		sc.jwt = jwtState{tok: tok, level: c, raw: raw, err: err}
	}
	if err != nil {
		s.logAuth(set, errlog.Info, r, st, "JSON Web Token rejected: "+err.Error())
		return bearerChallenge(w, realm, true)
	}
	for _, req := range c.requires {
		if !req.holds(st) {
			s.logAuth(set, errlog.Info, r, st, "JSON Web Token rejected by auth_jwt_require")
			if req.status == http.StatusForbidden {
				return http.StatusForbidden
			}
			return bearerChallenge(w, realm, true)
		}
	}
	return http.StatusOK
}

// checkToken checks raw as the access phase of level c does: a token that
// does not parse is refused before the key requests are fetched. It
// returns the token, or the error that refused it, or, not 0, the status
// to answer when the key sets cannot be had (requestKeys).
func (s *snapshot) checkToken(w *recorder, r *http.Request, st *vars.State, srv *router.Server, c *authJWT, raw string) (*jwt.Token, int, error) {
	tok, err := jwt.Parse(raw)
	if err != nil {
		return nil, 0, err
	}
	keys := c.keys
	if len(c.requests) > 0 {
		var code int
		if keys, code = s.requestKeys(w, r, st, srv, c); code != 0 {
			return nil, code, nil
		}
	}
	if err := c.check(tok, keys); err != nil {
		return nil, 0, err
	}
	return tok, 0, nil
}

// requestKeys returns the level's key files' sets followed by those of
// its auth_jwt_key_request URIs, each from the cache or fetched by a
// subrequest, or the status to answer with when one cannot be had: 500,
// logged, for a subrequest that does not answer 200 with a key set (the
// documentation: "If at least one of the specified keys cannot be loaded
// or processed, nginx will return the 500"), or 499 when the client went
// away during it.
func (s *snapshot) requestKeys(w *recorder, r *http.Request, st *vars.State, srv *router.Server, c *authJWT) ([]*jwt.KeySet, int) {
	keys := append([]*jwt.KeySet(nil), c.keys...)
	for _, t := range c.requests {
		uri := t.String(st)
		now := time.Now()
		key := jwtKeyCacheKey{c, uri}
		ks := s.jwtKeys.get(key, now)
		if ks == nil {
			var code int
			if ks, code = s.fetchKeySet(w, r, st, srv, uri); code != 0 {
				return nil, code
			}
			if c.cache > 0 {
				s.jwtKeys.put(key, ks, now, c.cache)
			}
		}
		keys = append(keys, ks)
	}
	return keys, 0
}

// fetchKeySet runs the auth_jwt_key_request subrequest to uri: a GET with
// the client's header fields and no body, served as auth_request's
// subrequest is (without the access phase), whose body is the key set.
func (s *snapshot) fetchKeySet(w *recorder, r *http.Request, st *vars.State, srv *router.Server, uri string) (*jwt.KeySet, int) {
	sr := *r // the fields are shared, read only
	sr.Method = http.MethodGet
	sr.Body, sr.ContentLength, sr.TransferEncoding = http.NoBody, 0, nil
	path, args, _ := strings.Cut(uri, "?")
	saved := st.BeginSubrequest(path, http.MethodGet)
	st.Args, st.ArgsFound = args, args != ""
	body := &limitedBuffer{max: maxKeySetSize}
	sw := s.runSubrequest(w, &sr, st, srv, body)
	st.EndSubrequest(saved)
	if r.Context().Err() != nil {
		return nil, 499
	}
	msg := ""
	var ks *jwt.KeySet
	switch {
	case sw.code != http.StatusOK:
		msg = "auth_jwt_key_request unexpected status: " + strconv.Itoa(sw.code)
	case body.over:
		msg = "auth_jwt_key_request: the key set is larger than 1m"
	default:
		var err error
		if ks, err = jwt.ParseKeySet(body.buf.Bytes()); err != nil {
			msg = `auth_jwt_key_request "` + uri + `": ` + err.Error()
		}
	}
	if msg != "" {
		s.logAuth(w.set, errlog.Error, r, st, msg)
		return nil, http.StatusInternalServerError
	}
	return ks, 0
}

// limitedBuffer keeps the first max bytes written to it and notes more.
type limitedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.over = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return len(p), nil
}

// holds reports whether every value of the require is neither empty nor "0".
func (req *jwtRequire) holds(st *vars.State) bool {
	for _, v := range req.values {
		if s := v.String(st); s == "" || s == "0" {
			return false
		}
	}
	return true
}

// bearer returns the request's token: the token= value, or the
// credentials of an "Authorization: Bearer" header (the scheme compared
// without case, RFC 6750 section 2.1); "" when there is none.
func (c *authJWT) bearer(st *vars.State) string {
	if c.token != nil {
		return c.token.String(st)
	}
	if st.Header == nil {
		return ""
	}
	v, _, found := st.Header.Lookup("Authorization", 0)
	const scheme = "Bearer "
	if !found || len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return ""
	}
	return strings.Trim(v[len(scheme):], " \t")
}

// bearerChallenge sets the Bearer WWW-Authenticate (the realm copied as
// it is, as auth_basic's) and returns 401.
func bearerChallenge(w http.ResponseWriter, realm string, invalid bool) int {
	v := `Bearer realm="` + realm + `"`
	if invalid {
		v += `, error="invalid_token"`
	}
	w.Header()["WWW-Authenticate"] = []string{v}
	return http.StatusUnauthorized
}

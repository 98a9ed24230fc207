package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/jwt"
	"fulcrum/internal/vars"
)

// authJWT is a compiled auth_jwt with its key sets, read at load.
type authJWT struct {
	realm *vars.Template
	// token is the token= template; nil means "Authorization: Bearer".
	token    *vars.Template
	keys     []*jwt.KeySet
	requires []jwtRequire
	leeway   time.Duration
}

// jwtRequire is a compiled auth_jwt_require.
type jwtRequire struct {
	values []*vars.Template
	status int
}

// defineJWTVariables makes $jwt_header_NAME, $jwt_claim_NAME, $jwt_payload
// and the variables of auth_jwt_claim_set and auth_jwt_header_set known to
// comp. Their values come from the token the request's auth_jwt check
// accepted (nothing before that check, or without one), so a request that
// reads none pays nothing.
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
// of the request's accepted token.
func jwtGetter(header bool, path []string) vars.Getter {
	return func(dst []byte, st *vars.State) ([]byte, bool) {
		sc, _ := st.Engine.(*requestScratch)
		if sc == nil || sc.jwt == nil {
			return dst, false
		}
		var v string
		var ok bool
		if header {
			v, ok = sc.jwt.HeaderValue(path...)
		} else {
			v, ok = sc.jwt.Claim(path...)
		}
		return append(dst, v...), ok
	}
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
		c := &authJWT{leeway: aj.Leeway}
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
// otherwise 200 for a token that verifies with the level's keys, is
// within its exp and nbf (with auth_jwt_leeway) and passes every
// auth_jwt_require; 401 with "WWW-Authenticate: Bearer realm=..." when
// there is no token; 401 with `, error="invalid_token"` added (RFC 6750
// section 3.1) for a token that does not pass; and an auth_jwt_require's
// status (401 with the same challenge, or 403 without) when one of its
// values is empty or "0". The accepted token is kept for the $jwt_*
// variables, which the auth_jwt_require values may read.
func (s *snapshot) authJWTCheck(w http.ResponseWriter, r *http.Request, st *vars.State, set *config.Settings) int {
	c := s.jwts[set]
	if c == nil {
		return 0
	}
	realm := c.realm.String(st)
	raw := c.bearer(st)
	if raw == "" {
		s.logAuth(errlog.Info, r, st, "no JSON Web Token was provided")
		return bearerChallenge(w, realm, false)
	}
	tok, err := jwt.Parse(raw)
	if err == nil {
		err = tok.Verify(c.keys...)
	}
	if err == nil {
		err = tok.CheckTime(time.Now(), c.leeway)
	}
	if err != nil {
		s.logAuth(errlog.Info, r, st, "JSON Web Token rejected: "+err.Error())
		return bearerChallenge(w, realm, true)
	}
	if sc, _ := st.Engine.(*requestScratch); sc != nil {
		sc.jwt = tok
	}
	for _, req := range c.requires {
		if !req.holds(st) {
			s.logAuth(errlog.Info, r, st, "JSON Web Token rejected by auth_jwt_require")
			if req.status == http.StatusForbidden {
				return http.StatusForbidden
			}
			return bearerChallenge(w, realm, true)
		}
	}
	return http.StatusOK
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

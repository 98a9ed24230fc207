package config

import (
	"strings"
	"time"
)

// AuthJWT is auth_jwt with the directives that go with it as they apply to
// a level (NGINX Plus's ngx_http_auth_jwt_module); each directive is
// inherited on its own, as nginx merges them.
type AuthJWT struct {
	// Realm is auth_jwt's string, which may hold variables: the realm of
	// the WWW-Authenticate challenge.
	Realm string
	// Token is the token= parameter, a string with variables (such as
	// "$cookie_auth_token") whose value is the token; "" means the token
	// comes from "Authorization: Bearer ...".
	Token string
	// Pos is where auth_jwt is written.
	Pos Pos
	// KeyFiles are the auth_jwt_key_file paths of the nearest level that
	// has any, resolved against the configuration's directory; each is a
	// JSON Web Key Set, read once when the configuration is loaded.
	KeyFiles []JWTKeyFile
	// KeyRequests are the auth_jwt_key_request URIs (strings with
	// variables) of the nearest level that has any: each key set is
	// fetched by a subrequest when a token is checked.
	KeyRequests []JWTKeyRequest
	// KeyCache is auth_jwt_key_cache (0 by default: no caching): how long
	// a key set fetched by auth_jwt_key_request is kept.
	KeyCache time.Duration
	// Requires are the auth_jwt_require directives of the nearest level
	// that has any, in the order written.
	Requires []JWTRequire
	// Leeway is auth_jwt_leeway (0 by default): the clock skew allowed
	// when checking the exp and nbf claims.
	Leeway time.Duration
}

// JWTKeyFile is one auth_jwt_key_file.
type JWTKeyFile struct {
	Path string
	Pos  Pos
}

// JWTKeyRequest is one auth_jwt_key_request.
type JWTKeyRequest struct {
	URI string
	Pos Pos
}

// JWTRequire is one "auth_jwt_require $value ... [error=401|403];": every
// value (a string with variables) must be neither empty nor "0", else the
// request is answered with Status.
type JWTRequire struct {
	Values []string
	Status int
	Pos    Pos
}

// JWTVarSet is one auth_jwt_claim_set or auth_jwt_header_set: the
// variable Name (without its "$") is the claim (or JOSE header parameter)
// found by walking Path from the top level of the JSON object.
type JWTVarSet struct {
	Name   string
	Path   []string
	Header bool
	Pos    Pos
}

// jwtNames are the directives that make up a level's AuthJWT.
var jwtNames = []string{"auth_jwt", "auth_jwt_key_file", "auth_jwt_key_request", "auth_jwt_key_cache", "auth_jwt_require", "auth_jwt_leeway"}

// findAuthJWT picks each auth_jwt directive from the nearest level that
// writes it (arrays, such as the key files, come whole from one level).
func findAuthJWT(s *scope, _ ...string) ([]*Directive, *scope) {
	var out []*Directive
	for _, n := range jwtNames {
		dirs, _ := s.nearest(n)
		out = append(out, dirs...)
	}
	return out, s
}

// applyAuthJWT sets AuthJWT when auth_jwt applies and is not "off".
func applyAuthJWT(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var aj AuthJWT
	on := false
	for _, d := range dirs {
		switch d.Name {
		case "auth_jwt":
			if d.Args[0] == "off" {
				return nil
			}
			on = true
			aj.Realm, aj.Pos = d.Args[0], d.Pos
			if len(d.Args) == 2 {
				aj.Token = strings.TrimPrefix(d.Args[1], "token=")
			}
		case "auth_jwt_key_file":
			aj.KeyFiles = append(aj.KeyFiles, JWTKeyFile{Path: b.confPath(d.Args[0]), Pos: d.Pos})
		case "auth_jwt_key_request":
			aj.KeyRequests = append(aj.KeyRequests, JWTKeyRequest{URI: d.Args[0], Pos: d.Pos})
		case "auth_jwt_key_cache":
			ttl, err := parseTime(d.Args[0], true) // the table's kindSec checked it
			if err != nil {
				return err
			}
			aj.KeyCache = ttl
		case "auth_jwt_require":
			aj.Requires = append(aj.Requires, parseJWTRequire(d))
		case "auth_jwt_leeway":
			leeway, err := parseTime(d.Args[0], true) // the table's kindSec checked it
			if err != nil {
				return err
			}
			aj.Leeway = leeway
		}
	}
	if on {
		st.AuthJWT = &aj
	}
	return nil
}

// parseJWTRequire reads an auth_jwt_require checkAuthJWTRequire checked.
func parseJWTRequire(d *Directive) JWTRequire {
	r := JWTRequire{Values: d.Args, Status: 401, Pos: d.Pos}
	if last := d.Args[len(d.Args)-1]; strings.HasPrefix(last, "error=") {
		r.Values = d.Args[:len(d.Args)-1]
		if last == "error=403" {
			r.Status = 403
		}
	}
	return r
}

// checkAuthJWT checks auth_jwt's optional token= parameter.
func checkAuthJWT(d *Directive) error {
	if len(d.Args) < 2 {
		return nil
	}
	v, ok := strings.CutPrefix(d.Args[1], "token=")
	if !ok || !strings.HasPrefix(v, "$") {
		return hintf(d.Pos, `write the token's variable as token=$variable, such as auth_jwt "closed site" token=$cookie_auth_token;`,
			`invalid parameter "%s" of "auth_jwt"`, d.Args[1])
	}
	return nil
}

// checkAuthJWTKeyFile refuses a key file path with variables: fulcrum
// reads the key sets once, when the configuration is loaded.
func checkAuthJWTKeyFile(d *Directive) error {
	if strings.Contains(d.Args[0], "$") {
		return hintf(d.Pos, "write the key file's path without variables; fulcrum reads key files when the configuration is loaded",
			`variables in "auth_jwt_key_file" are not supported by fulcrum`)
	}
	return nil
}

// checkAuthJWTRequire checks that the values start with a variable, as
// NGINX Plus requires, and that error= (last) is 401 or 403.
func checkAuthJWTRequire(d *Directive) error {
	vals := d.Args
	if last := vals[len(vals)-1]; strings.HasPrefix(last, "error=") {
		if last != "error=401" && last != "error=403" {
			return hintf(d.Pos, "use error=401 or error=403", `invalid parameter "%s" of "auth_jwt_require"`, last)
		}
		vals = vals[:len(vals)-1]
	}
	if len(vals) == 0 {
		return hintf(d.Pos, "write at least one value, such as auth_jwt_require $valid_jwt_iss;", `invalid number of arguments in "auth_jwt_require" directive`)
	}
	for _, v := range vals {
		if !strings.HasPrefix(v, "$") {
			return hintf(d.Pos, "each value must start with a variable, such as $jwt_claim_iss or a map's", `invalid value "%s" of "auth_jwt_require"`, v)
		}
	}
	return nil
}

// checkAuthJWTType refuses the JWE token types, which fulcrum does not
// decrypt.
func checkAuthJWTType(d *Directive) error {
	if v := d.Args[0]; v != "signed" {
		return hintf(d.Pos, "fulcrum validates signed tokens (JWS) only; remove the directive or write auth_jwt_type signed;",
			`"auth_jwt_type %s" (JSON Web Encryption) is not supported by fulcrum`, v)
	}
	return nil
}

// checkJWTVarSet checks auth_jwt_claim_set and auth_jwt_header_set's
// variable, which is written with its "$".
func checkJWTVarSet(d *Directive) error {
	if name := d.Args[0]; !strings.HasPrefix(name, "$") || len(name) == 1 {
		return hintf(d.Pos, `write the variable with its "$", as in `+d.Name+` $email info e-mail;`, `invalid variable name "%s"`, name)
	}
	return nil
}

// jwtVarSets reads the http level's auth_jwt_claim_set and
// auth_jwt_header_set directives.
func (b *builder) jwtVarSets(h *HTTP, http *scope) error {
	for _, d := range http.own("auth_jwt_claim_set", "auth_jwt_header_set") {
		h.JWTVarSets = append(h.JWTVarSets, JWTVarSet{Name: d.Args[0][1:], Path: d.Args[1:],
			Header: d.Name == "auth_jwt_header_set", Pos: d.Pos})
	}
	return nil
}

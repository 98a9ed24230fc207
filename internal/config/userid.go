package config

import "strings"

// UseridMode is the userid directive's value (ngx_http_userid_filter_module).
type UseridMode uint8

// The userid modes, in nginx's order: a mode from UseridV1 up issues
// cookies, UseridLog only reads them.
const (
	UseridOff UseridMode = iota // no cookie read or set; $uid_got not found
	UseridLog                   // the cookie is read ($uid_got), none is set
	UseridV1                    // cookies are set, the uid's words in host order
	UseridOn                    // cookies are set, the uid's words in network order
)

// UseridMaxExpires is "userid_expires max": 31 Dec 2037 23:55:55 GMT in
// seconds since the epoch, which nginx writes as a fixed date rather than
// one that many seconds from now.
const UseridMaxExpires = 2145916555

// The userid_flags bits.
const (
	UseridSecure         = 1 << iota // "; secure"
	UseridHTTPOnly                   // "; httponly"
	UseridSameSiteStrict             // "; samesite=strict"
	UseridSameSiteLax                // "; samesite=lax"
	UseridSameSiteNone               // "; samesite=none"
)

// Userid is a level's userid settings: each directive is inherited on its
// own, as nginx merges the module's location configuration.
type Userid struct {
	// Mode is userid (off).
	Mode UseridMode
	// Service is userid_service, the uid's first word; ServiceSet is false
	// when no level writes it (then the server's IPv4 address in "on"
	// mode, 0 in "v1").
	Service    uint32
	ServiceSet bool
	// Name is userid_name ("uid"), the cookie's name.
	Name string
	// Domain and Path are the cookie's attributes as nginx appends them:
	// "; domain=NAME" ("" for the default "none") and "; path=PATH"
	// ("; path=/").
	Domain, Path string
	// Expires is userid_expires in seconds: 0 (off) sends a session
	// cookie; UseridMaxExpires the fixed date of "max".
	Expires int64
	// P3P is userid_p3p's P3P field value; "" (none, the default) sends
	// no field.
	P3P string
	// Mark is userid_mark's character, 0 when off (the default).
	Mark byte
	// Flags are userid_flags' bits (UseridSecure, ...); 0 for off.
	Flags int
}

// useridRules read the userid_* directives, one rule each.
func useridRules() []settingRule {
	return []settingRule{
		{names: []string{"userid"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.Mode = map[string]UseridMode{"off": UseridOff, "log": UseridLog, "v1": UseridV1, "on": UseridOn}[dirs[0].Args[0]]
			return nil
		}},
		{names: []string{"userid_service"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			n, err := parseInt(dirs[0].Args[0]) // the table's kindNumber checked it
			st.Userid.Service, st.Userid.ServiceSet = uint32(n), true
			return err
		}},
		textRule("userid_name", func(s *Settings) *string { return &s.Userid.Name }),
		{names: []string{"userid_domain"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.Domain = ""
			if v := dirs[0].Args[0]; v != "none" {
				st.Userid.Domain = "; domain=" + v
			}
			return nil
		}},
		{names: []string{"userid_path"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.Path = "; path=" + dirs[0].Args[0]
			return nil
		}},
		{names: []string{"userid_expires"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			switch v := dirs[0].Args[0]; v {
			case "max":
				st.Userid.Expires = UseridMaxExpires
			case "off":
				st.Userid.Expires = 0
			default:
				d, err := parseTime(v, true) // checkUseridExpires checked it
				st.Userid.Expires = int64(d.Seconds())
				return err
			}
			return nil
		}},
		{names: []string{"userid_p3p"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.P3P = dirs[0].Args[0]
			if st.Userid.P3P == "none" {
				st.Userid.P3P = ""
			}
			return nil
		}},
		{names: []string{"userid_mark"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.Mark = 0
			if v := dirs[0].Args[0]; v != "off" {
				st.Userid.Mark = v[0] // checkUseridMark checked it
			}
			return nil
		}},
		{names: []string{"userid_flags"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.Userid.Flags = useridFlags(dirs[0].Args)
			return nil
		}},
	}
}

// useridFlags turns userid_flags' words (checked by checkUseridFlags,
// compared case-insensitively as nginx's bitmask slot does) into bits.
func useridFlags(args []string) int {
	bits := map[string]int{"secure": UseridSecure, "httponly": UseridHTTPOnly,
		"samesite=strict": UseridSameSiteStrict, "samesite=lax": UseridSameSiteLax, "samesite=none": UseridSameSiteNone}
	flags := 0
	for _, a := range args {
		flags |= bits[strings.ToLower(a)]
	}
	return flags
}

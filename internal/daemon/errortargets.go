package daemon

import (
	"fmt"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// compileErrorTargets compiles the error_page targets that hold variables
// ("error_page 497 https://$host$request_uri;", nginx's usual answer to plain
// HTTP on an ssl port), keyed by their text: the same text compiles the same.
// Targets without variables are used as written.
func (s *snapshot) compileErrorTargets(comp *vars.Compiler) error {
	add := func(set *config.Settings) error {
		for _, ep := range set.ErrorPages {
			if !strings.Contains(ep.Target, "$") || s.errorTargets[ep.Target] != nil {
				continue
			}
			t, err := comp.Compile(ep.Target)
			if err != nil {
				return fmt.Errorf("%w in %s", err, ep.Pos)
			}
			if s.errorTargets == nil {
				s.errorTargets = map[string]*vars.Template{}
			}
			s.errorTargets[ep.Target] = t
		}
		return nil
	}
	return walkSettings(s.cfg.HTTP.Servers, add)
}

// errorTarget is an error_page target with its variables evaluated for st.
func (s *snapshot) errorTarget(target string, st *vars.State) string {
	if t := s.errorTargets[target]; t != nil {
		return t.String(st)
	}
	return target
}

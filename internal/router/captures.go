package router

import "fulcrum/internal/pcre"

// Captures identify one regular-expression match made while routing: a regex
// server_name against the host, or a regex location against the path. The groups
// are computed on demand, so routing pays nothing for captures nobody reads.
// The zero value means no regex matched.
type Captures struct {
	// Regexp is the pattern that matched; nil when none did.
	Regexp *pcre.Regexp
	// Subject is the string it matched: the normalised host or path.
	Subject string
}

// Matched reports whether a regex matched.
func (c Captures) Matched() bool { return c.Regexp != nil }

// Groups returns the whole match followed by the numbered groups, so Groups()[1]
// is nginx's $1; a group that did not take part is "". It returns nil when no
// regex matched. Each call runs the regex again and allocates.
func (c Captures) Groups() []string {
	if c.Regexp == nil {
		return nil
	}
	return c.Regexp.FindStringSubmatch(c.Subject)
}

// Named returns the value of the named group (nginx's $name for (?<name>...)),
// and false when no regex matched or the pattern has no group of that name.
func (c Captures) Named(name string) (string, bool) {
	if c.Regexp == nil {
		return "", false
	}
	i := c.Regexp.SubexpIndex(name)
	if i < 0 {
		return "", false
	}
	groups := c.Regexp.FindStringSubmatch(c.Subject)
	if groups == nil {
		return "", false
	}
	return groups[i], true
}

package config

import "strings"

// String is the method's directive name: "round_robin" (the default, which has no
// directive), "least_conn", "ip_hash", "hash", "random" or "least_time".
func (m BalanceMethod) String() string {
	names := []string{"round_robin", "least_conn", "ip_hash", "hash", "random", "least_time"}
	if m >= 0 && int(m) < len(names) {
		return names[m]
	}
	return "method(" + itoa(int(m)) + ")"
}

// String is the modifier as written: "" for a plain prefix, "=", "^~", "~", "~*",
// or "@" for a named location.
func (m Modifier) String() string {
	names := []string{"", "=", "^~", "~", "~*", "@"}
	if m >= 0 && int(m) < len(names) {
		return names[m]
	}
	return "modifier(" + itoa(int(m)) + ")"
}

// String is the kind's name: "exact", "lead_wildcard", "trail_wildcard" or "regex".
func (k NameKind) String() string {
	names := []string{"exact", "lead_wildcard", "trail_wildcard", "regex"}
	if k >= 0 && int(k) < len(names) {
		return names[k]
	}
	return "kind(" + itoa(int(k)) + ")"
}

// String lists the conditions by their proxy_next_upstream names, such as
// "error timeout"; the empty set is "".
func (n NextUpstream) String() string {
	var names []string
	for _, v := range nextUpstreamValues {
		if n&v.bit != 0 {
			names = append(names, v.name)
		}
	}
	return strings.Join(names, " ")
}

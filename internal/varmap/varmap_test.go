package varmap

import (
	"errors"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

func TestFind(t *testing.T) {
	m := &config.Map{Default: "def", Entries: []config.MapEntry{
		{Kind: config.NameRegex, Key: `^w(\d+)`, Regex: pcre.MustCompile(`^w(\d+)`, false), Value: "re1"},
		{Kind: config.NameExact, Key: "www.example.org", Value: "exact"},
		{Kind: config.NameLeadWildcard, Key: "*.example.org", Value: "lead-short"},
		{Kind: config.NameLeadWildcard, Key: "*.a.example.org", Value: "lead-long"},
		{Kind: config.NameTrailWildcard, Key: "mail.*", Value: "trail"},
		{Kind: config.NameExact, Key: "dup", Value: "first"},
		{Kind: config.NameExact, Key: "dup", Value: "second"},
	}}
	cm, err := NewMap(m, func(s string, _ config.Pos) (string, error) { return s, nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key, want string
		regex     bool
	}{
		{"WWW.Example.ORG", "exact", false}, // exact keys are case-insensitive
		{"x.a.example.org", "lead-long", false},
		{"x.example.org", "lead-short", false},
		{"mail.example.com", "trail", false},
		{"w42", "re1", true}, // regexes come after the exact and wildcard keys
		{"dup", "first", false},
		{"other", "def", false},
	} {
		got, ok := cm.Find(tt.key)
		if !ok || got.Value != tt.want || (got.Regex != nil) != tt.regex {
			t.Errorf("Find(%q) = %q, regex %v, %v; want %q, regex %v", tt.key, got.Value, got.Regex != nil, ok, tt.want, tt.regex)
		}
	}
	// With hostnames, one trailing dot goes before any key is tried
	// (nginx 1.22.1: "example.com." finds example.com, regexes too);
	// without, the dot is part of the key.
	m.Hostnames = true
	hosts, err := NewMap(m, func(s string, _ config.Pos) (string, error) { return s, nil })
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"www.example.org.": "exact", "x.example.org.": "lead-short", "w7.": "re1", "www.example.org..": "def", ".": "def"} {
		if got, _ := hosts.Find(key); got.Value != want {
			t.Errorf("hostnames: Find(%q) = %q, want %q", key, got.Value, want)
		}
	}
	if got, _ := cm.Find("www.example.org."); got.Value != "def" {
		t.Errorf("without hostnames: Find(%q) = %q, want the default", "www.example.org.", got.Value)
	}
	none, err := NewMap(&config.Map{}, func(s string, _ config.Pos) (string, error) { return s, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := none.Find("x"); ok {
		t.Error("a map without a default found a value for a key it does not have")
	}
}

func TestMurmurHash2AndSplit(t *testing.T) {
	// nginx's split_clients "${remote_addr}x" { 50% a; * b; } gives b for
	// 127.0.0.1 (checked against nginx 1.22.1).
	parts := []config.SplitPart{{Bound: uint32(uint64(5000) * 0xffffffff / 10000), Value: "a"}, {Value: "b"}}
	for _, tt := range []struct {
		key  string
		want string
	}{
		{"127.0.0.1x", "b"},
	} {
		if got := PickSplit(parts, MurmurHash2([]byte(tt.key))); got != tt.want {
			t.Errorf("split of %q = %q, want %q", tt.key, got, tt.want)
		}
	}
	if h := MurmurHash2(nil); h != 0 {
		t.Errorf("MurmurHash2(nil) = %#x, want 0", h)
	}
	if got := PickSplit(parts[:1], ^uint32(0)); got != "" {
		t.Errorf("a hash past every part = %q, want empty", got)
	}
}

// TestFindMatchLimit: a regex key whose match hits the backtracking
// engine's bound ends the search with the default and Match.Err, as
// nginx's ngx_http_map_find returns NULL on ngx_http_regex_exec's error
// and ngx_http_map_variable takes the default (nginx 1.22.1 recorded:
// "m=def", not the later "~^a" key's value, and "[alert] ...
// pcre2_match() failed: -47 on ..."); without a default nothing matched.
func TestFindMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	for _, def := range []string{"def", ""} {
		m := &config.Map{Default: def, Entries: []config.MapEntry{
			{Kind: config.NameRegex, Key: `^(a|aa)+(?!x)$`, Regex: pcre.MustCompile(`^(a|aa)+(?!x)$`, false), Value: "first"},
			{Kind: config.NameRegex, Key: `^a`, Regex: pcre.MustCompile(`^a`, false), Value: "second"},
		}}
		cm, err := NewMap(m, func(s string, _ config.Pos) (string, error) { return s, nil })
		if err != nil {
			t.Fatal(err)
		}
		got, ok := cm.Find(long)
		if !errors.Is(got.Err, pcre.ErrMatchLimit) || got.Value != def || ok != (def != "") || got.Regex != nil {
			t.Errorf("default %q: Find = %+v, %t; want the default and pcre.ErrMatchLimit", def, got, ok)
		}
		if got, ok := cm.Find("aaaa"); !ok || got.Value != "first" || got.Err != nil {
			t.Errorf("default %q: Find(aaaa) = %+v, %t", def, got, ok)
		}
	}
}

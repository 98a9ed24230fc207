package cacherule

import (
	"errors"
	"testing"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestChoice: a fixed zone is every request's; a value with variables
// names its zone per request as nginx 1.22.1's ngx_http_upstream_cache_get
// (recorded: an empty value and "off" do not cache, a name matches exactly
// or is `cache "NAME" not found`).
func TestChoice(t *testing.T) {
	one, two := cache.Unopened(cache.Options{Name: "one"}), cache.Unopened(cache.Options{Name: "two"})
	zones := map[string]*cache.Zone{"one": one, "two": two}
	id := func(z *cache.Zone) *cache.Zone { return z }
	args := func(a string) *vars.State {
		st := &vars.State{}
		st.Args = a
		return st
	}
	c := &vars.Compiler{}
	fixed, err := Choose(c, &config.CacheSettings{Zone: &config.CachePath{Name: "one"}}, one, nil, id)
	if err != nil {
		t.Fatal(err)
	}
	if z, ok, err := fixed.Pick(args("z=two")); z != one || !ok || err != nil || fixed.Base() != one {
		t.Errorf("fixed: %v %v %v", z, ok, err)
	}
	byArg, err := Choose(c, &config.CacheSettings{ZoneValue: "$arg_z"}, nil, zones, id)
	if err != nil {
		t.Fatal(err)
	}
	if byArg.Base() != nil {
		t.Error("the base of a value has a zone")
	}
	tests := []struct {
		args    string
		want    *cache.Zone
		ok      bool
		missing string
	}{
		{"z=one", one, true, ""},
		{"z=two", two, true, ""},
		{"z=", nil, false, ""},
		{"", nil, false, ""},
		{"z=off", nil, false, ""},
		{"z=ONE", nil, false, "ONE"},
		{"z=one%20", nil, false, "one%20"},
		{"z=three", nil, false, "three"},
	}
	for _, tt := range tests {
		z, ok, err := byArg.Pick(args(tt.args))
		var nf *NotFoundError
		if z != tt.want || ok != tt.ok || (tt.missing == "") != (err == nil) || err != nil && (!errors.As(err, &nf) || nf.Name != tt.missing) {
			t.Errorf("%q: %v %v %v, want %v %v missing %q", tt.args, z, ok, err, tt.want, tt.ok, tt.missing)
		}
		if err != nil && err.Error() != `cache "`+tt.missing+`" not found` {
			t.Errorf("%q: message %q", tt.args, err)
		}
	}
	if _, err := Choose(c, &config.CacheSettings{ZoneValue: "$nosuch", ZonePos: config.Pos{File: "f.conf", Line: 3}}, nil, zones, id); err == nil {
		t.Error("an unknown variable compiled")
	}
	var nilChoice *Choice[*cache.Zone]
	if nilChoice.Base() != nil {
		t.Error("a nil choice has a base")
	}
}

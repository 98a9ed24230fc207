package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestKeyvalErrors checks the messages for bad keyval_zone and keyval
// directives (NGINX Plus's module; nginx 1.22 does not know them).
func TestKeyvalErrors(t *testing.T) {
	const zone = "keyval_zone zone=one:1m; "
	tests := []struct{ name, src, want string }{
		{"sync is cluster only", "http { keyval_zone zone=one:1m timeout=1h sync; }", `invalid parameter "sync" in nginx.conf:1, sync shares the zone across an NGINX Plus cluster`},
		{"no zone", "http { keyval_zone state=x.keyval; }", `"keyval_zone" must have "zone" parameter in nginx.conf:1`},
		{"zone too small", "http { keyval_zone zone=one:1k; }", `zone "zone=one:1k" is too small in nginx.conf:1`},
		{"bad size", "http { keyval_zone zone=one; }", `invalid zone size "zone=one" in nginx.conf:1`},
		{"bad type", "http { keyval_zone zone=one:1m type=regex; }", `invalid parameter "type=regex" in nginx.conf:1`},
		{"bad timeout", "http { keyval_zone zone=one:1m timeout=soon; }", `invalid timeout "timeout=soon" in nginx.conf:1`},
		{"empty state", "http { keyval_zone zone=one:1m state=; }", `invalid parameter "state=" in nginx.conf:1`},
		{"unknown parameter", "http { keyval_zone zone=one:1m foo=1; }", `invalid parameter "foo=1" in nginx.conf:1`},
		{"zone twice", "http { " + zone + zone + "}", `duplicate zone "one" in nginx.conf:1`},
		{"limit_req's name", "http { limit_req_zone $a zone=one:1m rate=1r/s; " + zone + "}", `the shared memory zone "one" is already declared for a different use in nginx.conf:1`},
		{"not in server", "http { server { " + zone + "} }", `"keyval_zone" directive is not allowed here in nginx.conf:1`},
		{"keyval not in server", "http { " + zone + "server { keyval $a $b zone=one; } }", `"keyval" directive is not allowed here in nginx.conf:1`},
		{"keyval args", "http { " + zone + "keyval $a $b; }", `invalid number of arguments in "keyval" directive in nginx.conf:1`},
		{"keyval variable", "http { " + zone + "keyval $a b zone=one; }", `invalid variable name "b" in nginx.conf:1`},
		{"keyval no zone=", "http { " + zone + "keyval $a $b one; }", `invalid parameter "one" in nginx.conf:1`},
		{"keyval unknown zone", "http { keyval $a $b zone=two; }", `unknown keyval zone "two" in nginx.conf:1, define it in the same block: keyval_zone zone=two:1m;`},
		{"keyval twice", "http { " + zone + "keyval $a $b zone=one; keyval $c $B zone=one; }", `variable "$B" is already defined by keyval in nginx.conf:1`},
		{"stream sync", "stream { keyval_zone zone=one:1m sync; }", `invalid parameter "sync" in nginx.conf:1`},
		{"stream not in server", "stream { server { " + zone + "} }", `"keyval_zone" directive is not allowed here in nginx.conf:1`},
		{"stream zone of http", "http { " + zone + "} stream { keyval $a $b zone=one; }", `unknown keyval zone "one" in nginx.conf:1`},
		{"stream zone named like http's", "stream { " + zone + "} http { " + zone + "}", `the shared memory zone "one" is already declared for a different use in nginx.conf:1, the http block's keyval_zone `},
		{"stream limit_conn_zone's name", "stream { limit_conn_zone $a zone=one:1m; " + zone + "}", `the shared memory zone "one" is already declared for a different use in nginx.conf:1`},
		{"state file twice", "http { keyval_zone zone=one:1m state=/tmp/x.keyval;\nkeyval_zone zone=two:1m state=/tmp/x.keyval; }", `keyval_zone "two" has the state file "/tmp/x.keyval" of keyval_zone "one" (`},
		{"state file of http's", "http { keyval_zone zone=one:1m state=/tmp/x.keyval; }\nstream { keyval_zone zone=two:1m state=/tmp/x.keyval; }", `nginx.conf:1) in nginx.conf:2, give each zone a state file of its own`},
		{"stream state file twice", "stream { keyval_zone zone=one:1m state=/tmp/x.keyval;\nkeyval_zone zone=two:1m state=/tmp/x.keyval; }", `nginx.conf:1) in nginx.conf:2, give each zone a state file of its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestKeyvalValues checks what keyval_zone and keyval build.
func TestKeyvalValues(t *testing.T) {
	// A keyval may come before its zone, as any shared memory zone's user.
	cfg, err := loadText(t, "http { keyval $remote_addr $blocked zone=deny; keyval_zone zone=deny:64k timeout=1h type=ip; }")
	if err != nil {
		t.Fatal(err)
	}
	z := cfg.HTTP.KeyvalZones[0]
	want := KeyvalZone{Name: "deny", Size: 64 << 10, Timeout: time.Hour, Type: "ip", Pos: z.Pos}
	if !reflect.DeepEqual(*z, want) {
		t.Errorf("zone %+v, want %+v", *z, want)
	}
	kv := cfg.HTTP.Keyvals[0]
	if kv.Key != "$remote_addr" || kv.Variable != "blocked" || kv.Zone != "deny" {
		t.Errorf("keyval %+v", kv)
	}
	// The stream block has zones of its own.
	cfg, err = loadText(t, "http { keyval_zone zone=web:32k; } stream { keyval_zone zone=one:64k type=prefix; keyval $ssl_preread_server_name $name zone=one; }")
	if err != nil {
		t.Fatal(err)
	}
	sz, skv := cfg.Stream.KeyvalZones[0], cfg.Stream.Keyvals[0]
	if sz.Name != "one" || sz.Size != 64<<10 || sz.Type != "prefix" || skv.Variable != "name" || skv.Key != "$ssl_preread_server_name" {
		t.Errorf("stream zone %+v, keyval %+v", sz, skv)
	}
}

// TestKeyvalState checks that the state file is read with the
// configuration (start, -t, reload), in both its shapes (values alone, as
// fulcrum wrote them before the file kept times, and {"value","expire",
// "ttl"} objects), and that its errors name it.
func TestKeyvalState(t *testing.T) {
	str := func(s string) *string { return &s }
	v := func(s string) KeyvalPair { return KeyvalPair{Value: s} }
	tests := []struct {
		name    string
		state   *string
		typ     string
		want    map[string]KeyvalPair
		wantErr string
	}{
		{"missing", nil, "string", nil, ""},
		{"empty", str(" \n"), "string", nil, ""},
		{"pairs", str(`{"a":"1","b":"2"}`), "string", map[string]KeyvalPair{"a": v("1"), "b": v("2")}, ""},
		{"times", str(`{"a":{"value":"1","expire":1700000000123,"ttl":60000},"b":"2","c":{"value":"3"}}`), "string", map[string]KeyvalPair{
			"a": {Value: "1", Expire: time.UnixMilli(1700000000123), Life: time.Minute}, "b": v("2"), "c": v("3")}, ""},
		{"not json", str(`a=1`), "string", nil, `invalid state file "u.state": not a JSON object in nginx.conf:1`},
		{"not strings", str(`{"a":1}`), "string", nil, `invalid state file "u.state": the value of key "a" is not a string or {"value":"...","expire":ms,"ttl":ms}`},
		{"no value", str(`{"a":{"expire":1}}`), "string", nil, `the value of key "a" is not a string`},
		{"negative expire", str(`{"a":{"value":"1","expire":-5}}`), "string", nil, `the value of key "a" is not a string`},
		{"fractional expire", str(`{"a":{"value":"1","expire":1.5}}`), "string", nil, `the value of key "a" is not a string`},
		{"null", str(`null`), "string", nil, `invalid state file "u.state": not a JSON object`},
		{"empty key", str(`{"":"1"}`), "string", nil, `invalid state file "u.state": empty key`},
		{"ip keys", str(`{"10.0.0.0/8":"1","::1":"2"}`), "ip", map[string]KeyvalPair{"10.0.0.0/8": v("1"), "::1": v("2")}, ""},
		{"bad ip key", str(`{"host":"1"}`), "ip", nil, `invalid state file "u.state": invalid key "host"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, path, ok := loadStateCase(t, tt.state, "http { keyval_zone zone=one:1m state=STATE type="+tt.typ+"; }", tt.wantErr)
			if !ok {
				return
			}
			z := cfg.HTTP.KeyvalZones[0]
			if z.State != path || !reflect.DeepEqual(z.Initial, tt.want) {
				t.Errorf("state %q initial %v, want %q %v", z.State, z.Initial, path, tt.want)
			}
		})
	}
}

package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"strings"
	"time"
)

// KeyvalZone is a keyval_zone directive (NGINX Plus's
// ngx_http_keyval_module): a zone of key-value pairs that the runtime API
// changes and keyval variables read.
type KeyvalZone struct {
	Name string
	// Size is the zone's size in bytes (at least 32k); it bounds the pairs
	// (see package keyval's Cost).
	Size int64
	// State is the state file's absolute path; "" for none.
	State string
	// Timeout is how long a pair lives after it was set; 0: for ever.
	Timeout time.Duration
	// Type is "string" (exact keys, the default), "ip" or "prefix".
	Type string
	// Initial are the pairs of the state file when the configuration was
	// loaded (none when it is missing or empty). A reload that keeps the
	// zone keeps its pairs instead.
	Initial map[string]KeyvalPair
	Pos     Pos
}

// KeyvalPair is a pair of a keyval state file (package keyval's Stored,
// which writes the file).
type KeyvalPair struct {
	Value string
	// Expire is when the pair goes, by the wall clock; zero: the file
	// keeps no time for it (it never expires, or the file was written
	// before fulcrum kept times).
	Expire time.Time
	// Life is the lifetime the pair was given when it was last set; zero:
	// unknown.
	Life time.Duration
}

// Keyval is a keyval directive: Variable (without "$") is the value of the
// pair of zone Zone that matches Key, a string with variables.
type Keyval struct {
	Key, Variable, Zone string
	Pos                 Pos
}

// keyvals reads the keyval_zone and keyval directives of the http block.
func (b *builder) keyvals(h *HTTP, http *scope) error {
	zones, kvs, err := b.readKeyvals(http, func(name string, pos Pos) error {
		return zoneNameFree(h.LimitReqZones, h.LimitConnZones, name, pos)
	})
	h.KeyvalZones, h.Keyvals = zones, kvs
	return err
}

// readKeyvals reads the keyval_zone and keyval directives of block (http
// or stream); free checks a zone's name against the block's other zones.
func (b *builder) readKeyvals(block *scope, free func(string, Pos) error) ([]*KeyvalZone, []*Keyval, error) {
	var zones []*KeyvalZone
	byName := map[string]*KeyvalZone{}
	for _, d := range block.own("keyval_zone") {
		z, err := b.parseKeyvalZone(d)
		if err != nil {
			return nil, nil, err
		}
		if prev := byName[z.Name]; prev != nil {
			return nil, nil, hintf(d.Pos, "keyval_zone "+prev.Pos.String()+" has that name; give each zone its own", `duplicate zone "%s"`, z.Name)
		}
		if err := free(z.Name, d.Pos); err != nil {
			return nil, nil, err
		}
		byName[z.Name] = z
		zones = append(zones, z)
	}
	var kvs []*Keyval
	vars := map[string]*Keyval{}
	for _, d := range block.own("keyval") {
		kv, err := parseKeyval(d)
		if err != nil {
			return nil, nil, err
		}
		if byName[kv.Zone] == nil {
			return nil, nil, hintf(d.Pos, "define it in the same block: keyval_zone zone="+kv.Zone+":1m;", `unknown keyval zone "%s"`, kv.Zone)
		}
		if prev := vars[strings.ToLower(kv.Variable)]; prev != nil {
			return nil, nil, hintf(d.Pos, "keyval "+prev.Pos.String()+" defines it; use another name", `variable "$%s" is already defined by keyval`, kv.Variable)
		}
		vars[strings.ToLower(kv.Variable)] = kv
		kvs = append(kvs, kv)
	}
	return zones, kvs, nil
}

// checkKeyvalStateFiles refuses two keyval zones (http or stream) with one
// state file: each change through the API rewrites the file with its
// zone's pairs only, so the zones would overwrite each other's pairs, and
// at the next start both would read the pairs of the one changed last (a
// type=ip zone refusing another's keys, which stops the start).
func checkKeyvalStateFiles(cfg *Config) error {
	var zones []*KeyvalZone
	if cfg.HTTP != nil {
		zones = append(zones, cfg.HTTP.KeyvalZones...)
	}
	if cfg.Stream != nil {
		zones = append(zones, cfg.Stream.KeyvalZones...)
	}
	byFile := map[string]*KeyvalZone{}
	for _, z := range zones {
		if z.State == "" {
			continue
		}
		if prev := byFile[z.State]; prev != nil {
			return hintf(z.Pos, "give each zone a state file of its own",
				`keyval_zone "%s" has the state file "%s" of keyval_zone "%s" (%s)`, z.Name, z.State, prev.Name, prev.Pos)
		}
		byFile[z.State] = z
	}
	return nil
}

// checkKeyvalZoneNames refuses a stream keyval zone named like an http
// one: nginx's shared memory zones share one namespace, and a zone of
// another module (ngx_stream_keyval_module) with a name in use is
// "already declared for a different use".
func checkKeyvalZoneNames(cfg *Config) error {
	if cfg.HTTP == nil || cfg.Stream == nil {
		return nil
	}
	for _, sz := range cfg.Stream.KeyvalZones {
		for _, hz := range cfg.HTTP.KeyvalZones {
			if hz.Name == sz.Name {
				return hintf(sz.Pos, "the http block's keyval_zone "+hz.Pos.String()+" has that name; give the stream zone another", `the shared memory zone "%s" is already declared for a different use`, sz.Name)
			}
		}
	}
	return nil
}

// zoneNameFree refuses a keyval zone named like a limit_req or limit_conn
// zone of its block: nginx's shared memory zones share one namespace.
func zoneNameFree(reqZones []*LimitReqZone, connZones []*LimitConnZone, name string, pos Pos) error {
	for _, z := range reqZones {
		if z.Name == name {
			return hintf(pos, "limit_req_zone "+z.Pos.String()+" has that name; rename one", `the shared memory zone "%s" is already declared for a different use`, name)
		}
	}
	for _, z := range connZones {
		if z.Name == name {
			return hintf(pos, "limit_conn_zone "+z.Pos.String()+" has that name; rename one", `the shared memory zone "%s" is already declared for a different use`, name)
		}
	}
	return nil
}

// parseKeyvalZone reads "keyval_zone zone=name:size [state=file]
// [timeout=time] [type=string|ip|prefix] [sync]" and its state file.
func (b *builder) parseKeyvalZone(d *Directive) (*KeyvalZone, error) {
	z := &KeyvalZone{Type: "string", Pos: d.Pos}
	for _, a := range d.Args {
		var err error
		switch {
		case a == "sync":
			err = hintf(d.Pos, "sync shares the zone across an NGINX Plus cluster (zone_sync), which fulcrum does not have; remove it", `invalid parameter "sync"`)
		case strings.HasPrefix(a, "zone="):
			z.Name, z.Size, err = parseZoneArg(d.Pos, a)
		case strings.HasPrefix(a, "state="):
			z.State = b.path(a[len("state="):])
			if a == "state=" {
				err = hintf(d.Pos, "write state=file, such as state=/var/lib/fulcrum/one.keyval", `invalid parameter "%s"`, a)
			}
		case strings.HasPrefix(a, "timeout="):
			z.Timeout, err = parseTime(a[len("timeout="):], false)
			if err != nil || z.Timeout <= 0 {
				err = hintf(d.Pos, "write timeout=time, such as timeout=1h", `invalid timeout "%s"`, a)
			}
		case a == "type=string" || a == "type=ip" || a == "type=prefix":
			z.Type = a[len("type="):]
		default:
			err = hintf(d.Pos, "syntax: keyval_zone zone=name:size [state=file] [timeout=time] [type=string|ip|prefix];", `invalid parameter "%s"`, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if z.Name == "" {
		return nil, hintf(d.Pos, "add zone=name:size, such as zone=one:1m", `"keyval_zone" must have "zone" parameter`)
	}
	if z.State != "" {
		pairs, err := readKeyvalState(z)
		if err != nil {
			return nil, err
		}
		z.Initial = pairs
	}
	return z, nil
}

// readKeyvalState reads z's state file, as package keyval's ReadState
// does: one JSON object whose values are strings (pairs without times, as
// the API's GET shows a zone and as fulcrum wrote every pair before the
// file kept times) or objects {"value":"v","expire":E,"ttl":T} (E: when
// the pair goes, in Unix milliseconds; T: its lifetime in milliseconds;
// both optional whole numbers). A missing or empty file is an empty zone.
func readKeyvalState(z *KeyvalZone) (map[string]KeyvalPair, error) {
	data, err := os.ReadFile(z.State)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(z.Pos, `cannot read state file "%s": %v`, z.State, err)
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, nil
	}
	const fix = "fulcrum writes the file; remove it or restore the JSON object it wrote"
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, hintf(z.Pos, fix, `invalid state file "%s": not a JSON object`, z.State)
	}
	pairs := make(map[string]KeyvalPair, len(raw))
	for k, m := range raw {
		if k == "" {
			return nil, hintf(z.Pos, "remove the empty key from the file", `invalid state file "%s": empty key`, z.State)
		}
		if z.Type == "ip" && !keyvalNet(k) {
			return nil, hintf(z.Pos, "a type=ip zone's keys are addresses or CIDR ranges", `invalid state file "%s": invalid key "%s"`, z.State, k)
		}
		p, ok := readKeyvalPair(m)
		if !ok {
			return nil, hintf(z.Pos, fix, `invalid state file "%s": the value of key "%s" is not a string or {"value":"...","expire":ms,"ttl":ms}`, z.State, k)
		}
		pairs[k] = p
	}
	return pairs, nil
}

// readKeyvalPair reads one value of a state file; false: it is not a
// string or a {"value","expire","ttl"} object of whole numbers that are
// not negative.
func readKeyvalPair(m json.RawMessage) (KeyvalPair, bool) {
	var v string
	if json.Unmarshal(m, &v) == nil {
		return KeyvalPair{Value: v}, true
	}
	var o struct {
		Value  *string `json:"value"`
		Expire int64   `json:"expire"`
		TTL    int64   `json:"ttl"`
	}
	if json.Unmarshal(m, &o) != nil || o.Value == nil || o.Expire < 0 || o.TTL < 0 || o.TTL > math.MaxInt64/int64(time.Millisecond) {
		return KeyvalPair{}, false
	}
	p := KeyvalPair{Value: *o.Value, Life: time.Duration(o.TTL) * time.Millisecond}
	if o.Expire > 0 {
		p.Expire = time.UnixMilli(o.Expire)
	}
	return p, true
}

// keyvalNet reports whether k is an address or a CIDR range.
func keyvalNet(k string) bool {
	if strings.Contains(k, "/") {
		_, err := netip.ParsePrefix(k)
		return err == nil
	}
	a, err := netip.ParseAddr(k)
	return err == nil && a.Zone() == ""
}

// parseKeyval reads "keyval key $variable zone=name".
func parseKeyval(d *Directive) (*Keyval, error) {
	kv := &Keyval{Key: d.Args[0], Pos: d.Pos}
	v := d.Args[1]
	if len(v) < 2 || v[0] != '$' {
		return nil, hintf(d.Pos, "syntax: keyval key $variable zone=name;", `invalid variable name "%s"`, v)
	}
	kv.Variable = v[1:]
	z, ok := strings.CutPrefix(d.Args[2], "zone=")
	if !ok || z == "" {
		return nil, hintf(d.Pos, "syntax: keyval key $variable zone=name;", `invalid parameter "%s"`, d.Args[2])
	}
	kv.Zone = z
	return kv, nil
}

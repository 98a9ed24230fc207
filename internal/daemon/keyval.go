package daemon

import (
	"fmt"
	"strings"

	"fulcrum/internal/admin"
	"fulcrum/internal/config"
	"fulcrum/internal/keyval"
	"fulcrum/internal/vars"
)

// kvZone is a keyval_zone of one snapshot: its configuration and its pairs,
// which a reload passes on when the zone keeps its name, size and type.
type kvZone struct {
	cfg  *config.KeyvalZone
	zone *keyval.Zone
}

// kvTypes maps keyval_zone's type to the store's.
var kvTypes = map[string]keyval.Type{"string": keyval.String, "ip": keyval.IP, "prefix": keyval.Prefix}

// buildKeyvals makes the snapshot's keyval zones and defines the keyval
// variables. A zone of old (the running snapshot's zones by name, nil at
// start and for a configuration test) with the same name, size and type
// is kept with its pairs, as nginx keeps a shared memory zone whose name
// and size are unchanged, and written to its state file when that is new
// to it; another starts from its state file. The keys' templates are
// compiled by the steps it returns, to run once every name is declared.
func (s *snapshot) buildKeyvals(cfg *config.Config, old map[string]*kvZone, comp *vars.Compiler) ([]func() error, error) {
	h := cfg.HTTP
	if h == nil {
		return nil, nil
	}
	s.keyvals = make(map[string]*kvZone, len(h.KeyvalZones))
	for _, zc := range h.KeyvalZones {
		typ := kvTypes[zc.Type]
		var z *keyval.Zone
		oldState := ""
		if o := old[zc.Name]; o != nil {
			z, oldState = o.zone, o.cfg.State
		}
		if z == nil || z.Size() != zc.Size || z.Type() != typ {
			z = keyval.NewZone(zc.Name, zc.Size, typ, nil)
			if err := z.LoadState(storedPairs(zc.Initial), zc.Timeout); err != nil {
				return nil, fmt.Errorf("keyval_zone %q state file %s: %w in %s", zc.Name, zc.State, err, zc.Pos)
			}
		} else if zc.State != "" && zc.State != oldState {
			// A kept zone's state file is new (none before, or
			// another path): it gets the pairs now, not at the next
			// change, or a restart before one would lose them.
			if err := z.Save(zc.State); err != nil {
				return nil, fmt.Errorf("%w in %s", err, zc.Pos)
			}
		}
		kz := &kvZone{cfg: zc, zone: z}
		s.keyvals[zc.Name] = kz
		s.keyvalOrder = append(s.keyvalOrder, kz)
	}
	if err := refuseKeyvalSets(cfg); err != nil {
		return nil, err
	}
	var compile []func() error
	for _, kv := range h.Keyvals {
		key := new(*vars.Template)
		comp.DefineCached(kv.Variable, keyvalGetter(key, s.keyvals[kv.Zone].zone))
		compile = append(compile, func() error {
			t, err := comp.Compile(kv.Key)
			if err != nil {
				return fmt.Errorf("%w in %s", err, kv.Pos)
			}
			*key = t
			return nil
		})
	}
	return compile, nil
}

// refuseKeyvalSets refuses a set directive of a keyval variable. NGINX
// Plus's variable "can also be set with njs" (1.15.10), which changes the
// pair; fulcrum changes the zones only through the API, and silently
// setting a request's copy instead would differ.
func refuseKeyvalSets(cfg *config.Config) error {
	names := make(map[string]bool, len(cfg.HTTP.Keyvals))
	for _, kv := range cfg.HTTP.Keyvals {
		names[strings.ToLower(kv.Variable)] = true
	}
	return eachStep(cfg, func(st *config.Step) error {
		if st.Kind == config.StepSet && names[strings.ToLower(st.Set.Name)] {
			return fmt.Errorf(`the keyval variable "$%s" cannot be set: fulcrum changes the key-value store through the API only in %s`, st.Set.Name, st.Pos)
		}
		return nil
	})
}

// keyvalGetter is a keyval variable's getter: the value of the zone's pair
// that matches the key, not found when none does (or the key is empty).
// The key is evaluated into dst as scratch and replaced by the value; *key
// is set once, when the configuration's templates are compiled.
func keyvalGetter(key **vars.Template, zone *keyval.Zone) vars.Getter {
	return func(dst []byte, st *vars.State) ([]byte, bool) {
		start := len(dst)
		dst = (*key).Append(dst, st)
		v, ok := zone.Lookup(dst[start:])
		return append(dst[:start], v...), ok
	}
}

// keyvalZones returns the running snapshot's zones by name, for a reload to
// keep.
func (d *Daemon) keyvalZones() map[string]*kvZone {
	cur := d.current.Load()
	if cur == nil {
		return nil
	}
	return cur.keyvals
}

var _ admin.KeyvalSource = (*adminState)(nil)

// KeyvalZones implements admin.KeyvalSource: block's zones of the
// configuration in force, in configuration order.
func (a *adminState) KeyvalZones(b admin.Block) []admin.KeyvalZone {
	var out []admin.KeyvalZone
	a.eachKeyval(b, func(zc *config.KeyvalZone, z *keyval.Zone) bool {
		out = append(out, admin.KeyvalZone{Name: zc.Name, Zone: z, Timeout: zc.Timeout})
		return true
	})
	return out
}

// eachKeyval calls f with block's zones of the configuration in force, in
// configuration order, until f returns false.
func (a *adminState) eachKeyval(b admin.Block, f func(*config.KeyvalZone, *keyval.Zone) bool) {
	if b == admin.Stream {
		if a.stream == nil {
			return
		}
		for _, kz := range a.stream.KeyvalZones() {
			if !f(kz.Cfg, kz.Zone) {
				return
			}
		}
		return
	}
	cur := a.current.Load()
	if cur == nil {
		return
	}
	for _, kz := range cur.keyvalOrder {
		if !f(kz.cfg, kz.zone) {
			return
		}
	}
}

// ChangeKeyval implements admin.KeyvalSource: it runs change on block's
// zone named name of the configuration in force and then writes the zone's
// state file, if it has one, all under changeMu, so that the file ends
// with the last change and no change falls between a reload's reading of
// the file and its swap.
func (a *adminState) ChangeKeyval(b admin.Block, name string, change func(admin.KeyvalZone) error) error {
	a.changeMu.Lock()
	defer a.changeMu.Unlock()
	var cfg *config.KeyvalZone
	var zone *keyval.Zone
	a.eachKeyval(b, func(zc *config.KeyvalZone, z *keyval.Zone) bool {
		if zc.Name == name {
			cfg, zone = zc, z
			return false
		}
		return true
	})
	if zone == nil {
		return admin.ErrKeyvalNotFound
	}
	if err := change(admin.KeyvalZone{Name: name, Zone: zone, Timeout: cfg.Timeout}); err != nil {
		return err
	}
	if cfg.State == "" {
		return nil
	}
	return zone.Save(cfg.State)
}

// storedPairs converts a state file's pairs, which package config read,
// to the store's.
func storedPairs(pairs map[string]config.KeyvalPair) map[string]keyval.Stored {
	out := make(map[string]keyval.Stored, len(pairs))
	for k, p := range pairs {
		out[k] = keyval.Stored(p)
	}
	return out
}

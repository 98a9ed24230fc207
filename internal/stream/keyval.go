package stream

import (
	"fmt"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/keyval"
)

// KeyvalZone is a stream keyval_zone of the configuration in force: its
// configuration and its pairs, for the runtime API.
type KeyvalZone struct {
	Cfg  *config.KeyvalZone
	Zone *keyval.Zone
}

// kvTypes maps keyval_zone's type to the store's.
var kvTypes = map[string]keyval.Type{"string": keyval.String, "ip": keyval.IP, "prefix": keyval.Prefix}

// buildKeyvals makes t's keyval zones. A zone of old (nil: none) with the
// same name, size and type is kept with its pairs, as nginx keeps a shared
// memory zone whose name and size are unchanged, and written to its state
// file when that is new to it; another starts from its state file.
func (t *table) buildKeyvals(cfg *config.Stream, old *table) error {
	t.keyvals = make(map[string]*keyval.Zone, len(cfg.KeyvalZones))
	for _, zc := range cfg.KeyvalZones {
		typ := kvTypes[zc.Type]
		var z *keyval.Zone
		oldState := ""
		if old != nil {
			z = old.keyvals[zc.Name]
			for _, o := range old.keyvalZones {
				if o.Cfg.Name == zc.Name {
					oldState = o.Cfg.State
				}
			}
		}
		if z == nil || z.Size() != zc.Size || z.Type() != typ {
			z = keyval.NewZone(zc.Name, zc.Size, typ, nil)
			if err := z.LoadState(storedPairs(zc.Initial), zc.Timeout); err != nil {
				return fmt.Errorf("keyval_zone %q state file %s: %w in %s", zc.Name, zc.State, err, zc.Pos)
			}
		} else if zc.State != "" && zc.State != oldState {
			// As in http: a kept zone's state file is new to it.
			if err := z.Save(zc.State); err != nil {
				return fmt.Errorf("%w in %s", err, zc.Pos)
			}
		}
		t.keyvals[zc.Name] = z
		t.keyvalZones = append(t.keyvalZones, KeyvalZone{Cfg: zc, Zone: z})
	}
	return refuseKeyvalSets(cfg)
}

// refuseKeyvalSets refuses a set of a keyval variable, as in http: NGINX
// Plus's variable "can also be set with njs", which changes the pair;
// fulcrum changes the pairs through the API only.
func refuseKeyvalSets(cfg *config.Stream) error {
	names := make(map[string]bool, len(cfg.Keyvals))
	for _, kv := range cfg.Keyvals {
		names[strings.ToLower(kv.Variable)] = true
	}
	for _, srv := range cfg.Servers {
		for _, st := range srv.Sets {
			if names[strings.ToLower(st.Name)] {
				return fmt.Errorf(`the keyval variable "$%s" cannot be set: fulcrum changes the key-value store through the API only in %s`, st.Name, st.Pos)
			}
		}
	}
	return nil
}

// defineKeyvals defines the keyval variables: each is the value of the
// pair of its zone that matches its key, not found when none does.
func (bv *blockVars) defineKeyvals(cfg *config.Stream, zones map[string]*keyval.Zone) error {
	for _, kv := range cfg.Keyvals {
		sk := &streamKeyval{zone: zones[kv.Zone]}
		if err := bv.define(kv.Variable, false, sk.get, kv.Pos); err != nil {
			return err
		}
		bv.later = append(bv.later, func() error {
			t, err := bv.c.compile(kv.Key)
			if err != nil {
				return at(err, kv.Pos)
			}
			sk.key = t
			return nil
		})
	}
	return nil
}

// streamKeyval is a keyval variable compiled.
type streamKeyval struct {
	key  *template
	zone *keyval.Zone
}

// get evaluates the key into d as scratch and replaces it by the value.
func (sk *streamKeyval) get(d []byte, s *session) ([]byte, bool) {
	start := len(d)
	d = sk.key.appendValue(d, s)
	v, ok := sk.zone.Lookup(d[start:])
	return append(d[:start], v...), ok
}

// KeyvalZones returns the keyval zones of the configuration in force, in
// configuration order.
func (p *Proxy) KeyvalZones() []KeyvalZone {
	if t := p.cur.Load(); t != nil {
		return t.keyvalZones
	}
	return nil
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

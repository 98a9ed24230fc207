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
// and size are unchanged; another starts from its state file.
func (s *snapshot) buildKeyvals(cfg *config.Config, old map[string]*keyval.Zone, comp *vars.Compiler) error {
	h := cfg.HTTP
	if h == nil {
		return nil
	}
	s.keyvals = make(map[string]*kvZone, len(h.KeyvalZones))
	for _, zc := range h.KeyvalZones {
		typ := kvTypes[zc.Type]
		z := old[zc.Name]
		if z == nil || z.Size() != zc.Size || z.Type() != typ {
			z = keyval.NewZone(zc.Name, zc.Size, typ, nil)
			if err := z.Load(zc.Initial, zc.Timeout); err != nil {
				return fmt.Errorf("keyval_zone %q state file %s: %w in %s", zc.Name, zc.State, err, zc.Pos)
			}
		}
		kz := &kvZone{cfg: zc, zone: z}
		s.keyvals[zc.Name] = kz
		s.keyvalOrder = append(s.keyvalOrder, kz)
	}
	if err := refuseKeyvalSets(cfg); err != nil {
		return err
	}
	for _, kv := range h.Keyvals {
		key, err := comp.Compile(kv.Key)
		if err != nil {
			return fmt.Errorf("%w in %s", err, kv.Pos)
		}
		zone := s.keyvals[kv.Zone].zone
		comp.DefineCached(kv.Variable, keyvalGetter(key, zone))
	}
	return nil
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
// The key is evaluated into dst as scratch and replaced by the value.
func keyvalGetter(key *vars.Template, zone *keyval.Zone) vars.Getter {
	return func(dst []byte, st *vars.State) ([]byte, bool) {
		start := len(dst)
		dst = key.Append(dst, st)
		v, ok := zone.Lookup(dst[start:])
		return append(dst[:start], v...), ok
	}
}

// keyvalZones returns the running snapshot's zones by name, for a reload to
// keep.
func (d *Daemon) keyvalZones() map[string]*keyval.Zone {
	cur := d.current.Load()
	if cur == nil {
		return nil
	}
	out := make(map[string]*keyval.Zone, len(cur.keyvals))
	for name, kz := range cur.keyvals {
		out[name] = kz.zone
	}
	return out
}

var _ admin.KeyvalSource = (*adminState)(nil)

// KeyvalZones implements admin.KeyvalSource: the zones of the configuration
// in force, in configuration order.
func (a *adminState) KeyvalZones() []admin.KeyvalZone {
	cur := a.current.Load()
	if cur == nil {
		return nil
	}
	out := make([]admin.KeyvalZone, 0, len(cur.keyvalOrder))
	for _, kz := range cur.keyvalOrder {
		out = append(out, admin.KeyvalZone{Name: kz.cfg.Name, Zone: kz.zone, Timeout: kz.cfg.Timeout})
	}
	return out
}

// ChangeKeyval implements admin.KeyvalSource: it runs change on the zone
// named name of the configuration in force and then writes the zone's state
// file, if it has one, all under changeMu, so that the file ends with the
// last change and no change falls between a reload's reading of the file
// and its swap.
func (a *adminState) ChangeKeyval(name string, change func(admin.KeyvalZone) error) error {
	a.changeMu.Lock()
	defer a.changeMu.Unlock()
	cur := a.current.Load()
	if cur == nil || cur.keyvals[name] == nil {
		return admin.ErrKeyvalNotFound
	}
	kz := cur.keyvals[name]
	if err := change(admin.KeyvalZone{Name: name, Zone: kz.zone, Timeout: kz.cfg.Timeout}); err != nil {
		return err
	}
	if kz.cfg.State == "" {
		return nil
	}
	return kz.zone.Save(kz.cfg.State)
}

package cacherule

import (
	"fmt"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// Choice is a location's cache as its *_cache directive names the zone:
// one fixed zone, or a value with variables that names one of the module's
// zones per request (nginx's ngx_http_upstream_cache_get). T is what the
// handler keeps per zone (a *Rule, or the handler's own wrapper of one).
// It is immutable and safe for concurrent use.
type Choice[T any] struct {
	fixed  T // the zone's, or the zone-less one when value is set (Base)
	value  *vars.Template
	byName map[string]T
}

// NotFoundError is a request whose *_cache value names no zone of the
// module: nginx answers 500 and logs `cache "NAME" not found` (recorded
// with nginx 1.22.1).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("cache %q not found", e.Name) }

// Choose builds the choice of set: the fixed zone (each(zone)) when set
// names one, else set.ZoneValue compiled and each of zones (the module's
// zones by name) wrapped by each. A value with an unknown variable is an
// error placed at the directive.
func Choose[T any](c *vars.Compiler, set *config.CacheSettings, zone *cache.Zone, zones map[string]*cache.Zone, each func(*cache.Zone) T) (*Choice[T], error) {
	if set.ZoneValue == "" {
		return &Choice[T]{fixed: each(zone)}, nil
	}
	t, err := c.Compile(set.ZoneValue)
	if err != nil {
		return nil, &config.Error{Pos: set.ZonePos, Msg: err.Error()}
	}
	ch := &Choice[T]{fixed: each(nil), value: t, byName: make(map[string]T, len(zones))}
	for name, z := range zones {
		ch.byName[name] = each(z)
	}
	return ch, nil
}

// Base is the location's cache whatever its zone, for the decisions that
// come before nginx names the zone (the method, *_cache_purge's test); its
// zone is nil when the directive has variables. The zero T for a nil
// Choice (a location without a cache).
func (ch *Choice[T]) Base() (t T) {
	if ch == nil {
		return t
	}
	return ch.fixed
}

// Pick is the request's cache: the fixed one, or the one its value names.
// An empty value or "off" does not cache (ok false: the request goes to
// the server as in a location without a cache, $upstream_cache_status
// empty); a value that names no zone (names compare exactly, as nginx's)
// is a *NotFoundError.
func (ch *Choice[T]) Pick(st *vars.State) (t T, ok bool, err error) {
	if ch.value == nil {
		return ch.fixed, true, nil
	}

	name := ch.value.String(st)
	if name == "" || name == "off" {
		return t, false, nil
	}
	if t, ok = ch.byName[name]; !ok {
		return t, false, &NotFoundError{Name: name}
	}
	return t, true, nil
}

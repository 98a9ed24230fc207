package keyval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// JSON is the zone's pairs as one JSON object in key order, as the API's
// GET shows them.
func (z *Zone) JSON() []byte {
	return PairsJSON(z.All())
}

// PairsJSON writes pairs as one JSON object, in their order.
func PairsJSON(pairs []KV) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Key)
		v, _ := json.Marshal(p.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Stored is a pair as a state file keeps it.
type Stored struct {
	Value string
	// Expire is when the pair goes, by the wall clock; zero: the file
	// keeps no time for it (a pair that never expires, or a file written
	// before fulcrum kept times).
	Expire time.Time
	// Life is the lifetime the pair was given when it was last set (the
	// zone's timeout or the pair's own expire); zero: unknown.
	Life time.Duration
}

// StateJSON is what the state file keeps: the zone's live pairs as one
// JSON object in key order. A pair that expires is an object,
// {"value":"v","expire":E,"ttl":T}, with E the time it goes in Unix
// milliseconds and T its lifetime in milliseconds: the shape of njs's
// js_shared_dict_zone state files (NGINX Plus does not document its
// own), plus ttl, which bounds the time left when the file is read by a
// clock that is behind the one that wrote it. A pair that never expires is
// its value alone, as the API's GET shows it and as every pair was before
// the file kept times.
func (z *Zone) StateJSON() []byte {
	now := z.now()
	z.mu.RLock()
	live := make([]entry, 0, len(z.entries))
	for _, e := range z.entries {
		if e.live(now) {
			live = append(live, *e)
		}
	}
	z.mu.RUnlock()
	slices.SortFunc(live, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range live {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.key)
		v, _ := json.Marshal(e.value)
		b.Write(k)
		b.WriteByte(':')
		if e.expire.IsZero() {
			b.Write(v)
			continue
		}
		// The time left, by the monotonic clock that keeps the pair in
		// memory, from the wall clock now: the wall reading of e.expire
		// is that of when the pair was set, wrong after a step of the
		// system clock since.
		expire := now.Add(e.expire.Sub(now))
		fmt.Fprintf(&b, `{"value":%s,"expire":%d,"ttl":%d}`, v, expire.UnixMilli(), e.life.Milliseconds())
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Save replaces the state file path with the zone's pairs (StateJSON):
// written to a temporary file in the same directory, synced, then renamed
// over path, so that a reader (a reload, a restart) sees the old state or
// the new one, never a part.
func (z *Zone) Save(path string) error {
	data := append(z.StateJSON(), '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keyval zone %q: write state file: %w", z.name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keyval zone %q: write state file %s: %w", z.name, tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyval zone %q: sync state file %s: %w", z.name, tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyval zone %q: close state file %s: %w", z.name, tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keyval zone %q: write state file: %w", z.name, err)
	}
	return nil
}

// ReadState reads a state file's contents (see StateJSON): one JSON
// object whose values are strings, or objects with a string "value" and
// optional whole numbers "expire" (Unix milliseconds; 0: none) and "ttl"
// (milliseconds); other members are ignored. An empty file is an empty
// zone. Package config reads the file with the same rules when the
// configuration loads, to report its errors with the directive's line.
func ReadState(data []byte) (map[string]Stored, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]Stored{}, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, errors.New("not a JSON object of strings or {\"value\",\"expire\"} objects")
	}
	pairs := make(map[string]Stored, len(raw))
	for k, m := range raw {
		s, err := readStored(m)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		pairs[k] = s
	}
	return pairs, nil
}

// readStored reads one pair's value in a state file.
func readStored(m json.RawMessage) (Stored, error) {
	var v string
	if json.Unmarshal(m, &v) == nil {
		return Stored{Value: v}, nil
	}
	var o struct {
		Value  *string `json:"value"`
		Expire int64   `json:"expire"`
		TTL    int64   `json:"ttl"`
	}
	if err := json.Unmarshal(m, &o); err != nil || o.Value == nil {
		return Stored{}, errors.New(`not a string or an object with a string "value"`)
	}
	if o.Expire < 0 || o.TTL < 0 || o.TTL > math.MaxInt64/int64(time.Millisecond) {
		return Stored{}, errors.New(`"expire" or "ttl" out of range`)
	}
	s := Stored{Value: *o.Value, Life: time.Duration(o.TTL) * time.Millisecond}
	if o.Expire > 0 {
		s.Expire = time.UnixMilli(o.Expire)
	}
	return s, nil
}

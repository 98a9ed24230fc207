package keyval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// JSON is the zone's pairs as one JSON object in key order, as the API's
// GET shows them and the state file keeps them.
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

// Save replaces the state file path with the zone's pairs: written to a
// temporary file in the same directory, synced, then renamed over path, so
// that a reader (a reload, a restart) sees the old state or the new one,
// never a part.
func (z *Zone) Save(path string) error {
	data := append(z.JSON(), '\n')
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

// ReadState reads a state file's contents: one JSON object whose values
// are strings. An empty file is an empty zone.
func ReadState(data []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]string{}, nil
	}
	var pairs map[string]string
	if err := json.Unmarshal(data, &pairs); err != nil {
		return nil, fmt.Errorf("not a JSON object of strings: %w", err)
	}
	if pairs == nil {
		return nil, fmt.Errorf("not a JSON object of strings")
	}
	return pairs, nil
}

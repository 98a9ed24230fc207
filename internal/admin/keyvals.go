package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"fulcrum/internal/keyval"
)

// KeyvalSource is what a Source with keyval zones (keyval_zone) offers
// beyond Source; a Source without it has none to show.
type KeyvalSource interface {
	// KeyvalZones returns block's zones of the configuration in force,
	// in configuration order.
	KeyvalZones(block Block) []KeyvalZone
	// ChangeKeyval runs change on block's zone named name of the
	// configuration in force and keeps the result (its state file),
	// serialised with the other changes and with reloads. It returns
	// change's error, ErrKeyvalNotFound for an unknown zone, or the error
	// of writing the state file.
	ChangeKeyval(block Block, name string, change func(KeyvalZone) error) error
}

// KeyvalZone is one keyval zone as the API sees it.
type KeyvalZone struct {
	Name string
	Zone *keyval.Zone
	// Timeout is the zone's timeout (0: none), which a change passes on.
	Timeout time.Duration
}

// ErrKeyvalNotFound is ChangeKeyval's error for a zone the configuration
// in force does not have.
var ErrKeyvalNotFound = errors.New("keyval not found")

// maxKeyvalBody caps a keyval POST or PATCH body: a POST may fill an empty
// zone at once (nginx's client_max_body_size default, 1m).
const maxKeyvalBody = 1 << 20

// The keyval errors, NGINX Plus's codes.
var (
	errKeyvalUnknown = newError(http.StatusNotFound, "KeyvalNotFound", "keyval not found")
	errKeyUnknown    = newError(http.StatusNotFound, "KeyvalKeyNotFound", "keyval key not found")
	errKeyExists     = newError(http.StatusConflict, "KeyvalKeyExists", "key already exists")
	errKeyvalFull    = newError(http.StatusInsufficientStorage, "KeyvalNoMemory", "keyval zone is full")
)

func keyvalFormat(text string) *apiError {
	return newError(http.StatusBadRequest, "KeyvalFormatError", text)
}

// keyvalZones returns block's zones of the source, none when it has none.
func (a *API) keyvalZones(b Block) []KeyvalZone {
	if ks, ok := a.Source.(KeyvalSource); ok {
		return ks.KeyvalZones(b)
	}
	return nil
}

// keyvals serves /{http,stream}/keyvals/ (GET: every zone of block b) and
// /{http,stream}/keyvals/{name} (GET, POST, PATCH, DELETE).
func (a *API) keyvals(r *http.Request, b Block, segs []string, read bool, status *int) ([]byte, error) {
	switch {
	case len(segs) > 1:
		return nil, errPathNotFound
	case len(segs) == 0 && !read:
		return nil, errMethodNotSupp
	case len(segs) == 0:
		return a.allKeyvals(r, b), nil
	}
	name := segs[0]
	var zone *KeyvalZone
	for _, z := range a.keyvalZones(b) {
		if z.Name == name {
			zone = &z
			break
		}
	}
	if zone == nil {
		return nil, errKeyvalUnknown
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return getKeyval(r, zone.Zone)
	case http.MethodPost:
		*status = http.StatusCreated
		return nil, a.postKeyval(r, b, name)
	case http.MethodPatch:
		*status = http.StatusNoContent
		return nil, a.patchKeyval(r, b, name)
	case http.MethodDelete:
		*status = http.StatusNoContent
		return nil, a.changeKeyval(b, name, func(z KeyvalZone) error { z.Zone.Clear(); return nil })
	}
	return nil, errMethodNotSupp
}

// allKeyvals is every zone's pairs under its name; with an empty
// "fields" argument, as NGINX Plus, the names only (empty objects).
func (a *API) allKeyvals(r *http.Request, blk Block) []byte {
	q := r.URL.Query()
	namesOnly := q.Has("fields") && q.Get("fields") == ""
	var b bytes.Buffer
	b.WriteByte('{')
	for i, z := range a.keyvalZones(blk) {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(z.Name)
		b.Write(name)
		b.WriteByte(':')
		if namesOnly {
			b.WriteString("{}")
		} else {
			b.Write(z.Zone.JSON())
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// getKeyval is a zone's pairs, or with ?key= the one pair of exactly that
// key.
func getKeyval(r *http.Request, z *keyval.Zone) ([]byte, error) {
	q := r.URL.Query()
	if !q.Has("key") {
		return z.JSON(), nil
	}
	key := q.Get("key")
	v, ok := z.Get(key)
	if !ok {
		return nil, errKeyUnknown
	}
	return keyval.PairsJSON([]keyval.KV{{Key: key, Value: v}}), nil
}

// postKeyval adds the body's pairs (201 Created, no body).
func (a *API) postKeyval(r *http.Request, b Block, name string) error {
	fields, err := readKeyvalBody(r.Body)
	if err != nil {
		return err
	}
	pairs := make(map[string]keyval.Pair, len(fields))
	for k, raw := range fields {
		p, del, err := readPair(raw)
		if err != nil {
			return err
		}
		if del {
			return keyvalFormat(fmt.Sprintf("invalid value of key %q", k))
		}
		pairs[k] = p
	}
	return a.changeKeyval(b, name, func(z KeyvalZone) error { return z.Zone.Add(pairs, z.Timeout) })
}

// patchKeyval changes one key: a new value, a new expiry, or null to
// remove it (204 No Content).
func (a *API) patchKeyval(r *http.Request, b Block, name string) error {
	fields, err := readKeyvalBody(r.Body)
	if err != nil {
		return err
	}
	switch {
	case len(fields) == 0:
		return keyvalFormat("key required")
	case len(fields) > 1:
		return keyvalFormat("only one key can be updated")
	}
	for k, raw := range fields {
		p, del, err := readPair(raw)
		if err != nil {
			return err
		}
		return a.changeKeyval(b, name, func(z KeyvalZone) error {
			if del {
				return z.Zone.Set(k, nil, z.Timeout)
			}
			return z.Zone.Set(k, &p, z.Timeout)
		})
	}
	return nil
}

// changeKeyval runs change through the source and maps its errors.
func (a *API) changeKeyval(b Block, name string, change func(KeyvalZone) error) error {
	ks, ok := a.Source.(KeyvalSource)
	if !ok {
		return errKeyvalUnknown
	}
	return keyvalError(ks.ChangeKeyval(b, name, change))
}

// keyvalError maps the store's errors to NGINX Plus's.
func keyvalError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrKeyvalNotFound):
		return errKeyvalUnknown
	case errors.Is(err, keyval.ErrKeyNotFound):
		return errKeyUnknown
	case errors.Is(err, keyval.ErrKeyExists):
		return errKeyExists
	case errors.Is(err, keyval.ErrNoMemory):
		return errKeyvalFull
	}
	for _, e := range []error{keyval.ErrOnlyOne, keyval.ErrKeyRequired, keyval.ErrBadKey, keyval.ErrNoTimeout} {
		if errors.Is(err, e) {
			return keyvalFormat(err.Error())
		}
	}
	return err
}

// readKeyvalBody reads a POST or PATCH body: one JSON object.
func readKeyvalBody(body io.Reader) (map[string]json.RawMessage, error) {
	if body == nil {
		return nil, keyvalFormat("invalid JSON")
	}
	data, err := io.ReadAll(io.LimitReader(body, maxKeyvalBody+1))
	if err != nil {
		return nil, newError(http.StatusBadRequest, "BodyReadError", "reading request body failed")
	}
	if len(data) > maxKeyvalBody {
		return nil, newError(http.StatusRequestEntityTooLarge, "KeyvalFormatError", "request body too large")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, keyvalFormat("invalid JSON")
	}
	return fields, nil
}

// readPair reads one key's JSON value: a string, null (remove), or
// {"value": string, "expire": milliseconds} (either may be left out in a
// PATCH: no value keeps the key's value).
func readPair(raw json.RawMessage) (p keyval.Pair, del bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "null":
		return p, true, nil
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &p.Value); err != nil {
			return p, false, keyvalFormat("invalid JSON")
		}
		return p, false, nil
	case len(raw) == 0 || raw[0] != '{':
		return p, false, keyvalFormat("invalid value: a string, null or {\"value\":...,\"expire\":...}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return p, false, keyvalFormat("invalid JSON")
	}
	p.KeepValue = true
	for k, v := range obj {
		switch k {
		case "value":
			if err := json.Unmarshal(v, &p.Value); err != nil {
				return p, false, keyvalFormat(`invalid "value": a string`)
			}
			p.KeepValue = false
		case "expire":
			if p.Expire, err = readExpire(v); err != nil {
				return p, false, err
			}
		default:
			return p, false, keyvalFormat(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	return p, false, nil
}

// readExpire reads "expire": a positive whole number of milliseconds.
func readExpire(v json.RawMessage) (time.Duration, error) {
	var ms float64
	s := strings.TrimSpace(string(v))
	if err := json.Unmarshal(v, &ms); err != nil || ms <= 0 || ms != math.Trunc(ms) || ms > float64(math.MaxInt64/int64(time.Millisecond)) || strings.ContainsAny(s, ".eE") {
		return 0, keyvalFormat(`invalid "expire": a positive number of milliseconds`)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"fulcrum/internal/upstream"
)

// readPatch reads a PATCH body, a JSON object of server parameters, as
// NGINX Plus reads it: every key must be a parameter that may change, with
// a value of the right type and range; no object or list values.
func readPatch(body io.Reader, b Block) (upstream.ServerPatch, error) {
	var ch upstream.ServerPatch
	fields, err := readObject(body)
	if err != nil {
		return ch, err
	}
	if err := httpOnlyFields(b, fields); err != nil {
		return ch, err
	}
	for key, v := range fields {
		if err := setField(&ch, key, v); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// readObject reads a request body holding one JSON object (numbers kept
// as json.Number).
func readObject(body io.Reader) (map[string]any, error) {
	if body == nil {
		return nil, formatError("empty request body")
	}
	data, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(data) > maxBody {
		return nil, newError(http.StatusRequestEntityTooLarge, "UpstreamConfFormatError", "request body too large")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, formatError("invalid JSON object in request body")
	}
	return fields, nil
}

// httpOnlyFields refuses, for a stream upstream, the parameters only http
// servers have: NGINX Plus's stream server object has no route and no
// drain.
func httpOnlyFields(b Block, fields map[string]any) error {
	if b != Stream {
		return nil
	}
	for _, key := range []string{"route", "drain"} {
		if _, ok := fields[key]; ok {
			return formatError(fmt.Sprintf("unknown parameter %q", key))
		}
	}
	return nil
}

func formatError(text string) *apiError {
	return newError(http.StatusBadRequest, "UpstreamConfFormatError", text)
}

// setField reads one parameter into ch.
func setField(ch *upstream.ServerPatch, key string, v any) error {
	switch v.(type) {
	case map[string]any, []any:
		return formatError("nested object or list")
	}
	switch key {
	case "down":
		return setBool(&ch.Down, key, v)
	case "drain":
		return setBool(&ch.Drain, key, v)
	case "weight":
		return setInt(&ch.Weight, key, v, 1, "UpstreamBadWeight")
	case "max_fails":
		return setInt(&ch.MaxFails, key, v, 0, "UpstreamBadMaxFails")
	case "max_conns":
		return setInt(&ch.MaxConns, key, v, 0, "UpstreamBadMaxConns")
	case "fail_timeout":
		return setTime(&ch.FailTimeout, key, v, "UpstreamBadFailTimeout")
	case "slow_start":
		return setTime(&ch.SlowStart, key, v, "UpstreamBadSlowStart")
	case "id", "backup", "service":
		return formatError(fmt.Sprintf("%q cannot be changed", key))
	case "server", "route":
		return formatError(fmt.Sprintf("changing %q is not supported by fulcrum", key))
	}
	return formatError(fmt.Sprintf("unknown parameter %q", key))
}

func setBool(dst **bool, key string, v any) error {
	b, ok := v.(bool)
	if !ok {
		return formatError(fmt.Sprintf("invalid %q value", key))
	}
	*dst = &b
	return nil
}

// setInt reads a whole number of at least min; a value below is the
// parameter's own code (UpstreamBadWeight...), one that is no number a
// format error.
func setInt(dst **int, key string, v any, min int64, code string) error {
	num, ok := v.(json.Number)
	if !ok {
		return formatError(fmt.Sprintf("invalid %q value", key))
	}
	n, err := num.Int64()
	if err != nil || n < min || n > math.MaxInt32 {
		return newError(http.StatusBadRequest, code, fmt.Sprintf("invalid %q", key))
	}
	i := int(n)
	*dst = &i
	return nil
}

// setTime reads a time: a string with nginx's units ("10s", "500ms",
// "1m", "1h30m"; bare digits are seconds) or a number of seconds.
func setTime(dst **time.Duration, key string, v any, code string) error {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = v
	default:
		return formatError(fmt.Sprintf("invalid %q value", key))
	}
	d, ok := parseTime(text)
	if !ok {
		return newError(http.StatusBadRequest, code, fmt.Sprintf("invalid %q", key))
	}
	*dst = &d
	return nil
}

// parseTime reads "10", "10s", "500ms", "2m", "1h30m": digits alone are
// seconds; otherwise Go's units, which cover nginx's but d (day) and w
// (week), M and y.
func parseTime(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, n >= 0
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

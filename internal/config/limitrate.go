package config

import "strings"

// SizeValue is the value of a size directive that nginx compiles as a
// "complex value" (limit_rate, limit_rate_after, stream's
// proxy_upload_rate and proxy_download_rate): a size known at load
// time, or, when the argument has variables, a template evaluated and
// parsed as a size per request.
type SizeValue struct {
	// N is the size in bytes; 0 when Value is set.
	N int64
	// Value, when not empty, is the argument with variables, evaluated and
	// parsed (ngx_parse_size) per request; a value that is not a size counts
	// as 0 and is logged, as nginx's ngx_http_complex_value_size does.
	Value string
	// Pos is where the directive is written; the zero Pos for the default.
	Pos Pos
}

// Active reports whether v may give a size other than 0.
func (v SizeValue) Active() bool { return v.N > 0 || v.Value != "" }

// checkSizeValue checks limit_rate's and limit_rate_after's argument as
// nginx's ngx_http_set_complex_value_size_slot does: a value with variables
// is checked when it is compiled (an unknown variable), any other must be a
// size (512, 8k, 1m; no g).
func checkSizeValue(d *Directive) error {
	a := d.Args[0]
	if strings.Contains(a, "$") {
		return nil
	}
	_, err := parseSize(a)
	return valueError(d, err, "use a size such as 512, 8k or 1m, or a value with variables")
}

// sizeValueRule reads a SizeValue directive of the nearest level.
func sizeValueRule(name string, field func(*Settings) *SizeValue) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := sizeValueOf(dirs[0])
		if err != nil {
			return err
		}
		*field(st) = v
		return nil
	}}
}

// sizeValueOf reads the SizeValue that d's argument writes: a template
// when it has variables, else a size (checked by checkSizeValue).
func sizeValueOf(d *Directive) (SizeValue, error) {
	v := SizeValue{Pos: d.Pos}
	if strings.Contains(d.Args[0], "$") {
		v.Value = d.Args[0]
		return v, nil
	}
	n, err := parseSize(d.Args[0])
	if err != nil {
		return v, valueError(d, err, "")
	}
	v.N = n
	return v, nil
}

// applyProxyLimitRate reads proxy_limit_rate (checked by the table's kindSize).
func applyProxyLimitRate(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	n, err := parseSize(dirs[0].Args[0])
	st.ProxyLimitRate = n
	return err
}

package config

import "math"

// SplitClients is a split_clients block: Variable takes the Value of the
// first part whose Bound is above the MurmurHash2 of Source's value.
type SplitClients struct {
	// Source is the string hashed, with variables, such as "${remote_addr}AAA".
	Source string
	// Variable is the name defined, without "$".
	Variable string
	// Parts in config order.
	Parts []SplitPart
	Pos   Pos
}

// SplitPart is one "percent value;" line of a split_clients block.
type SplitPart struct {
	// Bound is the part's end on the 32-bit hash scale, as nginx computes it:
	// the sum, so far, of each percentage times 0xffffffff / 10000 (each
	// truncated, in 32 bits). 0 is "*": every hash left.
	Bound uint32
	// Value is a plain string (no variables, as in nginx).
	Value string
	Pos   Pos
}

// splitClients reads the split_clients blocks.
func (b *builder) splitClients(h *HTTP, http *scope) error {
	for _, d := range http.own("split_clients") {
		sc, err := parseSplitClients(d)
		if err != nil {
			return err
		}
		h.SplitClients = append(h.SplitClients, sc)
	}
	return nil
}

// parseSplitClients reads "split_clients string $variable { ... }" as nginx's
// ngx_conf_split_clients_block.
func parseSplitClients(d *Directive) (*SplitClients, error) {
	v := d.Args[1]
	if len(v) < 2 || v[0] != '$' {
		return nil, hintf(d.Pos, `the second argument names the variable to set, such as $variant`, `invalid variable name "%s"`, v)
	}
	sc := &SplitClients{Source: d.Args[0], Variable: v[1:], Pos: d.Pos}
	percents := make([]uint32, 0, len(d.Block))
	for _, line := range d.Block {
		if len(line.Args) != 1 {
			// nginx reads a missing value from a stale argument slot and
			// ignores extra ones; fulcrum refuses both.
			return nil, hintf(line.Pos, `each line of a split_clients block is "percent value;", such as "10% a;" or "* b;"`,
				`invalid number of the split_clients parameters`)
		}
		pct, ok := parsePercent(line.Name)
		if !ok {
			return nil, hintf(line.Pos, `write a percentage with at most two decimals, such as "0.5%", or "*" for the rest`, `invalid percent value "%s"`, line.Name)
		}
		percents = append(percents, pct)
		sc.Parts = append(sc.Parts, SplitPart{Value: line.Args[0], Pos: line.Pos})
	}
	// nginx says this at the end of the block; fulcrum names the line that
	// goes over.
	var sum, last uint32
	for i, pct := range percents {
		if pct == 0 {
			sum = 10000
		} else {
			sum += pct
		}
		if sum > 10000 {
			return nil, hintf(sc.Parts[i].Pos, `the percentages add up to more than 100%; lower them, or end with "* value;" for the rest`, "percent total is greater than 100%%")
		}
		if pct != 0 {
			last += uint32(uint64(pct) * 0xffffffff / 10000)
			sc.Parts[i].Bound = last
		}
	}
	return sc, nil
}

// parsePercent reads a split_clients percentage in hundredths of a percent:
// "*" is 0 (the rest), else a number with at most two decimals and a
// trailing "%", parsed by nginx 1.22's ngx_atofp(s, n, 2) and truncated to
// 32 bits as nginx stores it. Zero is refused.
func parsePercent(s string) (uint32, bool) {
	if s == "*" {
		return 0, true
	}
	if s == "" || s[len(s)-1] != '%' {
		return 0, false
	}
	n, ok := atofp(s[:len(s)-1], 2)
	if !ok || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// atofp is nginx 1.22's ngx_atofp: a decimal number with at most point
// digits after the dot, as an integer scaled by 10^point.
func atofp(s string, point int) (int64, bool) {
	if s == "" {
		return 0, false
	}
	const cutoff, cutlim = math.MaxInt64 / 10, math.MaxInt64 % 10
	var v int64
	dot := false
	for i := 0; i < len(s); i++ {
		if point == 0 {
			return 0, false
		}
		c := s[i]
		if c == '.' {
			if dot {
				return 0, false
			}
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if v >= cutoff && (v > cutoff || int64(c-'0') > cutlim) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if dot {
			point--
		}
	}
	for ; point > 0; point-- {
		if v > cutoff {
			return 0, false
		}
		v *= 10
	}
	return v, true
}

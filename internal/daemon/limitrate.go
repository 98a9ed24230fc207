package daemon

import (
	"fmt"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// compileLimitRates compiles the limit_rate and limit_rate_after values with
// variables of every server and location.
func (s *snapshot) compileLimitRates(comp *vars.Compiler) error {
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		for _, v := range [...]*config.SizeValue{&set.LimitRate, &set.LimitRateAfter} {
			if v.Value == "" {
				continue
			}
			if _, done := s.sizeValues[v]; done {
				continue
			}
			t, err := comp.Compile(v.Value)
			if err != nil {
				return fmt.Errorf("%w in %s", err, v.Pos)
			}
			if s.sizeValues == nil {
				s.sizeValues = map[*config.SizeValue]*vars.Template{}
			}
			s.sizeValues[v] = t
		}
		return nil
	})
}

// startLimitRate paces the response the way nginx's write filter does when
// it sends a response's first bytes: the request's limit is what a "set
// $limit_rate" or the upstream's X-Accel-Limit-Rate gave, else the
// location's limit_rate, which then becomes $limit_rate; limit_rate_after
// is read only when there is a limit. Both count from the request's start.
func (w *recorder) startLimitRate(p ratePacer) {
	st := w.st
	if !st.LimitRateSet {
		st.LimitRate, st.LimitRateSet = w.size(&w.set.LimitRate), true
	}
	if st.LimitRate <= 0 {
		return
	}
	p.paceAt(st.LimitRate, w.size(&w.set.LimitRateAfter), st.Start)
}

// ratePacer paces a response's body: the engine's writer, or an HTTP/2
// stream's (h2Writer).
type ratePacer interface {
	paceAt(rate, free int64, start time.Time)
}

// size is v's value for this request: a value with variables is evaluated
// and parsed as a size; one that is not a size counts as 0 and is logged, as
// nginx's ngx_http_complex_value_size does.
func (w *recorder) size(v *config.SizeValue) int64 {
	if v.Value == "" {
		return v.N
	}
	t := w.snap.sizeValues[v]
	if t == nil {
		return 0
	}
	b := t.Append(nil, w.st)
	n, ok := vars.ParseSize(b)
	if !ok {
		if w.log().Enabled(errlog.Error) && w.req != nil {
			w.log().LogRequest(errlog.Error, logRequest(w.st, w.req), fmt.Sprintf(`invalid size "%s" while sending response to client`, b))
		}
		return 0
	}
	return n
}

package proxy

import (
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestAccelLimitRate: an upstream's X-Accel-Limit-Rate is a plain number of
// bytes a second, read as nginx's ngx_atoi reads it; anything else changes
// nothing, and proxy_ignore_headers X-Accel-Limit-Rate ignores the field.
func TestAccelLimitRate(t *testing.T) {
	tests := []struct {
		value  string
		ignore bool
		rate   int64
		set    bool
	}{
		{value: "65536", rate: 65536, set: true},
		{value: "0", rate: 0, set: true},
		{value: "9223372036854775807", rate: 1<<63 - 1, set: true},
		{value: "9223372036854775808"},
		{value: "64k"},
		{value: "-1"},
		{value: "+1"},
		{value: " 1"},
		{value: ""},
		{value: "65536", ignore: true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			h := &Handler{set: &config.Settings{IgnoreAccelLimitRate: tt.ignore}}
			st := &vars.State{}
			h.accelLimitRate(st, tt.value)
			if st.LimitRate != tt.rate || st.LimitRateSet != tt.set {
				t.Errorf("limit %d (set %v), want %d (set %v)", st.LimitRate, st.LimitRateSet, tt.rate, tt.set)
			}
		})
	}
}

package main

import (
	"runtime/debug"
	"testing"
)

func TestApplyGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	tests := []struct {
		gogc string
		want int // the percent in effect afterwards
	}{
		{"", defaultGCPercent}, // not set: fulcrum's default
		{"100", 100},           // set: the runtime's reading of it (100 here) stays
	}
	for _, tt := range tests {
		t.Run("GOGC="+tt.gogc, func(t *testing.T) {
			debug.SetGCPercent(100)
			getenv := func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			}
			if applied := applyGCPercent(getenv); applied != (tt.gogc == "") {
				t.Errorf("applyGCPercent reported %v with GOGC=%q", applied, tt.gogc)
			}
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC percent in effect %d, want %d", got, tt.want)
			}
		})
	}
}

package admin

import (
	"regexp"
	"strconv"
	"testing"
)

// TestAppendRuntimeMetrics: each Go runtime family has its HELP and TYPE
// lines and a value read from this process (goroutines and memory above
// zero).
func TestAppendRuntimeMetrics(t *testing.T) {
	text := string(AppendRuntimeMetrics(nil))
	for _, f := range runtimeFamilies {
		m := regexp.MustCompile(`(?m)^# HELP ` + f.name + ` .+\n# TYPE ` + f.name + ` ` + f.typ + `\n` + f.name + ` (\d+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no %s family in\n%s", f.name, text)
			continue
		}
		if v, _ := strconv.ParseInt(m[1], 10, 64); v <= 0 && f.name != "fulcrum_go_gc_cycles_total" {
			t.Errorf("%s = %d, want more than 0", f.name, v)
		}
	}
}

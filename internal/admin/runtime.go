package admin

import (
	"runtime/metrics"
)

// runtimeFamilies are the Go runtime's own numbers the metrics location
// shows, read with runtime/metrics (no stop of the world): where fulcrum's
// memory goes (the heap's objects, the goroutine stacks, all the runtime
// holds), how many goroutines run and the collector's percentage.
var runtimeFamilies = []struct {
	name, typ, help, sample string
}{
	{"fulcrum_go_goroutines", "gauge", "Goroutines that exist (one per client connection, and the helpers').", "/sched/goroutines:goroutines"},
	{"fulcrum_go_stack_bytes", "gauge", "Memory reserved for goroutine stacks.", "/memory/classes/heap/stacks:bytes"},
	{"fulcrum_go_heap_objects_bytes", "gauge", "Memory taken by live and not yet collected heap objects.", "/memory/classes/heap/objects:bytes"},
	{"fulcrum_go_memory_bytes", "gauge", "All memory the Go runtime has mapped (the process's memory, less the binary's text and the C library's).", "/memory/classes/total:bytes"},
	{"fulcrum_go_gc_cycles_total", "counter", "Completed garbage collection cycles.", "/gc/cycles/total:gc-cycles"},
	{"fulcrum_go_gc_percent", "gauge", "The collector's headroom as a percentage of what it last found live (GOGC; fulcrum lowers it for a big heap).", "/gc/gogc:percent"},
}

// AppendRuntimeMetrics appends the Go runtime's families (runtimeFamilies)
// to b, in Prometheus's text format.
func AppendRuntimeMetrics(b []byte) []byte {
	samples := make([]metrics.Sample, len(runtimeFamilies))
	for i, f := range runtimeFamilies {
		samples[i].Name = f.sample
	}
	metrics.Read(samples)
	for i, f := range runtimeFamilies {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			continue // not known to this Go version
		}
		b = simple(b, f.name, f.typ, f.help, int64(samples[i].Value.Uint64()))
	}
	return b
}

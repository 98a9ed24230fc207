package daemon

import (
	"fmt"

	"fulcrum/internal/config"
	"fulcrum/internal/varmap"
	"fulcrum/internal/vars"
)

// splitVar is a split_clients block ready for requests.
type splitVar struct {
	source *vars.Template
	parts  []config.SplitPart
}

func newSplitVar(sc *config.SplitClients) *splitVar {
	return &splitVar{parts: sc.Parts}
}

// compile compiles the hashed string.
func (sv *splitVar) compile(comp *vars.Compiler, sc *config.SplitClients) error {
	t, err := comp.Compile(sc.Source)
	if err != nil {
		return fmt.Errorf("%w in %s", err, sc.Pos)
	}
	sv.source = t
	return nil
}

// get is the split_clients variable's getter, as nginx's
// ngx_http_split_clients_variable: the value of the first part whose bound
// is above the MurmurHash2 of the string, or of the first "*"; empty when
// none is. The string is appended to dst as scratch, and dropped.
func (sv *splitVar) get(dst []byte, st *vars.State) ([]byte, bool) {
	start := len(dst)
	dst = sv.source.Append(dst, st)
	v := pickSplit(sv.parts, murmurHash2(dst[start:]))
	return append(dst[:start], v...), true
}

// pickSplit returns the value of the part that hash falls in
// (varmap.PickSplit).
func pickSplit(parts []config.SplitPart, hash uint32) string { return varmap.PickSplit(parts, hash) }

// murmurHash2 is nginx's ngx_murmur_hash2 (varmap.MurmurHash2).
func murmurHash2(data []byte) uint32 { return varmap.MurmurHash2(data) }

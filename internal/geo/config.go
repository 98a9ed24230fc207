package geo

import "fulcrum/internal/config"

// Compile builds the table of a geo block as config read it: ranges mode
// (g.Spans, g.Default) or the default mode (g.Nets). The http daemon and
// the stream module both build their geo variables' tables with it.
func Compile(g *config.Geo) *Table {
	if g.Ranges {
		ranges := make([]Range, len(g.Spans))
		for i, r := range g.Spans {
			ranges[i] = Range{Start: r.Start, End: r.End, Value: r.Value}
		}
		return NewRanges(ranges, g.Default)
	}
	nets := make([]Net, len(g.Nets))
	for i, n := range g.Nets {
		nets[i] = Net{Prefix: n.Prefix, Value: n.Value}
	}
	return NewCIDR(nets)
}

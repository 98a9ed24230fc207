package static

import (
	"fulcrum/internal/mp4"
)

// MP4Cut is the mp4 module's work on a file (Result.MP4): cut it to Range
// with Options.
type MP4Cut struct {
	Range   mp4.Range
	Options mp4.Options
}

// MP4Range reads the mp4 module's arguments from a query string: the first
// "start" and "end" (names in any case, as ngx_http_arg finds them), in
// seconds with up to three decimals used (mp4.ParseTime). ok is false when
// the file is sent as it is: no valid start and no end above 0.
func MP4Range(args string) (rng mp4.Range, ok bool) {
	start, end := int64(-1), int64(-1)
	if v, found := argValue(args, "start"); found {
		start = mp4.ParseTime(v)
	}
	if v, found := argValue(args, "end"); found {
		end = mp4.ParseTime(v)
	}
	return mp4.RangeOf(start, end)
}

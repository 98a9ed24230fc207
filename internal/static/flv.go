package static

import (
	"io"
	"os"
)

// flvHeader is the FLV file header nginx's flv module sends before a file
// served from an offset (ngx_flv_header): "FLV", version 1, audio and
// video present, a 9-byte header, and the first PreviousTagSize0 (0).
const flvHeader = "FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"

// FLVStart is the offset the flv module reads from a query string: the
// first "start" argument (its name in any case, as ngx_http_arg finds it)
// when its value is a decimal number (ngx_atoof: digits only, no sign);
// 0 otherwise. ServeFile ignores an offset at or past the end of the file.
func FLVStart(args string) int64 {
	v, ok := argValue(args, "start")
	if !ok || v == "" {
		return 0
	}
	var n int64
	for i := range len(v) {
		c := v[i]
		if c < '0' || c > '9' || n > (1<<63-1-int64(c-'0'))/10 {
			return 0 // not a number, or it overflows: nginx's NGX_ERROR
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// flvBody is the body of an FLV file served from start: flvHeader, then
// the file from start to its end.
type flvBody struct {
	f     *os.File
	start int64
}

// ReadAt reads the body from off, as io.ReaderAt.
func (b flvBody) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(flvHeader)) {
		n = copy(p, flvHeader[off:])
		if n == len(p) {
			return n, nil
		}
		off = int64(len(flvHeader))
	}
	m, err := b.f.ReadAt(p[n:], b.start+off-int64(len(flvHeader)))
	if err == io.EOF && n+m == len(p) {
		err = nil
	}
	return n + m, err
}

package mmdb

import (
	"errors"
	"math"
	"strconv"
)

// The data section's types (the spec's "Output Data Section").
const (
	typeExtended = 0
	typePointer  = 1
	typeString   = 2
	typeDouble   = 3
	typeBytes    = 4
	typeUint16   = 5
	typeUint32   = 6
	typeMap      = 7
	typeInt32    = 8
	typeUint64   = 9
	typeUint128  = 10
	typeArray    = 11
	typeBool     = 14
	typeFloat    = 15
)

// errData is a field that runs past its section or does not decode.
var errData = errors.New("invalid data")

// decoder reads fields of one section: buf[base:end]; pointers are offsets
// from base.
type decoder struct {
	buf       []byte
	base, end int
}

// header decodes the control byte(s) at off, following a pointer once (the
// spec forbids a pointer to a pointer). It returns the type, the size (for a
// map the pairs, an array the elements, a boolean its value) and where the
// payload starts.
func (d *decoder) header(off int) (typ, size, pos int, err error) {
	typ, size, pos, err = d.rawHeader(off)
	if err != nil || typ != typePointer {
		return typ, size, pos, err
	}
	typ, size, pos, err = d.rawHeader(size)
	if err == nil && typ == typePointer {
		err = errData
	}
	return typ, size, pos, err
}

// rawHeader decodes the control byte(s) at off; for a pointer, size is the
// absolute offset it points to.
func (d *decoder) rawHeader(off int) (typ, size, pos int, err error) {
	if off < d.base || off >= d.end {
		return 0, 0, 0, errData
	}
	ctrl := d.buf[off]
	pos = off + 1
	typ = int(ctrl >> 5)
	if typ == typePointer {
		return d.pointer(ctrl, pos)
	}
	if typ == typeExtended {
		if pos >= d.end {
			return 0, 0, 0, errData
		}
		typ = 7 + int(d.buf[pos])
		pos++
		if typ < 8 || typ > typeFloat {
			return 0, 0, 0, errData
		}
	}
	size = int(ctrl & 0x1f)
	if size >= 29 {
		n := size - 28 // 1, 2 or 3 more bytes
		if pos+n > d.end {
			return 0, 0, 0, errData
		}
		v := 0
		for _, c := range d.buf[pos : pos+n] {
			v = v<<8 | int(c)
		}
		pos += n
		size = [...]int{29, 285, 65821}[n-1] + v
	}
	if typ != typeMap && typ != typeArray && typ != typeBool && pos+size > d.end {
		return 0, 0, 0, errData
	}
	return typ, size, pos, nil
}

// pointer decodes a pointer whose control byte is ctrl and whose further
// bytes start at pos.
func (d *decoder) pointer(ctrl byte, pos int) (typ, target, next int, err error) {
	ss := int(ctrl>>3) & 3
	n := ss + 1
	if pos+n > d.end {
		return 0, 0, 0, errData
	}
	v := 0
	if ss < 3 {
		v = int(ctrl & 7)
	}
	for _, c := range d.buf[pos : pos+n] {
		v = v<<8 | int(c)
	}
	v += [...]int{0, 2048, 526336, 0}[ss]
	return typePointer, d.base + v, pos + n, nil
}

// uint reads a big-endian unsigned integer of size bytes at pos.
func (d *decoder) uint(pos, size int) uint64 {
	var v uint64
	for _, c := range d.buf[pos : pos+size] {
		v = v<<8 | uint64(c)
	}
	return v
}

// str reads the string at off (through a pointer) and returns where the
// field after it starts.
func (d *decoder) str(off int) (string, int, error) {
	typ, size, pos, err := d.header(off)
	if err != nil || typ != typeString {
		return "", 0, errData
	}
	next, err := d.skip(off)
	return string(d.buf[pos : pos+size]), next, err
}

// keyIs reports whether the map key at off is key, without allocating, and
// returns where its value starts.
func (d *decoder) keyIs(off int, key string) (bool, int, error) {
	typ, size, pos, err := d.header(off)
	if err != nil || typ != typeString {
		return false, 0, errData
	}
	next, err := d.skip(off)
	return string(d.buf[pos:pos+size]) == key, next, err
}

// skip returns where the field after the one at off starts. A pointer is
// only its own bytes.
func (d *decoder) skip(off int) (int, error) {
	return d.skipDepth(off, 0)
}

// maxDepth bounds the nesting skip follows, against a crafted file.
const maxDepth = 512

func (d *decoder) skipDepth(off, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errData
	}
	typ, size, pos, err := d.rawHeader(off)
	if err != nil {
		return 0, err
	}
	switch typ {
	case typePointer:
		return pos, nil
	case typeBool:
		return pos, nil
	case typeMap:
		size *= 2
		fallthrough
	case typeArray:
		for range size {
			if pos, err = d.skipDepth(pos, depth+1); err != nil {
				return 0, err
			}
		}
		return pos, nil
	}
	return pos + size, nil
}

// Append looks up path in the record of e, as libmaxminddb's MMDB_aget_value:
// each element is a key of a map or an index into an array (decimal, as
// strtol reads it; negative counts from the end). It appends the value found
// as ngx_http_geoip2_module 3.4 prints it: a string or bytes as they are, a
// boolean as 0 or 1, integers in decimal, a uint128 as 0x and 32 hex digits,
// a float or double with 5 decimals (ngx_sprintf's "%.5f"). A missing key or
// index, a path through a value that is not a map or an array, and a map or
// array at the end of the path are not found.
func (db *DB) Append(dst []byte, e Entry, path []string) ([]byte, bool) {
	d := decoder{buf: db.buf, base: db.dataStart, end: db.dataEnd}
	off := e.off
	for _, elem := range path {
		next, ok := d.step(off, elem)
		if !ok {
			return dst, false
		}
		off = next
	}
	return d.format(dst, off)
}

// step moves from the map or array at off to its element elem.
func (d *decoder) step(off int, elem string) (int, bool) {
	typ, size, pos, err := d.header(off)
	if err != nil {
		return 0, false
	}
	switch typ {
	case typeMap:
		for range size {
			match, val, err := d.keyIs(pos, elem)
			if err != nil {
				return 0, false
			}
			if match {
				return val, true
			}
			if pos, err = d.skip(val); err != nil {
				return 0, false
			}
		}
	case typeArray:
		i, ok := arrayIndex(elem, size)
		if !ok {
			return 0, false
		}
		for range i {
			if pos, err = d.skip(pos); err != nil {
				return 0, false
			}
		}
		return pos, true
	}
	return 0, false
}

// arrayIndex reads an array index as libmaxminddb's lookup_path_in_array:
// strtol (leading white space, a sign, decimal digits; nothing at all is
// 0), the whole element consumed, a negative one counted from the end.
func arrayIndex(s string, size int) (int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n = n*10 + int(s[i]-'0'); n > 1<<40 {
			return 0, false // strtol's ERANGE, or anyway past any array
		}
	}
	if i == start {
		return 0, s == "" // strtol read nothing: "" is index 0, anything else is left over
	}
	if i != len(s) {
		return 0, false
	}
	if neg {
		n = size - n
		if n < 0 {
			return 0, false
		}
	}
	return n, n < size
}

// format appends the scalar at off.
func (d *decoder) format(dst []byte, off int) ([]byte, bool) {
	typ, size, pos, err := d.header(off)
	if err != nil {
		return dst, false
	}
	switch typ {
	case typeString, typeBytes:
		return append(dst, d.buf[pos:pos+size]...), true
	case typeBool:
		if size > 1 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(size), 10), true
	case typeUint16, typeUint32, typeUint64:
		if size > uintSize(typ) {
			return dst, false
		}
		return strconv.AppendUint(dst, d.uint(pos, size), 10), true
	case typeInt32:
		if size > 4 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(int32(uint32(d.uint(pos, size)))), 10), true
	case typeUint128:
		if size > 16 {
			return dst, false
		}
		var b [16]byte
		copy(b[16-size:], d.buf[pos:pos+size])
		dst = append(dst, "0x"...)
		const hex = "0123456789abcdef"
		for _, c := range b {
			dst = append(dst, hex[c>>4], hex[c&15])
		}
		return dst, true
	case typeDouble:
		if size != 8 {
			return dst, false
		}
		return appendFixed5(dst, math.Float64frombits(d.uint(pos, 8))), true
	case typeFloat:
		if size != 4 {
			return dst, false
		}
		return appendFixed5(dst, float64(math.Float32frombits(uint32(d.uint(pos, 4))))), true
	}
	return dst, false
}

// uintSize is the most bytes an unsigned type may have.
func uintSize(typ int) int {
	switch typ {
	case typeUint16:
		return 2
	case typeUint32:
		return 4
	}
	return 8
}

// appendFixed5 appends f as nginx's ngx_sprintf "%.5f": a minus sign, the
// integer part, and 5 decimals rounded half up from the fraction (carried
// into the integer part when they round to 1).
func appendFixed5(dst []byte, f float64) []byte {
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	const scale = 100000
	ui := uint64(int64(f))
	frac := uint64((f-float64(ui))*scale + 0.5)
	if frac == scale {
		ui++
		frac = 0
	}
	dst = strconv.AppendUint(dst, ui, 10)
	dst = append(dst, '.')
	var digits [5]byte
	for i := 4; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(dst, digits[:]...)
}

func appendUint(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 10) }

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

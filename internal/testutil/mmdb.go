package testutil

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"os"
	"testing"
)

// MMDBMap is a map of a MaxMind DB record, its keys in the order written.
type MMDBMap []MMDBPair

// MMDBPair is one key of an MMDBMap and its value.
type MMDBPair struct {
	Key   string
	Value any
}

// The MaxMind DB types that Go's types do not say: write a uint16 as
// uint16, a uint32 as uint32, an int32 as int32, a uint64 as uint64, a
// double as float64, a float as float32, bytes as []byte, an array as []any.
type (
	// MMDBUint128 is a uint128, big-endian.
	MMDBUint128 [16]byte
)

// MMDBNetwork is a network of the search tree and the record it leads to.
// An IPv4 network in an IPv6 tree is written at ::a.b.c.d, where lookups of
// IPv4 addresses go.
type MMDBNetwork struct {
	Prefix netip.Prefix
	Value  any
}

// MMDBOptions are a database's metadata.
type MMDBOptions struct {
	IPVersion    int // 4 or 6; 0 is 6
	RecordSize   int // 24, 28 or 32; 0 is 24
	BuildEpoch   uint64
	DatabaseType string
}

// WriteMMDB writes a MaxMind DB file (format 2.0) with nets at path, for
// tests: the search tree (a later network inside an earlier one overrides it
// there), the data section and the metadata. Strings written twice are
// written once and pointed to.
func WriteMMDB(t testing.TB, path string, opts MMDBOptions, nets []MMDBNetwork) {
	t.Helper()
	if err := os.WriteFile(path, MMDB(opts, nets), 0o644); err != nil {
		t.Fatal(err)
	}
}

// MMDB returns the bytes WriteMMDB writes.
func MMDB(opts MMDBOptions, nets []MMDBNetwork) []byte {
	if opts.IPVersion == 0 {
		opts.IPVersion = 6
	}
	if opts.RecordSize == 0 {
		opts.RecordSize = 24
	}
	var data mmdbEncoder
	tree := &mmdbTree{nodes: [][2]mmdbRec{{}}}
	for _, n := range nets {
		off := len(data.buf)
		data.value(n.Value)
		tree.insert(n.Prefix, opts.IPVersion, off)
	}
	out := tree.encode(opts.RecordSize)
	out = append(out, make([]byte, 16)...)
	out = append(out, data.buf...)
	out = append(out, "\xab\xcd\xefMaxMind.com"...)
	var meta mmdbEncoder
	meta.value(MMDBMap{
		{"binary_format_major_version", uint16(2)},
		{"binary_format_minor_version", uint16(0)},
		{"build_epoch", opts.BuildEpoch},
		{"database_type", opts.DatabaseType},
		{"description", MMDBMap{{"en", "fulcrum test database"}}},
		{"ip_version", uint16(opts.IPVersion)},
		{"languages", []any{"en"}},
		{"node_count", uint32(len(tree.nodes))},
		{"record_size", uint16(opts.RecordSize)},
	})
	return append(out, meta.buf...)
}

// mmdbRec is a record of the tree being built: empty, a node, or data.
type mmdbRec struct {
	kind int // 0 empty, 1 node, 2 data
	v    int
}

type mmdbTree struct{ nodes [][2]mmdbRec }

// insert points the records under p at the data at off.
func (t *mmdbTree) insert(p netip.Prefix, ipVersion, off int) {
	addr, bits := p.Addr().AsSlice(), p.Bits()
	if p.Addr().Is4() && ipVersion == 6 {
		addr = append(make([]byte, 12), addr...)
		bits += 96
	}
	if bits == 0 {
		panic("testutil: a network of size 0 has no record")
	}
	node := 0
	for i := 0; i < bits; i++ {
		bit := int(addr[i/8]>>(7-i%8)) & 1
		if i == bits-1 {
			t.nodes[node][bit] = mmdbRec{kind: 2, v: off}
			return
		}
		r := t.nodes[node][bit]
		if r.kind != 1 {
			t.nodes = append(t.nodes, [2]mmdbRec{r, r}) // a wider network's data stays on both sides
			t.nodes[node][bit] = mmdbRec{kind: 1, v: len(t.nodes) - 1}
		}
		node = t.nodes[node][bit].v
	}
}

// encode writes the nodes with records of size bits.
func (t *mmdbTree) encode(size int) []byte {
	n := len(t.nodes)
	val := func(r mmdbRec) uint32 {
		switch r.kind {
		case 1:
			return uint32(r.v)
		case 2:
			return uint32(n + 16 + r.v)
		}
		return uint32(n)
	}
	var out []byte
	for _, node := range t.nodes {
		l, r := val(node[0]), val(node[1])
		switch size {
		case 24:
			out = append(out, byte(l>>16), byte(l>>8), byte(l), byte(r>>16), byte(r>>8), byte(r))
		case 28:
			out = append(out, byte(l>>16), byte(l>>8), byte(l), byte(l>>24)<<4|byte(r>>24)&0x0f, byte(r>>16), byte(r>>8), byte(r))
		case 32:
			out = binary.BigEndian.AppendUint32(out, l)
			out = binary.BigEndian.AppendUint32(out, r)
		default:
			panic(fmt.Sprintf("testutil: record size %d", size))
		}
	}
	return out
}

// mmdbEncoder writes the fields of one section.
type mmdbEncoder struct {
	buf     []byte
	strings map[string]int // where each string was written, for pointers
}

func (e *mmdbEncoder) ctrl(typ, size int) {
	var ext []byte
	t := typ
	if typ > 7 {
		t = 0
		ext = []byte{byte(typ - 7)}
	}
	var more []byte
	switch {
	case size < 29:
	case size < 285:
		more = []byte{byte(size - 29)}
		size = 29
	case size < 65821:
		more = binary.BigEndian.AppendUint16(nil, uint16(size-285))
		size = 30
	default:
		s := size - 65821
		more = []byte{byte(s >> 16), byte(s >> 8), byte(s)}
		size = 31
	}
	e.buf = append(e.buf, byte(t<<5|size))
	e.buf = append(e.buf, ext...)
	e.buf = append(e.buf, more...)
}

// pointer writes a pointer to off, in the smallest of its sizes.
func (e *mmdbEncoder) pointer(off int) {
	switch {
	case off < 2048:
		e.buf = append(e.buf, byte(1<<5|off>>8), byte(off))
	case off < 526336:
		v := off - 2048
		e.buf = append(e.buf, byte(1<<5|1<<3|v>>16), byte(v>>8), byte(v))
	case off < 134744064:
		v := off - 526336
		e.buf = append(e.buf, byte(1<<5|2<<3|v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		e.buf = append(e.buf, byte(1<<5|3<<3))
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(off))
	}
}

// uint writes v in as few bytes as it needs.
func (e *mmdbEncoder) uint(typ int, v uint64) {
	b := binary.BigEndian.AppendUint64(nil, v)
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	e.ctrl(typ, len(b))
	e.buf = append(e.buf, b...)
}

func (e *mmdbEncoder) value(v any) {
	switch v := v.(type) {
	case string:
		if off, ok := e.strings[v]; ok {
			e.pointer(off)
			return
		}
		if e.strings == nil {
			e.strings = map[string]int{}
		}
		e.strings[v] = len(e.buf)
		e.ctrl(2, len(v))
		e.buf = append(e.buf, v...)
	case float64:
		e.ctrl(3, 8)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(v))
	case []byte:
		e.ctrl(4, len(v))
		e.buf = append(e.buf, v...)
	case uint16:
		e.uint(5, uint64(v))
	case uint32:
		e.uint(6, uint64(v))
	case MMDBMap:
		e.ctrl(7, len(v))
		for _, p := range v {
			e.value(p.Key)
			e.value(p.Value)
		}
	case int32:
		e.ctrl(8, 4)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v))
	case uint64:
		e.uint(9, v)
	case MMDBUint128:
		b := v[:]
		for len(b) > 0 && b[0] == 0 {
			b = b[1:]
		}
		e.ctrl(10, len(b))
		e.buf = append(e.buf, b...)
	case []any:
		e.ctrl(11, len(v))
		for _, x := range v {
			e.value(x)
		}
	case bool:
		n := 0
		if v {
			n = 1
		}
		e.ctrl(14, n)
	case float32:
		e.ctrl(15, 4)
		e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(v))
	default:
		panic(fmt.Sprintf("testutil: no MaxMind DB type for %T", v))
	}
}

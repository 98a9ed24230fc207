package mp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"", -1},
		{"0", 0},
		{"1", 1000},
		{"1.5", 1500},
		{"1.23456789", 1234}, // digits past the third decimal are dropped
		{".5", 500},
		{"3.", 3000},
		{"0.0001", 0},
		{"007", 7000},
		{"1.2.3", -1},
		{"-1", -1},
		{"+1", -1},
		{"1e3", -1},
		{"12.3456x", -1}, // checked even where dropped
		{"9223372036854775", 9223372036854775000},
		{"9223372036854775.807", 9223372036854775807},
		{"9223372036854775.808", -1},
		{"9223372036854776", -1},
	}
	for _, tt := range tests {
		if got := ParseTime(tt.in); got != tt.want {
			t.Errorf("ParseTime(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRangeOf(t *testing.T) {
	tests := []struct {
		start, end int64
		want       Range
		ok         bool
	}{
		{-1, -1, Range{}, false},
		{-1, 0, Range{}, false}, // an end of 0 is no end
		{0, -1, Range{}, true},
		{1500, -1, Range{Start: 1500}, true},
		{-1, 2000, Range{Length: 2000}, true},
		{1000, 3000, Range{Start: 1000, Length: 2000}, true},
		{2000, 1000, Range{Start: 2000}, true}, // an end before start is no end
		{2000, 2000, Range{Start: 2000}, true},
	}
	for _, tt := range tests {
		got, ok := RangeOf(tt.start, tt.end)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RangeOf(%d, %d) = %+v, %v; want %+v, %v", tt.start, tt.end, got, ok, tt.want, tt.ok)
		}
	}
}

// layout is how synthetic lays out its file.
type layout struct {
	moovFirst, wide, co64 bool
}

// synthetic is an MP4 file of one video track of 10 samples of a second,
// one per chunk, sample k being 100 bytes of k, with sync samples 1 and 6.
// wide gives its atoms 64-bit headers.
func synthetic(l layout) []byte {
	u32 := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.BigEndian.AppendUint32(b, x)
		}
		return b
	}
	box := func(name string, parts ...[]byte) []byte {
		body := slices.Concat(parts...)
		if l.wide {
			h := append(u32(1), name...)
			return slices.Concat(binary.BigEndian.AppendUint64(h, uint64(16+len(body))), body)
		}
		return slices.Concat(u32(uint32(8+len(body))), []byte(name), body)
	}
	moov := func(dataOff uint32) []byte {
		chunks := u32(0, 10)
		if l.co64 {
			for k := range uint64(10) {
				chunks = binary.BigEndian.AppendUint64(chunks, uint64(dataOff)+100*k)
			}
		} else {
			for k := range uint32(10) {
				chunks = append(chunks, u32(dataOff+100*k)...)
			}
		}
		name := "stco"
		if l.co64 {
			name = "co64"
		}
		sizes := u32(0, 0, 10)
		for range 10 {
			sizes = append(sizes, u32(100)...)
		}
		stbl := box("stbl",
			box("stsd", u32(0, 1, 8), []byte("avc1")),
			box("stts", u32(0, 1, 10, 1000)),
			box("stss", u32(0, 2, 1, 6)),
			box("stsc", u32(0, 1, 1, 1, 1)),
			box("stsz", sizes),
			box(name, chunks))
		return box("moov",
			box("mvhd", u32(0, 0, 0, 1000, 10000), make([]byte, 80)),
			box("trak",
				box("tkhd", u32(0, 0, 0, 1, 0, 10000), make([]byte, 60)),
				box("mdia",
					box("mdhd", u32(0, 0, 0, 1000, 10000), make([]byte, 4)),
					box("hdlr", make([]byte, 25)),
					box("minf", box("vmhd", make([]byte, 12)), stbl))))
	}
	ftyp := box("ftyp", []byte("isom\x00\x00\x02\x00isom"))
	var data []byte
	for k := range 10 {
		data = append(data, bytes.Repeat([]byte{byte(k)}, 100)...)
	}
	mdat := box("mdat", data)
	header := len(mdat) - len(data)
	if l.moovFirst {
		size := len(moov(0))
		return slices.Concat(ftyp, moov(uint32(len(ftyp)+size+header)), mdat)
	}
	return slices.Concat(ftyp, mdat, moov(uint32(len(ftyp)+header)))
}

// atomData finds the data of the atom at path ("moov/trak/...") in b.
func atomData(b []byte, path string) []byte {
	name, rest, _ := strings.Cut(path, "/")
	for len(b) >= 8 {
		size, header := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		if size == 1 {
			size, header = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < header || size > uint64(len(b)) {
			return nil
		}
		if string(b[4:8]) == name {
			if rest == "" {
				return b[header:size]
			}
			return atomData(b[header:size], rest)
		}
		b = b[size:]
	}
	return nil
}

// table32 is a full atom's table of 32-bit values after its count.
func table32(d []byte, skip int) []uint32 {
	n := int(binary.BigEndian.Uint32(d[skip-4:]))
	v := make([]uint32, n)
	for i := range v {
		v[i] = binary.BigEndian.Uint32(d[skip+4*i:])
	}
	return v
}

// samplesOf reads the samples of a cut synthetic file through its new
// tables: the value of each sample's bytes, at its chunk's offset.
func samplesOf(t *testing.T, body []byte) []byte {
	t.Helper()
	stbl := atomData(body, "moov/trak/mdia/minf/stbl")
	sizes := table32(atomData(stbl, "stsz"), 12)
	var offsets []uint64
	if d := atomData(stbl, "co64"); d != nil {
		for i := range int(binary.BigEndian.Uint32(d[4:])) {
			offsets = append(offsets, binary.BigEndian.Uint64(d[8+8*i:]))
		}
	} else {
		for _, o := range table32(atomData(stbl, "stco"), 8) {
			offsets = append(offsets, uint64(o))
		}
	}
	if len(offsets) != len(sizes) {
		t.Fatalf("%d chunks for %d samples", len(offsets), len(sizes))
	}
	var got []byte
	for i, o := range offsets {
		s := body[o : o+uint64(sizes[i])]
		if bytes.Count(s, s[:1]) != len(s) {
			t.Fatalf("sample %d at %d is not one sample", i, o)
		}
		got = append(got, s[0])
	}
	return got
}

// cut runs Rewrite on b and reads the whole body.
func cut(t *testing.T, b []byte, rng Range, opt Options) []byte {
	t.Helper()
	body, err := Rewrite(bytes.NewReader(b), int64(len(b)), "x.mp4", rng, opt)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(io.NewSectionReader(body, 0, body.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCutSamples checks what a cut file holds, read through its own
// tables, for each layout: the samples from start to end, the key frame
// before start with an edit list under StartKeyFrame, the new durations.
func TestCutSamples(t *testing.T) {
	var layouts []layout
	for _, first := range []bool{false, true} {
		for _, wide := range []bool{false, true} {
			for _, co64 := range []bool{false, true} {
				layouts = append(layouts, layout{first, wide, co64})
			}
		}
	}
	tests := []struct {
		name     string
		rng      Range
		key      bool
		samples  []byte
		duration uint32 // mdhd's
		sync     []uint32
		elst     bool
	}{
		{"start", Range{Start: 2000}, false, []byte{2, 3, 4, 5, 6, 7, 8, 9}, 8000, []uint32{4}, false},
		{"start inside a sample", Range{Start: 2500}, false, []byte{2, 3, 4, 5, 6, 7, 8, 9}, 7500, []uint32{4}, false},
		// The end counts from the first sample sent (2), not from start.
		{"range", Range{Start: 2500, Length: 3500}, false, []byte{2, 3, 4}, 3500, nil, false},
		{"end", Range{Length: 5600}, false, []byte{0, 1, 2, 3, 4}, 5600, []uint32{1}, false},
		{"key frame", Range{Start: 2000}, true, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10000, []uint32{1, 6}, true},
		{"whole, moved first", Range{Length: 100000}, false, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10000, []uint32{1, 6}, false},
	}
	for _, l := range layouts {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := cut(t, synthetic(l), tt.rng, Options{StartKeyFrame: tt.key})
				if got := samplesOf(t, out); !bytes.Equal(got, tt.samples) {
					t.Errorf("%+v: samples %v, want %v", l, got, tt.samples)
				}
				if got := binary.BigEndian.Uint32(atomData(out, "moov/trak/mdia/mdhd")[16:]); got != tt.duration {
					t.Errorf("%+v: mdhd duration %d, want %d", l, got, tt.duration)
				}
				stbl := atomData(out, "moov/trak/mdia/minf/stbl")
				if got := table32(atomData(stbl, "stss"), 8); !slices.Equal(got, tt.sync) {
					t.Errorf("%+v: sync samples %v, want %v", l, got, tt.sync)
				}
				elst := atomData(out, "moov/trak/edts/elst")
				if (elst != nil) != tt.elst {
					t.Fatalf("%+v: elst %x", l, elst)
				}
				if elst != nil && binary.BigEndian.Uint64(elst[16:]) != 2000 {
					t.Errorf("%+v: elst media time %d, want 2000", l, binary.BigEndian.Uint64(elst[16:]))
				}
			})
		}
	}
}

// TestDeclined checks that a file whose moov atom comes first, asked for
// from 0 without an end, is left as it is, and one whose moov atom comes
// last is not.
func TestDeclined(t *testing.T) {
	first := synthetic(layout{moovFirst: true})
	if _, err := Rewrite(bytes.NewReader(first), int64(len(first)), "x", Range{}, Options{}); !errors.Is(err, ErrDeclined) {
		t.Errorf("moov first: %v, want ErrDeclined", err)
	}
	last := synthetic(layout{})
	out := cut(t, last, Range{}, Options{})
	if len(out) != len(last) || string(out[len("....ftypisom\x00\x00\x02\x00isom")+4:][:4]) != "moov" {
		t.Errorf("moov last: %d bytes (of %d), moov not after ftyp", len(out), len(last))
	}
}

// TestBufferSizes checks mp4_buffer_size and mp4_max_buffer_size: a moov
// atom larger than both is refused with nginx's message; one that fits in
// either is read.
func TestBufferSizes(t *testing.T) {
	b := synthetic(layout{})
	moov := len(atomData(b, "moov"))
	tests := []struct {
		buf, max int64
		err      string
	}{
		{0, 0, ""},
		{int64(moov), 16, ""},
		{64, int64(moov), ""},
		{64, int64(moov) - 1, `"x" mp4 moov atom is too large:` + strconv.Itoa(moov) + `, you may want to increase mp4_max_buffer_size`},
	}
	for _, tt := range tests {
		_, err := Rewrite(bytes.NewReader(b), int64(len(b)), "x", Range{Start: 1000}, Options{BufferSize: tt.buf, MaxBufferSize: tt.max})
		var me *Error
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("buffer %d, max %d: %v", tt.buf, tt.max, err)
		case tt.err != "" && (!errors.As(err, &me) || me.Msg != tt.err):
			t.Errorf("buffer %d, max %d: %v, want %s", tt.buf, tt.max, err, tt.err)
		}
	}
}

// hugeFile is a file of size bytes that reads as zeros but for head at
// offset 0 and tail at its end.
type hugeFile struct {
	size       int64
	head, tail []byte
}

func (h hugeFile) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(h.head)) {
		copy(p, h.head[off:])
	}
	if start := h.size - int64(len(h.tail)); off+int64(len(p)) > start {
		at := max(start-off, 0)
		copy(p[at:], h.tail[max(off-start, 0):])
	}
	n := int64(len(p))
	if off+n > h.size {
		return int(max(h.size-off, 0)), io.EOF
	}
	return int(n), nil
}

// TestHugeFiles checks that the memory Rewrite uses is bounded by its
// buffer sizes, not by what the file claims: a moov atom of 512 GiB, a
// terabyte mdat atom before a small moov atom.
func TestHugeFiles(t *testing.T) {
	moovHeader := func(size uint64) []byte {
		return binary.BigEndian.AppendUint64([]byte{0, 0, 0, 1, 'm', 'o', 'o', 'v'}, size)
	}
	mdatHeader := func(size uint64) []byte {
		return binary.BigEndian.AppendUint64([]byte{0, 0, 0, 1, 'm', 'd', 'a', 't'}, size)
	}
	const tb = 1 << 40
	small := synthetic(layout{})
	moov := small[bytes.Index(small, []byte("moov"))-4:]
	tests := []struct {
		name string
		f    hugeFile
		err  string
	}{
		{"moov of 512 GiB", hugeFile{size: tb, head: moovHeader(tb / 2)}, `"x" mp4 moov atom is too large:549755813872, you may want to increase mp4_max_buffer_size`},
		{"mdat of a terabyte", hugeFile{size: tb, head: mdatHeader(tb - uint64(len(moov))), tail: moov}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			body, err := Rewrite(tt.f, tt.f.size, "x", Range{Start: 1000}, Options{})
			runtime.ReadMemStats(&after)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("%v", err)
			case tt.err == "" && body.Size() < tb-int64(len(moov))-200:
				t.Errorf("body of %d bytes", body.Size())
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Errorf("%v, want %s", err, tt.err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("allocated %d bytes", n)
			}
		})
	}
}

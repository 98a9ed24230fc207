package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// moovExcess is nginx's NGX_HTTP_MP4_MOOV_BUFFER_EXCESS: the room read past
// a moov atom that comes before the mdat atom, to find the mdat header.
const moovExcess = 4 * 1024

// errSkip is a handler's NGX_DECLINED inside a trak: the track ends before
// start and is left out.
var errSkip = errors.New("mp4: track ends before start")

// level is a container whose children readAtoms walks.
type level int

const (
	levelFile level = iota
	levelMoov
	levelTrak
	levelMdia
	levelMinf
	levelStbl
)

// parser is one Rewrite: nginx's ngx_http_mp4_file_t.
type parser struct {
	f    io.ReaderAt
	end  int64 // the file's size
	name string
	rng  Range
	opt  Options

	// off is the file offset being read (mp4->offset). win is the buffer's
	// valid part (buffer_start to buffer_end), pos the index in win that
	// matches off (buffer_pos) while off is inside it, len(win) once off
	// went past it. bufSize is how much the next read reads
	// (mp4->buffer_size, which shrinks near the end of the file).
	off     int64
	win     []byte
	pos     int
	bufSize int64
	buf     []byte // the allocation reads reuse

	timescale uint32 // the movie's (mvhd)
	ftyp      []byte // the ftyp atom, nil without one
	moovSeen  bool
	mvhd      []byte // the new mvhd atom, nil without one
	traks     []*trak
	mdatSeen  bool
	mdatEnd   int64 // the file offset where the mdat data ends
}

// read makes sure size bytes from off are in the window, reading a new
// window of bufSize bytes at off when they are not (ngx_http_mp4_read).
func (p *parser) read(size int64) error {
	if int64(p.pos)+size <= int64(len(p.win)) {
		return nil
	}
	if p.off+p.bufSize > p.end {
		p.bufSize = p.end - p.off
	}
	if p.bufSize < size {
		return p.errorf("%s mp4 file truncated")
	}
	if int64(cap(p.buf)) < p.bufSize {
		p.buf = make([]byte, p.bufSize)
	}
	buf := p.buf[:p.bufSize]
	n, err := p.f.ReadAt(buf, p.off)
	if n != len(buf) {
		if err == nil || err == io.EOF {
			return &Error{Msg: fmt.Sprintf("pread() read only %d of %d from %s", n, len(buf), p.quoted()), Read: true}
		}
		return &Error{Msg: fmt.Sprintf("pread() %s failed (%v)", p.quoted(), err), Read: true}
	}
	p.win, p.pos = buf, 0
	return nil
}

// next moves past n bytes (ngx_mp4_atom_next).
func (p *parser) next(n uint64) {
	if n > uint64(len(p.win)-p.pos) {
		p.pos = len(p.win)
	} else {
		p.pos += int(n)
	}
	p.off += int64(n)
}

// data is the n bytes at the position: the data of the atom whose header
// was just passed. nginx reads them from its buffer unchecked; they are
// always there for a file whose atoms nest properly, and an Error
// otherwise.
func (p *parser) data(n uint64) ([]byte, error) {
	if n > uint64(len(p.win)-p.pos) {
		return nil, p.errorf("%s mp4 atom data is outside the buffer")
	}
	return p.win[p.pos : p.pos+int(n)], nil
}

// readAtoms walks the atoms of size bytes from off, calling the handler of
// those the level knows and skipping the others (ngx_http_mp4_read_atom).
func (p *parser) readAtoms(lv level, size uint64) error {
	end := p.off + int64(size)
	for p.off < end {
		if err := p.read(4); err != nil {
			return err
		}
		atomSize := uint64(binary.BigEndian.Uint32(p.win[p.pos:]))
		header := uint64(8)
		if atomSize == 0 {
			return nil // "mp4 atom end"
		}
		if atomSize < 8 {
			if atomSize != 1 {
				return p.errorf("%s mp4 atom is too small:%d", atomSize)
			}
			if err := p.read(16); err != nil {
				return err
			}
			atomSize = binary.BigEndian.Uint64(p.win[p.pos+8:])
			header = 16
			if atomSize < 16 {
				return p.errorf("%s mp4 atom is too small:%d", atomSize)
			}
		}
		if err := p.read(8); err != nil {
			return err
		}
		name := string(p.win[p.pos+4 : p.pos+8])
		if atomSize > uint64(math.MaxInt64-p.off) || p.off+int64(atomSize) > end {
			return p.errorf("%s mp4 atom too large:%d", atomSize)
		}
		if h := p.handler(lv, name); h != nil {
			p.next(header)
			if err := h(atomSize - header); err != nil {
				return err
			}
			continue
		}
		p.next(atomSize)
	}
	return nil
}

// handler is the function for an atom named name in a container of level
// lv, nil for the atoms nginx skips.
func (p *parser) handler(lv level, name string) func(uint64) error {
	switch lv {
	case levelFile:
		switch name {
		case "ftyp":
			return p.readFtyp
		case "moov":
			return p.readMoov
		case "mdat":
			return p.readMdat
		}
	case levelMoov:
		switch name {
		case "mvhd":
			return p.readMvhd
		case "trak":
			return p.readTrak
		case "cmov":
			return func(uint64) error { return p.errorf("%s mp4 compressed moov atom (cmov) is not supported") }
		}
	case levelTrak:
		switch name {
		case "tkhd":
			return p.readTkhd
		case "mdia":
			return p.container(name, slotMdia, levelMdia)
		}
	case levelMdia:
		switch name {
		case "mdhd":
			return p.readMdhd
		case "hdlr":
			return p.whole(name, slotHdlr)
		case "minf":
			return p.container(name, slotMinf, levelMinf)
		}
	case levelMinf:
		switch name {
		case "vmhd", "smhd":
			return p.readMediaHeader(name)
		case "dinf":
			return p.whole(name, slotDinf)
		case "stbl":
			return p.container(name, slotStbl, levelStbl)
		}
	case levelStbl:
		return p.stblHandler(name)
	}
	return nil
}

// stblHandler is handler for the children of stbl.
func (p *parser) stblHandler(name string) func(uint64) error {
	switch name {
	case "stsd":
		return p.readStsd
	case "stts":
		return p.table(name, slotStts, 8, func(t *trak) *table { return &t.stts })
	case "stss":
		return p.table(name, slotStss, 4, func(t *trak) *table { return &t.stss })
	case "ctts":
		return p.table(name, slotCtts, 8, func(t *trak) *table { return &t.ctts })
	case "stsc":
		return p.table(name, slotStsc, 12, func(t *trak) *table { return &t.stsc })
	case "stsz":
		return p.readStsz
	case "stco":
		return p.table(name, slotStco, 4, func(t *trak) *table { return &t.stco })
	case "co64":
		return p.table(name, slotCo64, 8, func(t *trak) *table { return &t.co64 })
	}
	return nil
}

// atom is a new atom with an 8-byte header: size, name, then a copy of data.
func atom(name string, data []byte) []byte {
	b := make([]byte, 8+len(data))
	binary.BigEndian.PutUint32(b, uint32(8+len(data)))
	copy(b[4:8], name)
	copy(b[8:], data)
	return b
}

// header is a container's 8-byte header, its size set later.
func header(name string) []byte {
	b := make([]byte, 8)
	copy(b[4:], name)
	return b
}

func (p *parser) readFtyp(size uint64) error {
	if size > 1024 || size > uint64(len(p.win)-p.pos) {
		return p.errorf("%s mp4 ftyp atom is too large:%d", size)
	}
	if p.ftyp != nil {
		return p.errorf("duplicate mp4 ftyp atom in %s")
	}
	p.ftyp = atom("ftyp", p.win[p.pos:p.pos+int(size)])
	p.next(size)
	return nil
}

func (p *parser) readMoov(size uint64) error {
	noMdat := !p.mdatSeen
	if noMdat && p.rng.Start == 0 && p.rng.Length == 0 {
		// The moov atom comes first and the whole file is asked for.
		return ErrDeclined
	}
	if p.moovSeen {
		return p.errorf("duplicate mp4 moov atom in %s")
	}
	if size > uint64(p.bufSize) {
		if size > uint64(p.opt.MaxBufferSize) {
			return p.errorf("%s mp4 moov atom is too large:%d, you may want to increase mp4_max_buffer_size", size)
		}
		p.win, p.pos, p.buf = nil, 0, nil
		p.bufSize = int64(size)
		if noMdat {
			p.bufSize += moovExcess
		}
	}
	if err := p.read(int64(size)); err != nil {
		return err
	}
	p.moovSeen = true
	err := p.readAtoms(levelMoov, size)
	if noMdat {
		// The rest is read in small windows after the moov atom.
		p.bufSize = moovExcess
		if p.pos+moovExcess > len(p.win) {
			p.win, p.pos = nil, 0
		}
	} else {
		p.off = p.end // nothing after the moov atom matters
	}
	return err
}

func (p *parser) readMdat(size uint64) error {
	if p.mdatSeen {
		return p.errorf("duplicate mp4 mdat atom in %s")
	}
	p.mdatSeen = true
	p.mdatEnd = p.off + int64(size)
	if len(p.traks) > 0 {
		p.off = p.end // the moov atom was read: done
		return nil
	}
	p.next(size)
	return nil
}

// versioned is where a header atom (mvhd, tkhd, mdhd) keeps its times, in
// its data: version 0 has 32-bit times, any other version a 64-bit
// duration. min0 and min1 are the data sizes each version needs; what
// names the atom in the messages.
type versioned struct {
	what           string
	min0, min1     uint64
	scale0, scale1 int // the timescale's offset, -1 for none
	dur0, dur1     int // the duration's offset
}

var (
	mvhdLayout = versioned{what: "mvhd", min0: 100, min1: 112, scale0: 12, scale1: 20, dur0: 16, dur1: 24}
	tkhdLayout = versioned{what: "tkhd", min0: 84, min1: 96, scale0: -1, scale1: -1, dur0: 20, dur1: 28}
	mdhdLayout = versioned{what: "mdhd", min0: 24, min1: 36, scale0: 12, scale1: 20, dur0: 16, dur1: 24}
)

// times reads the timescale (0 without one) and duration of a header atom's
// data d, checking its size as nginx does.
func (p *parser) times(l versioned, d []byte) (scale uint32, dur uint64, err error) {
	if uint64(len(d)) < l.min0 {
		return 0, 0, p.errorf("%s mp4 " + l.what + " atom too small")
	}
	if d[0] == 0 {
		if l.scale0 >= 0 {
			scale = binary.BigEndian.Uint32(d[l.scale0:])
		}
		return scale, uint64(binary.BigEndian.Uint32(d[l.dur0:])), nil
	}
	if uint64(len(d)) < l.min1 {
		return 0, 0, p.errorf("%s mp4 " + l.what + " atom too small")
	}
	if l.scale1 >= 0 {
		scale = binary.BigEndian.Uint32(d[l.scale1:])
	}
	return scale, binary.BigEndian.Uint64(d[l.dur1:]), nil
}

// setDuration writes dur into a copy of a header atom (with its 8-byte
// header) as its version stores it.
func setDuration(l versioned, a []byte, dur uint64) {
	if a[8] == 0 {
		binary.BigEndian.PutUint32(a[8+l.dur0:], uint32(dur))
		return
	}
	binary.BigEndian.PutUint64(a[8+l.dur1:], dur)
}

// cut is the duration left of dur (in units of scale per second) from start
// for length, nginx's arithmetic for mvhd, tkhd and mdhd. ok is false when
// start is past dur (or at it, with strict).
func (p *parser) cut(dur uint64, scale uint32, strict bool) (uint64, bool) {
	startTime := p.rng.Start * uint64(scale) / 1000
	if dur < startTime || strict && dur == startTime {
		return 0, false
	}
	dur -= startTime
	if p.rng.Length != 0 {
		dur = min(dur, p.rng.Length*uint64(scale)/1000)
	}
	return dur, true
}

func (p *parser) readMvhd(size uint64) error {
	if p.mvhd != nil {
		return p.errorf("duplicate mp4 mvhd atom in %s")
	}
	d, err := p.data(size)
	if err != nil {
		return err
	}
	scale, dur, err := p.times(mvhdLayout, d)
	if err != nil {
		return err
	}
	p.timescale = scale
	dur, ok := p.cut(dur, scale, false)
	if !ok {
		return p.errorf("%s mp4 start time exceeds file duration")
	}
	p.mvhd = atom("mvhd", d)
	setDuration(mvhdLayout, p.mvhd, dur)
	p.next(size)
	return nil
}

func (p *parser) readTrak(size uint64) error {
	t := &trak{}
	t.out[slotTrak] = header("trak")
	p.traks = append(p.traks, t)
	endPos, endOff := len(p.win), p.off+int64(size)
	if size <= uint64(len(p.win)-p.pos) {
		endPos = p.pos + int(size)
	}
	err := p.readAtoms(levelTrak, size)
	if errors.Is(err, errSkip) {
		p.traks = p.traks[:len(p.traks)-1]
		p.pos, p.off = endPos, endOff
		return nil
	}
	return err
}

// last is the trak being read.
func (p *parser) last() *trak { return p.traks[len(p.traks)-1] }

func (p *parser) readTkhd(size uint64) error {
	d, err := p.data(size)
	if err != nil {
		return err
	}
	_, dur, err := p.times(tkhdLayout, d)
	if err != nil {
		return err
	}
	dur, ok := p.cut(dur, p.timescale, true)
	if !ok {
		return errSkip
	}
	t := p.last()
	if t.out[slotTkhd] != nil {
		return p.errorf("duplicate mp4 tkhd atom in %s")
	}
	t.tkhdSize, t.movieDuration = 8+size, dur
	t.out[slotTkhd] = atom("tkhd", d)
	setDuration(tkhdLayout, t.out[slotTkhd], dur)
	p.next(size)
	return nil
}

func (p *parser) readMdhd(size uint64) error {
	d, err := p.data(size)
	if err != nil {
		return err
	}
	scale, dur, err := p.times(mdhdLayout, d)
	if err != nil {
		return err
	}
	dur, ok := p.cut(dur, scale, true)
	if !ok {
		return errSkip
	}
	t := p.last()
	if t.out[slotMdhd] != nil {
		return p.errorf("duplicate mp4 mdhd atom in %s")
	}
	t.mdhdSize, t.timescale, t.duration = 8+size, scale, dur
	t.out[slotMdhd] = atom("mdhd", d) // its duration is set by update
	p.next(size)
	return nil
}

// container is the handler of a container atom nginx rebuilds (mdia, minf,
// stbl): its header goes to slot, its children are read at lv.
func (p *parser) container(name string, slot int, lv level) func(uint64) error {
	return func(size uint64) error {
		t := p.last()
		if t.out[slot] != nil {
			return p.errorf("duplicate mp4 " + name + " atom in %s")
		}
		t.out[slot] = header(name)
		return p.readAtoms(lv, size)
	}
}

// whole is the handler of an atom kept as it is (hdlr, dinf), which counts
// in its trak's size.
func (p *parser) whole(name string, slot int) func(uint64) error {
	return func(size uint64) error {
		d, err := p.data(size)
		if err != nil {
			return err
		}
		t := p.last()
		if t.out[slot] != nil {
			return p.errorf("duplicate mp4 " + name + " atom in %s")
		}
		t.out[slot] = atom(name, d)
		if slot == slotHdlr {
			t.hdlrSize = 8 + size
		} else {
			t.dinfSize += 8 + size
		}
		p.next(size)
		return nil
	}
}

// readMediaHeader is the handler of vmhd and smhd, of which a trak has one.
func (p *parser) readMediaHeader(name string) func(uint64) error {
	return func(size uint64) error {
		d, err := p.data(size)
		if err != nil {
			return err
		}
		t := p.last()
		if t.out[slotVmhd] != nil || t.out[slotSmhd] != nil {
			return p.errorf("duplicate mp4 vmhd/smhd atom in %s")
		}
		if name == "vmhd" {
			t.out[slotVmhd] = atom(name, d)
			t.vmhdSize += 8 + size
		} else {
			t.out[slotSmhd] = atom(name, d)
			t.smhdSize += 8 + size
		}
		p.next(size)
		return nil
	}
}

func (p *parser) readStsd(size uint64) error {
	d, err := p.data(size)
	if err != nil {
		return err
	}
	if size < 16 {
		return p.errorf("%s mp4 stsd atom too small")
	}
	t := p.last()
	if t.out[slotStsd] != nil {
		return p.errorf("duplicate mp4 stsd atom in %s")
	}
	t.out[slotStsd] = atom("stsd", d)
	t.size += 8 + size
	p.next(size)
	return nil
}

// table is the handler of a sample table atom (stts, stss, ctts, stsc,
// stco, co64): a version and flags, an entry count, then entries of
// entrySize bytes. Its 16-byte header goes to slot, the entries (copied)
// to the trak's table that field returns. nginx checks stss and ctts for a
// duplicate before their size, the others after.
func (p *parser) table(name string, slot, entrySize int, field func(*trak) *table) func(uint64) error {
	return func(size uint64) error {
		d, err := p.data(size)
		if err != nil {
			return err
		}
		if size < 8 {
			return p.errorf("%s mp4 " + name + " atom too small")
		}
		entries := binary.BigEndian.Uint32(d[4:])
		t := p.last()
		dupFirst := name == "stss" || name == "ctts"
		if dupFirst {
			if err := p.duplicate(t, name, slot); err != nil {
				return err
			}
		}
		if 8+uint64(entries)*uint64(entrySize) > size {
			return p.errorf("%s mp4 " + name + " atom too small")
		}
		if !dupFirst {
			if err := p.duplicate(t, name, slot); err != nil {
				return err
			}
		}
		h := make([]byte, 16)
		copy(h[4:], name)
		copy(h[8:], d[:8])
		t.out[slot] = h
		n := int(entries) * entrySize
		tab := field(t)
		*tab = table{b: append([]byte(nil), d[8:8+n]...), last: n, entries: entries, set: true}
		if slot == slotStco || slot == slotCo64 {
			t.chunks = entries
		}
		p.next(size)
		return nil
	}
}

// duplicate refuses a second sample table atom of a kind in a trak (stco
// and co64 count as one kind).
func (p *parser) duplicate(t *trak, name string, slot int) error {
	switch name {
	case "stco", "co64":
		if t.out[slotStco] != nil || t.out[slotCo64] != nil {
			return p.errorf("duplicate mp4 stco/co64 atom in %s")
		}
	default:
		if t.out[slot] != nil {
			return p.errorf("duplicate mp4 " + name + " atom in %s")
		}
	}
	return nil
}

func (p *parser) readStsz(size uint64) error {
	d, err := p.data(size)
	if err != nil {
		return err
	}
	if size < 12 {
		return p.errorf("%s mp4 stsz atom too small")
	}
	uniform, entries := binary.BigEndian.Uint32(d[4:]), binary.BigEndian.Uint32(d[8:])
	t := p.last()
	if t.out[slotStsz] != nil {
		return p.errorf("duplicate mp4 stsz atom in %s")
	}
	t.stszEntries = entries
	h := make([]byte, 20)
	copy(h[4:], "stsz")
	copy(h[8:], d[:12])
	t.out[slotStsz] = h
	if uniform == 0 {
		if 12+uint64(entries)*4 > size {
			return p.errorf("%s mp4 stsz atom too small")
		}
		n := int(entries) * 4
		t.stsz = table{b: append([]byte(nil), d[12:12+n]...), last: n, entries: entries, set: true}
	} else {
		// All samples have one size: nginx sends the atom's first 20
		// bytes unchanged (its entry count too) and counts its whole size.
		binary.BigEndian.PutUint32(h, uint32(8+size))
		t.size += 8 + size
	}
	p.next(size)
	return nil
}

package mp4

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The parts of a trak in the order nginx sends them (its out[] chain).
const (
	slotTrak = iota
	slotTkhd
	slotEdts
	slotElst
	slotMdia
	slotMdhd
	slotHdlr
	slotMinf
	slotVmhd
	slotSmhd
	slotDinf
	slotStbl
	slotStsd
	slotStts
	slotSttsData
	slotStss
	slotStssData
	slotCtts
	slotCttsData
	slotStsc
	slotStscStart
	slotStscData
	slotStscEnd
	slotStsz
	slotStszData
	slotStco
	slotStcoData
	slotCo64
	slotCo64Data
	slots
)

// table is a sample table's entries (a copy, changed in place as nginx
// changes its buffer): b[pos:last] are those kept, entries is the count
// nginx writes in the atom.
type table struct {
	b         []byte
	pos, last int
	entries   uint32
	set       bool // the atom was found
}

// trak is one track being cut: nginx's ngx_http_mp4_trak_t.
type trak struct {
	// out are the atoms and headers to send, by slot; the data slots are
	// filled from the tables when the moov atom is put together.
	out                                [slots][]byte
	stts, stss, ctts, stsc, stsz       table
	stco, co64                         table
	stscStart, stscEnd                 []byte // stsc entries nginx adds
	timescale, stszEntries, chunks     uint32
	startSample, endSample             uint64
	startChunk, endChunk               uint64
	startChunkSamples, endChunkSamples uint64
	startSamplesSize, endSamplesSize   uint64 // the bytes of those samples
	duration, prefix, movieDuration    uint64
	startOffset, endOffset             int64
	tkhdSize, mdhdSize, hdlrSize       uint64
	vmhdSize, smhdSize, dinfSize, size uint64
	dropStss                           bool // no sync sample left: the table goes, its header stays
}

func be32(b []byte, i int) uint32     { return binary.BigEndian.Uint32(b[i:]) }
func put32(b []byte, i int, v uint32) { binary.BigEndian.PutUint32(b[i:], v) }

// corrupt is the Error for tables that contradict each other so that nginx
// would read outside one.
func (p *parser) corrupt(what string) error {
	return p.errorf("%s mp4 " + what + " atom does not match the other sample tables")
}

// process cuts every trak and puts the new file together
// (ngx_http_mp4_process).
func (p *parser) process() (*Body, error) {
	if len(p.traks) == 0 {
		return nil, p.errorf("no mp4 trak atoms were found in %s")
	}
	if !p.mdatSeen {
		return nil, p.errorf("no mp4 mdat atom was found in %s")
	}
	moovSize := uint64(len(p.mvhd))
	startOff, endOff := p.end, int64(0)
	for _, t := range p.traks {
		if err := p.updateTrak(t); err != nil {
			return nil, err
		}
		moovSize += t.size
		startOff, endOff = min(startOff, t.startOffset), max(endOff, t.endOffset)
	}
	if endOff <= startOff {
		return nil, p.errorf("no data between start time and end time in %s")
	}
	moovSize += 8
	if startOff > p.mdatEnd {
		return nil, p.errorf("start time is out mp4 mdat atom in %s")
	}
	mdat := mdatHeader(uint64(endOff - startOff))
	adjustment := int64(len(p.ftyp)) + int64(moovSize) + int64(len(mdat)) - startOff
	for _, t := range p.traks {
		adjust(t, adjustment)
	}
	head := make([]byte, 0, uint64(len(p.ftyp))+moovSize+uint64(len(mdat)))
	head = append(head, p.ftyp...)
	head = binary.BigEndian.AppendUint32(head, uint32(moovSize))
	head = append(head, "moov"...)
	head = append(head, p.mvhd...)
	for _, t := range p.traks {
		head = t.appendTo(head)
	}
	if uint64(len(head)) != uint64(len(p.ftyp))+moovSize {
		// Only atoms nginx sends in part (an stsz with a sample size and
		// a table) get here; nginx would send fewer bytes than it counts.
		return nil, p.errorf("%s mp4 moov atom does not add up after cutting")
	}
	head = append(head, mdat...)
	return &Body{Head: head, From: startOff, To: endOff, file: p.f}, nil
}

// mdatHeader is the new mdat atom's header for size bytes of data: 8 bytes,
// or 16 (a 64-bit size) when the size does not fit in 32 bits.
func mdatHeader(size uint64) []byte {
	if size > math.MaxUint32-8 {
		h := make([]byte, 16)
		put32(h, 0, 1)
		copy(h[4:], "mdat")
		binary.BigEndian.PutUint64(h[8:], 16+size)
		return h
	}
	h := make([]byte, 8)
	put32(h, 0, uint32(8+size))
	copy(h[4:], "mdat")
	return h
}

// adjust moves a trak's chunk offsets by adjustment, the distance the kept
// data moves in the new file (32-bit offsets wrap as nginx's do).
func adjust(t *trak, adjustment int64) {
	if t.co64.set {
		d := &t.co64
		for i := d.pos; i < d.last; i += 8 {
			binary.BigEndian.PutUint64(d.b[i:], binary.BigEndian.Uint64(d.b[i:])+uint64(adjustment))
		}
		return
	}
	d := &t.stco
	for i := d.pos; i < d.last; i += 4 {
		put32(d.b, i, be32(d.b, i)+uint32(int32(adjustment)))
	}
}

// appendTo appends the trak's atoms in nginx's order.
func (t *trak) appendTo(b []byte) []byte {
	t.out[slotSttsData] = t.stts.kept()
	if t.stss.set && !t.dropStss {
		t.out[slotStssData] = t.stss.kept()
	}
	if t.ctts.set {
		t.out[slotCttsData] = t.ctts.kept()
	}
	t.out[slotStscStart], t.out[slotStscData], t.out[slotStscEnd] = t.stscStart, t.stsc.kept(), t.stscEnd
	if t.stsz.set {
		t.out[slotStszData] = t.stsz.kept()
	}
	if t.co64.set {
		t.out[slotCo64Data] = t.co64.kept()
	} else {
		t.out[slotStcoData] = t.stco.kept()
	}
	for _, part := range t.out {
		b = append(b, part...)
	}
	return b
}

// kept is the table's entries that are kept.
func (d *table) kept() []byte { return d.b[d.pos:d.last] }

// updateTrak cuts the trak's tables and sets its atoms' sizes, in nginx's
// order (the stts first: it finds the samples the others cut at).
func (p *parser) updateTrak(t *trak) error {
	for _, update := range []func(*trak) error{p.updateStts, p.updateStss, p.updateCtts, p.updateStsc, p.updateStsz} {
		if err := update(t); err != nil {
			return err
		}
	}
	var err error
	if t.co64.set {
		err = p.updateChunks(t, &t.co64, "co64", 8)
	} else {
		err = p.updateChunks(t, &t.stco, "stco", 4)
	}
	if err != nil {
		return err
	}
	t.size += 8
	t.setSize(slotStbl)
	t.size += 8 + t.vmhdSize + t.smhdSize + t.dinfSize
	t.setSize(slotMinf)
	if t.out[slotMdhd] != nil {
		setDuration(mdhdLayout, t.out[slotMdhd], t.duration)
		t.size += t.mdhdSize
	}
	t.size += t.hdlrSize + 8
	t.setSize(slotMdia)
	t.size += t.tkhdSize
	t.addEditList()
	t.size += 8
	t.setSize(slotTrak)
	return nil
}

// setSize writes the trak's size so far into the header in slot (a
// container's size is all that was counted before it).
func (t *trak) setSize(slot int) {
	if t.out[slot] != nil {
		put32(t.out[slot], 0, uint32(t.size))
	}
}

// setTableHeader writes a sample table atom's size and entry count.
func (t *trak) setTableHeader(slot int, size uint64, entries uint32) {
	t.size += size
	put32(t.out[slot], 0, uint32(size))
	put32(t.out[slot], len(t.out[slot])-4, entries)
}

// addEditList adds an edts atom with one elst entry when the trak starts
// at a key frame before start: the entry skips the samples before start
// (ngx_http_mp4_update_edts_atom).
func (t *trak) addEditList() {
	if t.prefix == 0 {
		return
	}
	edts := make([]byte, 8)
	put32(edts, 0, 8+36)
	copy(edts[4:], "edts")
	elst := make([]byte, 36)
	put32(elst, 0, 36)
	copy(elst[4:], "elst")
	elst[8] = 1 // version 1: 64-bit times
	put32(elst, 12, 1)
	binary.BigEndian.PutUint64(elst[16:], t.movieDuration)
	binary.BigEndian.PutUint64(elst[24:], t.prefix)
	binary.BigEndian.PutUint16(elst[32:], 1)
	t.out[slotEdts], t.out[slotElst] = edts, elst
	t.size += 8 + 36
}

func (p *parser) updateStts(t *trak) error {
	if !t.stts.set {
		return p.errorf("no mp4 stts atoms were found in %s")
	}
	if err := p.cropStts(t, true); err != nil {
		return err
	}
	if err := p.cropStts(t, false); err != nil {
		return err
	}
	t.setTableHeader(slotStts, uint64(16+t.stts.last-t.stts.pos), t.stts.entries)
	return nil
}

// cropStts finds the sample at start (or, with start false, at the end)
// in the time-to-sample table and cuts the table there
// (ngx_http_mp4_crop_stts_data).
func (p *parser) cropStts(t *trak, start bool) error {
	var ms uint64
	switch {
	case start:
		ms = p.rng.Start
	case p.rng.Length != 0:
		ms = p.rng.Length
	default:
		return nil
	}
	d := &t.stts
	startTime := ms*uint64(t.timescale)/1000 + t.prefix
	entries := uint64(d.entries)
	var startSample uint64
	var count, duration, rest uint32
	i, found := d.pos, false
	for ; i < d.last; i += 8 {
		count, duration = be32(d.b, i), be32(d.b, i+4)
		if startTime < uint64(count)*uint64(duration) {
			startSample += startTime / uint64(duration)
			rest = uint32(startTime / uint64(duration))
			found = true
			break
		}
		startSample += uint64(count)
		startTime -= uint64(count) * uint64(duration)
		entries--
	}
	switch {
	case !found && start:
		return p.errorf("start time is out mp4 stts samples in %s")
	case !found:
		t.endSample = t.startSample + startSample
		return nil
	case !start:
		put32(d.b, i, rest)
		d.last = i + 8
		d.entries -= uint32(entries - 1)
		t.endSample = t.startSample + startSample
		return nil
	}
	keyPrefix := p.seekKeyFrame(t, uint32(startSample))
	startSample -= uint64(keyPrefix)
	for rest < keyPrefix {
		// The key frame is in an earlier entry: the samples skipped
		// count in the prefix (32-bit products, as in nginx).
		t.prefix += uint64(rest * duration)
		keyPrefix -= rest
		i -= 8
		entries++
		if i < 0 {
			return p.corrupt("stss")
		}
		count, duration = be32(d.b, i), be32(d.b, i+4)
		rest = count
	}
	t.prefix += uint64(keyPrefix * duration)
	t.duration += t.prefix
	rest -= keyPrefix
	put32(d.b, i, count-rest)
	d.pos = i
	d.entries = uint32(entries)
	t.startSample = startSample
	return nil
}

// seekKeyFrame is how many samples before startSample (0-based) the last
// sync sample at or before it is, under mp4_start_key_frame.
func (p *parser) seekKeyFrame(t *trak, startSample uint32) uint32 {
	if !p.opt.StartKeyFrame || !t.stss.set {
		return 0
	}
	startSample++ // sync samples count from 1
	var keyPrefix uint32
	for i := t.stss.pos; i < t.stss.last; i += 4 {
		sample := be32(t.stss.b, i)
		if sample > startSample {
			break
		}
		keyPrefix = startSample - sample
	}
	return keyPrefix
}

func (p *parser) updateStss(t *trak) error {
	d := &t.stss
	if !d.set {
		return nil
	}
	p.cropStss(t, true)
	p.cropStss(t, false)
	if d.entries != 0 {
		for i := d.pos; i < d.last; i += 4 {
			put32(d.b, i, be32(d.b, i)-uint32(t.startSample))
		}
	} else {
		t.dropStss = true
	}
	t.setTableHeader(slotStss, uint64(16+d.last-d.pos), d.entries)
	return nil
}

// cropStss keeps the sync samples from the start sample to the end sample
// (ngx_http_mp4_crop_stss_data).
func (p *parser) cropStss(t *trak, start bool) {
	var sample uint32
	switch {
	case start:
		sample = uint32(t.startSample + 1)
	case p.rng.Length != 0:
		sample = uint32(t.endSample + 1)
	default:
		return
	}
	d := &t.stss
	entries := d.entries
	i := d.pos
	for ; i < d.last && be32(d.b, i) < sample; i += 4 {
		entries--
	}
	if start {
		d.pos, d.entries = i, entries
	} else {
		d.last = i
		d.entries -= entries
	}
}

func (p *parser) updateCtts(t *trak) error {
	d := &t.ctts
	if !d.set {
		return nil
	}
	p.cropCtts(t, true)
	p.cropCtts(t, false)
	if d.entries == 0 {
		t.out[slotCtts], d.set = nil, false
		return nil
	}
	t.setTableHeader(slotCtts, uint64(16+d.last-d.pos), d.entries)
	return nil
}

// cropCtts keeps the composition offsets from the start sample to the end
// sample (ngx_http_mp4_crop_ctts_data).
func (p *parser) cropCtts(t *trak, start bool) {
	var sample uint32 // counted from 1
	switch {
	case start:
		sample = uint32(t.startSample + 1)
	case p.rng.Length != 0:
		sample = uint32(t.endSample - t.startSample + 1)
	default:
		return
	}
	d := &t.ctts
	entries := d.entries
	for i := d.pos; i < d.last; i += 8 {
		count := be32(d.b, i)
		if sample <= count {
			rest := sample - 1
			if start {
				put32(d.b, i, count-rest)
				d.pos, d.entries = i, entries
			} else {
				put32(d.b, i, rest)
				d.last = i + 8
				d.entries -= entries - 1
			}
			return
		}
		sample -= count
		entries--
	}
	if start {
		d.pos, d.entries = d.last, 0
	}
}

func (p *parser) updateStsc(t *trak) error {
	d := &t.stsc
	if !d.set {
		return p.errorf("no mp4 stsc atoms were found in %s")
	}
	if d.entries == 0 {
		return p.errorf("zero number of entries in stsc atom in %s")
	}
	if err := p.cropStsc(t, true); err != nil {
		return err
	}
	if err := p.cropStsc(t, false); err != nil {
		return err
	}
	for i := d.pos; i < d.last; i += 12 {
		put32(d.b, i, be32(d.b, i)-uint32(t.startChunk))
	}
	t.setTableHeader(slotStsc, 16+uint64(d.entries)*12, d.entries)
	return nil
}

// stscEntry is a new sample-to-chunk entry.
func stscEntry(chunk, samples, id uint32) []byte {
	e := make([]byte, 12)
	put32(e, 0, chunk)
	put32(e, 4, samples)
	put32(e, 8, id)
	return e
}

// cropStsc finds the chunk of the start (or end) sample and how many
// samples of that chunk come before it, and cuts the sample-to-chunk table
// there, splitting a run of chunks when the sample is inside a chunk
// (ngx_http_mp4_crop_stsc_data). The arithmetic is nginx's, 32-bit where
// its is.
func (p *parser) cropStsc(t *trak, start bool) error {
	d := &t.stsc
	entries := uint64(d.entries - 1)
	var sample, samples uint32
	switch {
	case start:
		sample = uint32(t.startSample)
	case p.rng.Length != 0:
		sample = uint32(t.endSample - t.startSample)
		if t.stscStart != nil {
			samples = be32(t.stscStart, 4)
			entries--
			if samples > sample {
				samples = sample
				put32(t.stscStart, 4, samples)
			}
			sample -= samples
		}
	default:
		return nil
	}
	i := d.pos
	if i+12 > d.last {
		return p.corrupt("stsc")
	}
	chunk, samples, id := be32(d.b, i), be32(d.b, i+4), be32(d.b, i+8)
	var prevSamples, nextChunk uint32
	found := false
	for i += 12; i < d.last; i += 12 {
		nextChunk = be32(d.b, i)
		if nextChunk < chunk {
			return p.errorf("unordered mp4 stsc chunks in %s")
		}
		n := (nextChunk - chunk) * samples
		if sample < n {
			found = true
			break
		}
		sample -= n
		prevSamples = samples
		chunk, samples, id = nextChunk, be32(d.b, i+4), be32(d.b, i+8)
		entries--
	}
	if !found {
		nextChunk = t.chunks + 1
		if sample > (nextChunk-chunk)*samples {
			word := "end"
			if start {
				word = "start"
			}
			return &Error{Msg: fmt.Sprintf("%s time is out mp4 stsc chunks in %s", word, p.quoted())}
		}
	}
	entries++
	i -= 12
	if samples == 0 {
		return p.errorf("zero number of samples in %s")
	}
	target := uint64(chunk-1) + uint64(sample/samples)
	chunkSamples := uint64(sample % samples)
	if start {
		d.pos, d.entries = i, uint32(entries)
		t.startChunk, t.startChunkSamples = target, chunkSamples
		put32(d.b, i, uint32(t.startChunk+1))
		samples -= uint32(chunkSamples)
	} else {
		if sample != 0 {
			d.last = i + 12
			d.entries -= uint32(entries - 1)
			t.endChunkSamples = uint64(samples)
		} else {
			d.last = i
			d.entries -= uint32(entries)
			t.endChunkSamples = uint64(prevSamples)
		}
		t.endChunk = target
		if chunkSamples != 0 {
			t.endChunk, t.endChunkSamples = target+1, chunkSamples
		}
		samples = uint32(chunkSamples)
		nextChunk = chunk + 1
	}
	switch {
	case chunkSamples == 0:
	case uint64(nextChunk)-target == 2:
		// The sample is in the run's last chunk: that entry alone changes.
		put32(d.b, i+4, samples)
	case start:
		t.stscStart = stscEntry(1, samples, id)
		put32(d.b, i, uint32(t.startChunk+2))
		d.entries++
	default:
		t.stscEnd = stscEntry(uint32(t.endChunk-t.startChunk), samples, id)
		d.entries++
	}
	return nil
}

func (p *parser) updateStsz(t *trak) error {
	d := &t.stsz
	if !d.set {
		return nil // one size for all samples: nginx changes nothing
	}
	entries := t.stszEntries
	if t.startSample > uint64(entries) {
		return p.errorf("start time is out mp4 stsz samples in %s")
	}
	entries -= uint32(t.startSample)
	d.pos += int(t.startSample) * 4
	size, err := p.samplesSize(d, d.pos, t.startChunkSamples)
	if err != nil {
		return err
	}
	t.startSamplesSize = size
	if size > uint64(p.end) {
		return p.errorf("too large mp4 start samples size in %s")
	}
	if p.rng.Length != 0 {
		if t.endSample-t.startSample > uint64(entries) {
			return p.errorf("end time is out mp4 stsz samples in %s")
		}
		entries = uint32(t.endSample - t.startSample)
		d.last = d.pos + int(entries)*4
		if size, err = p.samplesSize(d, d.last, t.endChunkSamples); err != nil {
			return err
		}
		t.endSamplesSize = size
		if size > uint64(p.end) {
			return p.errorf("too large mp4 end samples size in %s")
		}
	}
	t.setTableHeader(slotStsz, uint64(20+d.last-d.pos), entries)
	return nil
}

// samplesSize adds the sizes of the n samples before index end of the
// sample size table.
func (p *parser) samplesSize(d *table, end int, n uint64) (uint64, error) {
	if n > uint64(end/4) {
		return 0, p.corrupt("stsc")
	}
	var size uint64
	for i := end - int(n)*4; i < end; i += 4 {
		size += uint64(be32(d.b, i))
	}
	return size, nil
}

// updateChunks cuts the chunk offset table (stco, or co64 with 8-byte
// entries) to the start and end chunks and sets the trak's part of the
// mdat data (ngx_http_mp4_update_stco_atom and _co64_atom).
func (p *parser) updateChunks(t *trak, d *table, name string, width int) error {
	if !d.set {
		return p.errorf("no mp4 " + name + " atoms were found in %s")
	}
	// nginx 1.22.1 as Debian patches it (CVE-2024-7347) refuses a start
	// at the chunk past the last too, which 1.22.1 read past the table.
	if t.startChunk >= uint64(t.chunks) {
		return p.errorf("start time is out mp4 " + name + " chunks in %s")
	}
	d.pos += int(t.startChunk) * width
	off, err := p.chunkOffset(d, d.pos, width, t.startSamplesSize)
	if err != nil {
		return err
	}
	t.startOffset = int64(off)
	putOffset(d, d.pos, width, off)
	var entries uint32
	if p.rng.Length != 0 {
		if t.endChunk > uint64(t.chunks) {
			return p.errorf("end time is out mp4 " + name + " chunks in %s")
		}
		entries = uint32(t.endChunk - t.startChunk)
		if uint64(entries)*uint64(width) > uint64(len(d.b)-d.pos) {
			return p.corrupt(name)
		}
		d.last = d.pos + int(entries)*width
		if entries != 0 {
			off, err := p.chunkOffset(d, d.last-width, width, t.endSamplesSize)
			if err != nil {
				return err
			}
			t.endOffset = int64(off)
		}
	} else {
		entries = t.chunks - uint32(t.startChunk)
		t.endOffset = p.mdatEnd
	}
	if entries == 0 {
		t.startOffset, t.endOffset = p.end, 0
	}
	slot := slotStco
	if width == 8 {
		slot = slotCo64
	}
	t.setTableHeader(slot, uint64(16+d.last-d.pos), entries)
	return nil
}

// chunkOffset is the offset of the chunk at index i plus samplesSize, the
// samples of the chunk before the one wanted, checked against the file's
// size (and, in an stco, 32 bits).
func (p *parser) chunkOffset(d *table, i, width int, samplesSize uint64) (uint64, error) {
	var off uint64
	if width == 8 {
		off = binary.BigEndian.Uint64(d.b[i:])
	} else {
		off = uint64(be32(d.b, i))
	}
	if off > uint64(p.end)-samplesSize || width == 4 && off+samplesSize > math.MaxUint32 {
		return 0, p.errorf("too large chunk offset in %s")
	}
	return off + samplesSize, nil
}

// putOffset writes a chunk offset at index i.
func putOffset(d *table, i, width int, off uint64) {
	if width == 8 {
		binary.BigEndian.PutUint64(d.b[i:], off)
		return
	}
	put32(d.b, i, uint32(off))
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"sync"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// reqZone is a limit_req_zone of one snapshot: its key and rate over a table
// of buckets. A reload that keeps the zone's name and size passes the table
// on to the new snapshot (reqZone.adopt), as nginx keeps a shared memory zone
// whose name and size are unchanged.
type reqZone struct {
	name   string
	keySrc string
	key    *vars.Template
	rate   int64 // thousandths of a request per second, > 0
	size   int64
	table  *reqTable
}

// reqTable is the state of a limit_req zone: one leaky bucket per key, in
// nginx's integer arithmetic (ngx_http_limit_req_lookup), and the keys from
// the most to the least recently used, for eviction.
type reqTable struct {
	now func() int64 // milliseconds on a monotonic clock
	// mu guards everything below; it is held for one lookup or account, never
	// across I/O or a delay.
	mu      sync.Mutex
	entries map[string]*reqEntry
	newest  *reqEntry // head of the recency list
	oldest  *reqEntry // its tail
	used    int64     // bytes the entries would take in nginx's zone
	budget  int64     // bytes the entries may take
}

// reqEntry is one key's bucket (ngx_http_limit_req_node_t).
type reqEntry struct {
	key string
	// last is when excess was computed, in the table's milliseconds.
	last int64
	// excess is the bucket's level in thousandths of a request.
	excess int64
	// count is the requests that passed this entry's check and wait for
	// the request's other limits (nginx never evicts such an entry).
	count      int
	prev, next *reqEntry // towards newest, towards oldest
}

// never is the last of an entry created by a request still being checked
// (nginx's lr->last = 0): so long ago that the bucket has emptied.
const never = -1 << 50

// lookupResult is what a lookup decided (nginx's return codes).
type lookupResult int

const (
	lookupAgain lookupResult = iota // passed, not yet accounted (NGX_AGAIN)
	lookupOK                        // passed and accounted (NGX_OK)
	lookupBusy                      // over the burst (NGX_BUSY)
	lookupFull                      // no room for the key (NGX_ERROR)
)

// newReqTable returns an empty table sized for a zone of size bytes.
func newReqTable(size int64, now func() int64) *reqTable {
	return &reqTable{now: now, entries: map[string]*reqEntry{}, budget: zoneBudget(size)}
}

// monotonicMillis returns a clock in milliseconds since its creation.
func monotonicMillis() func() int64 {
	start := time.Now()
	return func() int64 { return time.Since(start).Milliseconds() }
}

// zoneBudget is how many bytes of a zone of size bytes nginx's slab allocator
// can give to entries, approximately: 4 KiB pages, each with a 24-byte page
// descriptor, less two pages for the pool's own header and the zone's
// small allocations.
func zoneBudget(size int64) int64 {
	return max(size/(4096+24)-2, 1) * 4096
}

// entryCost is what an entry for a key of n bytes takes in nginx's zone on a
// 64-bit system: an rbtree node (32 bytes), the limit_req node up to its data
// (48 bytes) and the key, rounded up to the slab allocator's power of two.
// A $binary_remote_addr key takes 128 bytes, so 1m holds about 8000 keys.
func entryCost(n int) int64 {
	need := uint64(80 + n)
	return int64(1) << bits.Len64(need-1)
}

// leak is nginx's "excess - rate * ms / 1000 + 1000", at least 0: the level of
// a bucket ms after it stood at excess, with this request added. It does not
// overflow for any ms.
func leak(excess, rate, ms int64) int64 {
	hi, lo := bits.Mul64(uint64(rate), uint64(ms))
	if hi != 0 || lo/1000 > math.MaxInt64/2 {
		return 0
	}
	return max(excess-int64(lo/1000)+1000, 0)
}

// elapsed is the milliseconds since e.last, clamped as nginx clamps a clock
// that went back.
func elapsed(now int64, e *reqEntry) int64 {
	ms := now - e.last
	switch {
	case ms < -60000:
		return 1
	case ms < 0:
		return 0
	}
	return ms
}

// lookup checks one request for key against burst (thousandths), as
// ngx_http_limit_req_lookup: the bucket's level with this request added is
// excess; over burst is lookupBusy and nothing is recorded. Otherwise, with
// account (the request's last limit), the level is recorded (lookupOK); else
// the entry is held for account (lookupAgain) and returned.
func (t *reqTable) lookup(key []byte, rate, burst int64, account bool) (lookupResult, int64, *reqEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if e := t.entries[string(key)]; e != nil {
		t.touch(e)
		ms := elapsed(now, e)
		excess := leak(e.excess, rate, ms)
		if excess > burst {
			return lookupBusy, excess, nil
		}
		if !account {
			e.count++
			return lookupAgain, excess, e
		}
		e.excess = excess
		if ms != 0 {
			e.last = now
		}
		return lookupOK, excess, nil
	}
	e := t.insert(string(key), rate, now)
	if e == nil {
		return lookupFull, 0, nil
	}
	if !account {
		e.last, e.count = never, 1
		return lookupAgain, 0, e
	}
	e.last = now
	return lookupOK, 0, nil
}

// account records a request held by lookupAgain, now that all its limits
// passed, and returns the bucket's level with it (ngx_http_limit_req_account).
func (t *reqTable) account(e *reqEntry, rate int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	ms := elapsed(now, e)
	e.excess = leak(e.excess, rate, ms)
	if ms != 0 {
		e.last = now
	}
	e.count--
	return e.excess
}

// release lets go of an entry held by lookupAgain for a request that another
// limit rejected: nothing is recorded (ngx_http_limit_req_unlock).
func (t *reqTable) release(e *reqEntry) {
	t.mu.Lock()
	e.count--
	t.mu.Unlock()
}

// insert adds an empty entry for key, first dropping up to two idle entries
// whose buckets have emptied (ngx_http_limit_req_expire(ctx, 1)); when the
// zone has no room it also drops the least recently used idle entry (expire 0)
// and gives up (nil) if there is still none.
func (t *reqTable) insert(key string, rate, now int64) *reqEntry {
	cost := entryCost(len(key))
	t.expire(rate, now, false)
	if t.used+cost > t.budget {
		t.expire(rate, now, true)
		if t.used+cost > t.budget {
			return nil
		}
	}
	e := &reqEntry{key: key}
	t.entries[key] = e
	t.used += cost
	t.pushFront(e)
	return e
}

// expire is ngx_http_limit_req_expire: from the least recently used end, it
// drops up to two entries no request holds that were last used a minute ago
// or more and whose bucket has emptied; force first drops the oldest entry
// unconditionally (if no request holds it). It stops at the first entry it
// keeps.
func (t *reqTable) expire(rate, now int64, force bool) {
	for n := 0; n < 3; n++ {
		if n == 0 && !force {
			continue
		}
		e := t.oldest
		if e == nil || e.count > 0 {
			return
		}
		if n > 0 {
			ms := now - e.last
			if ms < 0 {
				ms = -ms
			}
			if ms < 60000 || leak(e.excess, rate, ms)-1000 > 0 {
				return
			}
		}
		t.remove(e)
	}
}

func (t *reqTable) remove(e *reqEntry) {
	t.unlink(e)
	delete(t.entries, e.key)
	t.used -= entryCost(len(e.key))
}

func (t *reqTable) pushFront(e *reqEntry) {
	e.prev, e.next = nil, t.newest
	if t.newest != nil {
		t.newest.prev = e
	}
	t.newest = e
	if t.oldest == nil {
		t.oldest = e
	}
}

func (t *reqTable) unlink(e *reqEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.newest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.oldest = e.prev
	}
	e.prev, e.next = nil, nil
}

// touch makes e the most recently used entry.
func (t *reqTable) touch(e *reqEntry) {
	if t.newest == e {
		return
	}
	t.unlink(e)
	t.pushFront(e)
}

// len returns the number of keys the table remembers.
func (t *reqTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// newReqZone compiles a limit_req_zone with an empty table.
func newReqZone(z *config.LimitReqZone, comp *vars.Compiler, now func() int64) (*reqZone, error) {
	key, err := comp.Compile(z.Key)
	if err != nil {
		return nil, fmt.Errorf("limit_req_zone %q key: %w", z.Name, err)
	}
	return &reqZone{name: z.Name, keySrc: z.Key, key: key, rate: z.Rate, size: z.Size,
		table: newReqTable(z.Size, now)}, nil
}

// buildReqZones compiles the limit_req_zone directives. config.Load has
// checked that every limit_req names one of them.
func (s *snapshot) buildReqZones(cfg *config.Config, comp *vars.Compiler) error {
	s.reqZones = make(map[string]*reqZone, len(cfg.HTTP.LimitReqZones))
	for _, z := range cfg.HTTP.LimitReqZones {
		rz, err := newReqZone(z, comp, monotonicMillis())
		if err != nil {
			return err
		}
		s.reqZones[z.Name] = rz
	}
	return nil
}

// adoptReqZones takes over the tables of old's zones that keep their name and
// size, as nginx reuses a shared memory zone across a reload; a zone whose
// key changed fails the reload with nginx's message. old may be nil.
func (s *snapshot) adoptReqZones(old *snapshot) error {
	if old == nil {
		return nil
	}
	for name, z := range s.reqZones {
		o := old.reqZones[name]
		if o == nil || o.size != z.size {
			continue
		}
		if o.keySrc != z.keySrc {
			return fmt.Errorf("limit_req %q uses the %q key while previously it used the %q key", name, z.keySrc, o.keySrc)
		}
		z.table = o.table
	}
	return nil
}

// reqHold is a limit whose entry a request holds between lookup and account.
type reqHold struct {
	zone  *reqZone
	limit *config.LimitReq
	entry *reqEntry
}

// maxKeyLen is nginx's limit on a limit_req key: longer keys are not limited.
const maxKeyLen = 65535

// limitReq runs nginx's limit_req preaccess step (ngx_http_limit_req_handler)
// for the request at set, once per request (an internal redirect does not
// check it again). Each limit_req with a non-empty key is looked up in order;
// the first over its burst rejects the request, and the limits before it
// record nothing. When all pass, each records the request and the longest
// delay among them applies. It returns the status to answer (0: go on) and
// how long to wait before going on; dry run never returns either, and
// st.LimitReq says what happened.
func (s *snapshot) limitReq(r *http.Request, st *vars.State, set *config.Settings) (int, time.Duration) {
	if len(set.LimitReq) == 0 || st.LimitReq != vars.LimitReqNone {
		return 0, 0
	}
	var buf [64]byte
	var holdBuf [4]reqHold
	holds := holdBuf[:0]
	rc, excess := lookupAgain, int64(0)
	var lim *config.LimitReq
	var zone *reqZone
	looked := false
	for i := range set.LimitReq {
		lim = &set.LimitReq[i]
		zone = s.reqZones[lim.Zone]
		key := zone.key.Append(buf[:0], st)
		if len(key) == 0 {
			continue
		}
		if len(key) > maxKeyLen {
			s.logAt(set).LogRequest(errlog.Error, logRequest(st, r), fmt.Sprintf("the value of the %q key is more than 65535 bytes: %q", zone.keySrc, key))
			continue
		}
		looked = true
		var e *reqEntry
		rc, excess, e = zone.table.lookup(key, zone.rate, lim.Burst, i == len(set.LimitReq)-1)
		if rc != lookupAgain {
			break
		}
		holds = append(holds, reqHold{zone: zone, limit: lim, entry: e})
	}
	if !looked {
		return 0, 0
	}
	if rc == lookupBusy || rc == lookupFull {
		return s.rejectReq(r, st, set, holds, rc, excess, zone.name), 0
	}
	if rc == lookupAgain {
		excess = 0
	}
	delay, excess, zone := accountReq(holds, lim, zone, excess)
	if delay == 0 {
		st.LimitReq = vars.LimitReqPassed
		return 0, 0
	}
	s.logLimitReq(r, st, set, delayLevel(set.LimitReqLogLevel), "delaying request", excess, ", by zone", zone.name)
	if set.LimitReqDryRun {
		st.LimitReq = vars.LimitReqDelayedDryRun
		return 0, 0
	}
	st.LimitReq = vars.LimitReqDelayed
	return 0, time.Duration(delay) * time.Millisecond
}

// rejectReq ends a request over a burst (or with no room in its zone): the
// held entries are let go unrecorded, the refusal logged, and the status
// returned (0 in dry run).
func (s *snapshot) rejectReq(r *http.Request, st *vars.State, set *config.Settings, holds []reqHold, rc lookupResult, excess int64, zone string) int {
	for _, h := range holds {
		h.zone.table.release(h.entry)
	}
	if rc == lookupBusy {
		s.logLimitReq(r, st, set, errlog.FromConfig(set.LimitReqLogLevel), "limiting requests", excess, " by zone", zone)
	} else {
		s.logAt(set).Logf(errlog.Alert, "could not allocate node in limit_req zone %q", zone)
	}
	if set.LimitReqDryRun {
		st.LimitReq = vars.LimitReqRejectedDryRun
		return 0
	}
	st.LimitReq = vars.LimitReqRejected
	return set.LimitReqStatus
}

// accountReq records the request in the held entries, last first, and
// returns the longest delay in milliseconds with the excess and zone that
// caused it (ngx_http_limit_req_account). lim, zone and excess are the last
// limit looked up and its level (0 when it was not accounted yet).
func accountReq(holds []reqHold, lim *config.LimitReq, zone *reqZone, excess int64) (int64, int64, *reqZone) {
	var most int64
	if excess > delayFrom(lim) {
		most = (excess - delayFrom(lim)) * 1000 / zone.rate
	}
	for i := len(holds) - 1; i >= 0; i-- {
		h := holds[i]
		e := h.zone.table.account(h.entry, h.zone.rate)
		if e <= delayFrom(h.limit) {
			continue
		}
		if d := (e - delayFrom(h.limit)) * 1000 / h.zone.rate; d > most {
			most, excess, zone = d, e, h.zone
		}
	}
	return most, excess, zone
}

// delayFrom is the level (thousandths) above which lim delays a request:
// delay=number, 0 by default, never with nodelay.
func delayFrom(lim *config.LimitReq) int64 {
	if lim.NoDelay {
		return math.MaxInt64
	}
	return lim.Delay
}

// delayLevel is nginx's delay_log_level: one level below limit_req_log_level,
// info staying info.
func delayLevel(l config.LogLevel) errlog.Level {
	level := errlog.FromConfig(l)
	if level > errlog.Info {
		level--
	}
	return level
}

// logLimitReq writes nginx's "limiting requests, excess: 1.000 by zone "one""
// or "delaying request, excess: 0.500, by zone "one"" line, with ", dry run"
// after the first words in dry run.
func (s *snapshot) logLimitReq(r *http.Request, st *vars.State, set *config.Settings, level errlog.Level, what string, excess int64, by, zone string) {
	if !s.logAt(set).Enabled(level) {
		return
	}
	dry := ""
	if set.LimitReqDryRun {
		dry = ", dry run"
	}
	msg := fmt.Sprintf("%s%s, excess: %d.%03d%s %q", what, dry, excess/1000, excess%1000, by, zone)
	s.logAt(set).LogRequest(level, logRequest(st, r), msg)
}

// waitLimitReq holds a delayed request for d without a goroutine of its own,
// as nginx's timer does. It reports false when the client went away first:
// the request then ends as nginx ends it, with 499 and no answer.
//
// nginx pairs the delay's timer with read events on the client connection
// (ngx_http_test_reading), so it sees a client that leaves at once; the
// engine's writer does the same by waiting on the socket itself
// (awaitGone). Under another writer (HTTP/2, TLS) the request's context
// tells, within the server's client check (abortCheckInterval). A body the
// client sent meanwhile is seen by a discard before the answer, as nginx's
// (recorder.waited).
func (s *snapshot) waitLimitReq(rec *recorder, r *http.Request, st *vars.State, d time.Duration) bool {
	rec.waited()
	if rec.ew != nil {
		if gone, ok := rec.ew.awaitGone(d); ok {
			if gone != nil {
				s.clientLeft(rec, r, st, gone)
			}
			return gone == nil
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		s.clientLeft(rec, r, st, context.Cause(r.Context()))
		return false
	}
}

// clientLeft ends a request whose client went away (cause, an
// *errlog.ClientAbort when the socket told how) during a limit_req delay,
// as nginx's ngx_http_test_reading does: the info line, then 499 with no
// answer.
func (s *snapshot) clientLeft(rec *recorder, r *http.Request, st *vars.State, cause error) {
	if rec.log().Enabled(errlog.Info) {
		rec.log().LogRequest(errlog.Info, logRequest(st, r), prematureClose(cause))
	}
	rec.drop(499)
}

// prematureClose is nginx 1.22.1's line for a client that went away
// (cause) while the request waited (ngx_http_test_reading), with the
// socket's error after a reset (recorded with limit_req delays and python
// clients that close or reset):
//
//	client prematurely closed connection
//	client prematurely closed connection (104: Connection reset by peer)
func prematureClose(cause error) string {
	var a *errlog.ClientAbort
	if errors.As(cause, &a) && a.Errno != 0 {
		return "client prematurely closed connection (" + errlog.Errno(a.Errno) + ")"
	}
	return "client prematurely closed connection"
}

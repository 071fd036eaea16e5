// Package dedupjob runs the central duplicate check (不重) over the store: a
// full run over every live registration, incremental runs over what changed
// since (by hand, or continuously as registrations arrive: Watch),
// reconciliation with the cases people already decided, the notices that
// tell a registrar a new registration may be someone registered elsewhere,
// the coordinators' decisions, and the duplicates export.
//
// The index of the last full run grows with every incremental run and
// survives a restart: the full run's weights and the feed sequence matched
// so far are kept in the store, and a new process rebuilds the index from
// the registrations matched before (dedup.Rebuild: no pair scored), so its
// first incremental run matches only what came after.
//
// The engine (package dedup) proposes; people decide. A run changes only
// open cases: a confirmed or rejected case is never undone, and no
// registration is ever changed by a run. Removing the duplicate
// registrations of a confirmed case is a separate, explicit step (Decide
// with Remove), made as server changes so devices learn it at their next
// pull.
package dedupjob

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Settings keys the job keeps in the store.
const (
	SettingSeq     = "dedup.seq"     // decimal feed sequence number the index has matched
	SettingLast    = "dedup.last"    // JSON Summary of the last run
	SettingWeights = "dedup.weights" // JSON dedup.Weights of the last full run
)

// Phases reported to a Progress callback.
const (
	PhaseLoad  = "load"  // reading registrations (total 0: not known yet)
	PhaseMatch = "match" // the engine at work
	PhaseSave  = "save"  // reconciling and writing cases
	PhaseIndex = "index" // rebuilding the index after a restart
)

// Progress is told where a run is; total is 0 when not known.
type Progress func(phase string, done, total int)

// Options tune the job. Start from DefaultOptions.
type Options struct {
	Engine   dedup.Options
	Progress Progress // nil: none
	PageSize int      // feed page of an incremental load
	// MatchWorkers is how many goroutines an incremental run matches with
	// (0: the engine's Workers). One leaves the other cores to the pushes
	// that continuous matching runs beside.
	MatchWorkers int
	Now          func() time.Time
}

// DefaultPageSize is the feed page of an incremental load: each page seeks
// the feed of every district again (at a million registrations, pages of
// 1,000 spent a third of the load doing that).
const DefaultPageSize = 5000

// DefaultOptions returns the engine's defaults, pages of DefaultPageSize
// records and incremental runs on one goroutine.
func DefaultOptions() Options {
	return Options{Engine: dedup.DefaultOptions(), PageSize: DefaultPageSize, MatchWorkers: 1, Now: time.Now}
}

// Summary is the outcome of one run.
//
// An incremental run counts the cases holding a record of its batch or one
// the batch was matched with, not every stored case.
type Summary struct {
	Full    bool `json:"full"`
	Records int  `json:"records"` // registrations compared (full) or in the batch (incremental)
	// Compared is the number of pairs the engine scored: a full run's
	// grows with the square of the blocks, an incremental one's with the batch.
	Compared  int       `json:"compared"`
	Cases     int       `json:"cases"`     // cases stored after the run, any status
	Auto      int       `json:"auto"`      // open cases the engine is sure of
	Review    int       `json:"review"`    // open cases a person has to look at
	Confirmed int       `json:"confirmed"` // decided cases kept as they were
	Rejected  int       `json:"rejected"`
	New       int       `json:"new"`     // open cases this run added
	Dropped   int       `json:"dropped"` // open cases the data no longer supports
	Seq       uint64    `json:"seq"`     // feed sequence the run saw
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
}

// Status is what an operator sees of the job.
type Status struct {
	Running bool   `json:"running"`
	Full    bool   `json:"full,omitempty"` // of the run under way
	Phase   string `json:"phase,omitempty"`
	Done    int    `json:"done,omitempty"`
	Total   int    `json:"total,omitempty"`
	// Indexed is the number of registrations in the index kept for
	// incremental runs; 0 means the next incremental run rebuilds it from
	// the store (or runs in full when no full run's weights are kept).
	Indexed int `json:"indexed"`
	// Continuous says registrations are matched as they arrive (Watch).
	Continuous bool `json:"continuous"`
	// Standby says this server's watcher waits while another server on
	// the same database matches (store.RunLocker): matching goes on there,
	// and this server takes over if that one stops.
	Standby bool `json:"standby,omitempty"`
	// Cursor is the feed sequence the index has matched; Backlog the
	// records committed after it, waiting to be matched (at most
	// backlogCap counted: BacklogMore says more wait, and Changes, the
	// changes committed since the cursor, bounds how many), and
	// OldestSeconds how long the oldest of them has waited, as the watcher
	// saw it commit (0 when nothing waits or no watcher runs).
	Cursor        uint64   `json:"cursor"`
	Backlog       int      `json:"backlog"`
	BacklogMore   bool     `json:"backlog_more,omitempty"`
	Changes       uint64   `json:"changes_waiting"`
	OldestSeconds float64  `json:"oldest_seconds"`
	Last          *Summary `json:"last,omitempty"`
	Error         string   `json:"error,omitempty"` // of the last run
}

// Job is the duplicate check of one store. It keeps the index of its last
// full run in memory for incremental runs; one run goes at a time. It must
// be the only job writing cases to its store (one server per data
// directory, which bbolt's file lock ensures): it knows the stored cases
// by member from its own runs.
type Job struct {
	st      store.Store
	opt     Options
	running atomic.Bool

	mu       sync.Mutex
	ix       *dedup.Index // used by the run under way only, outside mu
	caseOf   caseIndex    // the stored cases by member, kept with ix by the runs
	fullSize int          // records the index was built with (full run or rebuild)
	ixSeq    uint64       // feed sequence the index has matched
	indexed  int          // ix.Len() after the last run
	status   Status
	watching bool
	standby  bool       // Watch waits for another server's run lock
	unlock   func()     // of the store's run lock, while Watch holds it
	seen     []sighting // feed sequences the watcher saw committed, oldest first
}

// New makes the job for st.
func New(st store.Store, opt Options) *Job {
	if opt.PageSize <= 0 {
		opt.PageSize = DefaultPageSize
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Job{st: st, opt: opt}
}

// Run is a full run with a job of its own (the index is dropped after).
func Run(ctx context.Context, st store.Store, opt Options) (Summary, error) {
	return New(st, opt).Run(ctx)
}

// Run compares every live registration, reconciles the proposals with the
// stored cases and keeps the index for incremental runs.
func (j *Job) Run(ctx context.Context) (Summary, error) {
	release, err := j.claim(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer release()
	j.begin(true)
	return j.end(j.full(ctx))
}

// RunIncremental matches the registrations changed since the index was
// built against it, and adds them to it. A fresh process first rebuilds the
// index from the store; it runs in full only when no full run ever kept
// its weights.
func (j *Job) RunIncremental(ctx context.Context) (Summary, error) {
	release, err := j.claim(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer release()
	j.begin(!j.canIncrement(ctx))
	return j.end(j.incremental(ctx))
}

// Start runs in the background (incremental or full) and returns at once;
// ErrRunning if a run is under way. ctx bounds the run, not the call.
func (j *Job) Start(ctx context.Context, incremental bool) error {
	release, err := j.claim(ctx)
	if err != nil {
		return err
	}
	full := !incremental || !j.canIncrement(ctx)
	j.begin(full)
	go func() {
		defer release()
		if full {
			j.end(j.full(ctx))
		} else {
			j.end(j.incremental(ctx))
		}
	}()
	return nil
}

// runLockName names the store's run lock (store.RunLocker).
const runLockName = "dedup"

// claim takes the one run: in this process, and, on a store several
// servers share (store.RunLocker), across them, unless this process's
// Watch holds that lock already; else ErrRunning.
func (j *Job) claim(ctx context.Context) (release func(), err error) {
	if !j.running.CompareAndSwap(false, true) {
		return nil, ErrRunning
	}
	l, ok := j.st.(store.RunLocker)
	j.mu.Lock()
	held := j.unlock != nil
	j.mu.Unlock()
	if !ok || held {
		return func() { j.running.Store(false) }, nil
	}
	unlock, ok, err := l.TryLock(ctx, runLockName)
	if err != nil || !ok {
		j.running.Store(false)
		return nil, cmp.Or(err, ErrRunning)
	}
	return func() { unlock(); j.running.Store(false) }, nil
}

// Status reports the run under way, if any, and the last run's summary
// (from the store when this process has not run yet).
func (j *Job) Status(ctx context.Context) (Status, error) {
	j.mu.Lock()
	s := j.status
	s.Running = j.running.Load()
	s.Indexed, s.Cursor, s.Continuous, s.Standby = j.indexed, j.ixSeq, j.watching, j.standby
	j.mu.Unlock()
	err := j.st.View(ctx, func(tx store.Tx) error {
		if err := j.backlog(tx, &s); err != nil {
			return err
		}
		if s.Last != nil {
			return nil
		}
		v, err := tx.Setting(SettingLast)
		if err != nil {
			return err
		}
		s.Last = new(Summary)
		return json.Unmarshal(v, s.Last)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	return s, nil
}

func (j *Job) begin(full bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status = Status{Full: full, Last: j.status.Last}
}

func (j *Job) end(sum Summary, err error) (Summary, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status.Phase, j.status.Done, j.status.Total, j.status.Error = "", 0, 0, ""
	if err != nil {
		j.status.Error = err.Error()
		return sum, err
	}
	j.status.Last = &sum
	return sum, nil
}

func (j *Job) progress(phase string, done, total int) {
	j.mu.Lock()
	j.status.Phase, j.status.Done, j.status.Total = phase, done, total
	j.mu.Unlock()
	if j.opt.Progress != nil {
		j.opt.Progress(phase, done, total)
	}
}

// full runs over every live registration. The registrations committed
// after the cursor a run before kept get notices like an incremental run's
// batch (a re-tune must not swallow them); a first run gives none: its
// roll is the office's batch.
func (j *Job) full(ctx context.Context) (Summary, error) {
	started := j.opt.Now()
	cursor, err := j.freshAbove(ctx)
	if err != nil {
		return Summary{}, err
	}
	recs, seq, fresh, err := j.loadAll(ctx, 0, cursor)
	if err != nil {
		return Summary{}, err
	}
	j.progress(PhaseMatch, 0, len(recs))
	var proposals []dedup.Case
	var ix *dedup.Index
	sum := Summary{Full: true, Records: len(recs), Seq: seq, Started: started}
	if len(recs) >= 2 {
		var res *dedup.Result
		res, ix, err = dedup.Run(recs, j.opt.Engine)
		if err != nil {
			return Summary{}, fmt.Errorf("dedupjob: run: %w", err)
		}
		proposals = res.Proposals()
		sum.Compared = res.Stats.Comparisons
	}
	j.progress(PhaseMatch, len(recs), len(recs))
	lookup := func(string) string { return "" }
	var weights []byte
	if ix != nil {
		lookup = ix.District
		if weights, err = json.Marshal(ix.Weights()); err != nil {
			return Summary{}, err
		}
	}
	err = j.save(ctx, &sum, batchResult{proposals: proposals, district: lookup, changed: fresh, also: func(tx store.Tx) error {
		if weights == nil {
			return nil
		}
		return tx.PutSetting(SettingWeights, weights)
	}})
	if err != nil {
		return Summary{}, err
	}
	j.setIndex(ix, seq, len(recs))
	return sum, nil
}

// freshAbove is the sequence above which a full run's registrations get
// notices: the one the last run kept, or none before a first run.
func (j *Job) freshAbove(ctx context.Context) (uint64, error) {
	var cursor uint64
	var known bool
	err := j.st.View(ctx, func(tx store.Tx) error {
		var err error
		cursor, known, err = keptSeq(tx)
		return err
	})
	if !known {
		cursor = math.MaxUint64
	}
	return cursor, err
}

// setIndex keeps the index, the sequence it has matched and, unless -1,
// the records it was built with.
func (j *Job) setIndex(ix *dedup.Index, seq uint64, built int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if built >= 0 {
		j.fullSize = built
	}
	j.ix, j.ixSeq, j.indexed = ix, seq, 0
	if ix != nil {
		j.indexed = ix.Len()
		if j.opt.MatchWorkers > 0 {
			ix.SetWorkers(j.opt.MatchWorkers)
		}
	}
	j.forgetSeen(seq)
}

func (j *Job) incremental(ctx context.Context) (Summary, error) {
	if err := j.restore(ctx); err != nil {
		return Summary{}, err
	}
	j.mu.Lock()
	ix, from := j.ix, j.ixSeq
	j.mu.Unlock()
	if ix == nil {
		return j.full(ctx)
	}
	started := j.opt.Now()
	batch, dead, seq, err := j.loadSince(ctx, from)
	if err != nil {
		return Summary{}, err
	}
	j.progress(PhaseMatch, 0, len(batch))
	ix.Remove(slices.Collect(maps.Keys(dead)))
	sum := Summary{Records: len(batch), Seq: seq, Started: started}
	var proposals []dedup.Case
	if len(batch) > 0 {
		res, err := ix.Add(batch)
		if err != nil {
			return Summary{}, fmt.Errorf("dedupjob: match: %w", err)
		}
		proposals = withoutRecords(res.Proposals(), dead)
		sum.Compared = res.Stats.Comparisons
	}
	j.progress(PhaseMatch, len(batch), len(batch))
	touched, changed := touchedBy(batch, dead, proposals)
	err = j.save(ctx, &sum, batchResult{proposals: proposals, dead: dead, district: ix.District,
		touched: touched, changed: changed})
	if err != nil {
		return Summary{}, err
	}
	j.setIndex(ix, seq, -1)
	return sum, nil
}

// touchedBy lists the records whose cases an incremental run may touch
// (the batch's, the dead, every one proposed) and those of the batch.
func touchedBy(batch []dedup.Record, dead map[string]string, proposals []dedup.Case) (touched, changed map[string]bool) {
	touched = make(map[string]bool, len(batch)+len(dead))
	changed = make(map[string]bool, len(batch))
	for i := range batch {
		changed[batch[i].ID], touched[batch[i].ID] = true, true
	}
	for id := range dead {
		touched[id] = true
	}
	for _, c := range proposals {
		for _, r := range c.Records {
			touched[r] = true
		}
	}
	return touched, changed
}

// loadAll reads every live registration, in ID order (so that a run sees
// the same input on every backend), and the feed sequence it saw; with upTo
// above 0, only those last changed at or below it. fresh are those changed
// above freshAbove. Records are read and decoded on every core, only the
// fields the engine reads (storedRegistration).
func (j *Job) loadAll(ctx context.Context, upTo, freshAbove uint64) (recs []dedup.Record, seq uint64,
	fresh map[string]bool, err error) {
	j.progress(PhaseLoad, 0, 0)
	fresh = map[string]bool{}
	type loaded struct {
		rec dedup.Record
		seq uint64
	}
	// Batches are kept as they come and copied once at the end: appending
	// ten million records to one slice copied it at every doubling.
	var mu sync.Mutex
	var batches [][]loaded
	n := 0
	err = j.st.View(ctx, func(tx store.Tx) error {
		if seq, err = tx.HighSeq(); err != nil {
			return err
		}
		decode := func(data []byte) (l loaded, ok bool, err error) {
			l.rec, l.seq, ok, err = decodeRegistration(data)
			return l, ok && (upTo == 0 || l.seq <= upTo), err
		}
		return store.Scan(tx, model.TypeRegistration, decode, func(batch []loaded) error {
			mu.Lock()
			defer mu.Unlock()
			for i := range batch {
				if batch[i].seq > freshAbove {
					fresh[batch[i].rec.ID] = true
				}
			}
			batches = append(batches, batch)
			if (n+len(batch))/10000 > n/10000 {
				j.progress(PhaseLoad, n+len(batch), 0)
			}
			n += len(batch)
			return ctx.Err()
		})
	})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("dedupjob: load registrations: %w", err)
	}
	at := make([]*dedup.Record, 0, n)
	for _, b := range batches {
		for k := range b {
			at = append(at, &b[k].rec)
		}
	}
	recs = sortedByID(at)
	j.progress(PhaseLoad, len(recs), len(recs))
	return recs, seq, fresh, nil
}

// sortedByID copies the records in ID order. It sorts pointers, not the
// records (160 bytes each to move), in parts on every core (at most 8),
// and merges the parts as it copies: at ten million records, sorting the
// records themselves on one goroutine took 11 s.
func sortedByID(at []*dedup.Record) []dedup.Record {
	byID := func(a, b *dedup.Record) int { return strings.Compare(a.ID, b.ID) }
	parts := make([][]*dedup.Record, min(runtime.GOMAXPROCS(0), 8, max(1, len(at)/10000)))
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = at[i*len(at)/len(parts) : (i+1)*len(at)/len(parts)]
		wg.Go(func() { slices.SortFunc(parts[i], byID) })
	}
	wg.Wait()
	recs := make([]dedup.Record, 0, len(at))
	for {
		next := -1
		for i, p := range parts {
			if len(p) > 0 && (next < 0 || p[0].ID < parts[next][0].ID) {
				next = i
			}
		}
		if next < 0 {
			return recs
		}
		recs = append(recs, *parts[next][0])
		parts[next] = parts[next][1:]
	}
}

// loadSince reads the registrations changed after seq from the feed: the
// live ones as a batch, the deleted or removed ones as dead (record ID to
// district). Records are decoded as loadAll decodes them, only the values
// the engine reads.
func (j *Job) loadSince(ctx context.Context, from uint64) (batch []dedup.Record, dead map[string]string, seq uint64, err error) {
	j.progress(PhaseLoad, 0, 0)
	dead = map[string]string{}
	err = j.st.View(ctx, func(tx store.Tx) error {
		if seq, err = tx.HighSeq(); err != nil {
			return err
		}
		for cursor, more := from, true; more; {
			var page []store.FeedEntry
			if page, more, err = tx.FeedRaw(nil, cursor, j.opt.PageSize); err != nil {
				return err
			}
			for _, e := range page {
				cursor = e.Seq
				rec, _, ok, err := decodeRegistration(e.Record)
				switch {
				case err != nil:
					return fmt.Errorf("feed entry %d: %w", e.Seq, err)
				case ok:
					batch = append(batch, rec)
				case rec.ID != "":
					dead[rec.ID] = rec.District
				}
			}
			j.progress(PhaseLoad, len(batch)+len(dead), 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("dedupjob: load changes: %w", err)
	}
	return batch, dead, seq, nil
}

// registrationValues are the values the duplicate check reads of a stored
// registration, in the order decodeRegistration keeps them: decoding only
// these, not every field's version and the record's writers, is most of
// what loading a province costs.
var registrationValues = [...]string{"name", "gender", "birth_date", "id_number", "household_address",
	"residence_address", "phone", "ref", "status", dsync.FieldDeleted}

// decodeRegistration reads a stored record for the engine: ok is false for
// another type, a deleted or a removed registration; of those, a
// registration's ID and district are in rec (ID "": another type). A record
// whose values are not plain JSON strings is read the long way
// (store.DecodeRecord and engineRecord): both give the same for every
// record the model accepts.
func decodeRegistration(data []byte) (rec dedup.Record, seq uint64, ok bool, err error) {
	var raw [len(registrationValues)][]byte
	id, typ, district, seq, ok := dsync.ScanRecordValues(data, registrationValues[:], raw[:])
	const status, deleted = 8, 9
	var vals [deleted][]byte
	for i := range vals {
		if raw[i] != nil {
			vals[i], ok = model.PlainBytes(raw[i])
		}
		if !ok {
			break
		}
	}
	if ok && (raw[deleted] == nil || string(raw[deleted]) == "false") {
		switch {
		case string(typ) != model.TypeRegistration:
			return rec, seq, false, nil
		case string(vals[status]) == statusRemoved:
			return deadRecord(string(id), string(district)), seq, false, nil
		}
		return newRecord(id, district, vals[:status]), seq, true, nil
	}
	var r dsync.Record
	if err := store.DecodeRecord(data, &r); err != nil {
		return rec, 0, false, err
	}
	if r.Type != model.TypeRegistration {
		return rec, r.Seq, false, nil
	}
	if rec, ok = engineRecord(&r); !ok {
		rec = deadRecord(r.ID, r.District)
	}
	return rec, r.Seq, ok, nil
}

// newRecord makes the engine's record of a registration's ID, district and
// values (in registrationValues' order) in one allocation: at ten million
// registrations, one string each was a hundred million objects for the
// collector to mark.
func newRecord(id, district []byte, vals [][]byte) dedup.Record {
	n := len(id) + len(district)
	for _, v := range vals {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	b.Write(id)
	b.Write(district)
	for _, v := range vals {
		b.Write(v)
	}
	all := b.String()
	next := func(n int) string {
		s := all[:n]
		all = all[n:]
		return s
	}
	rec := dedup.Record{ID: next(len(id)), District: next(len(district))}
	for i, f := range [...]*string{&rec.Name, &rec.Gender, &rec.BirthDate, &rec.IDNumber,
		&rec.HouseholdAddress, &rec.ResidenceAddress, &rec.Phone, &rec.Ref} {
		*f = next(len(vals[i]))
	}
	return rec
}

// deadRecord names a registration deleted or removed: its ID and district.
func deadRecord(id, district string) dedup.Record {
	return dedup.Record{ID: strings.Clone(id), District: strings.Clone(district)}
}

// engineRecord maps a stored registration to the engine's record; ok is
// false for a deleted or removed registration (or one that does not decode).
func engineRecord(r *dsync.Record) (dedup.Record, bool) {
	if r.Deleted() {
		return dedup.Record{}, false
	}
	reg, err := model.RegistrationFromFields(r.Values())
	if err != nil || reg.Status == statusRemoved {
		return dedup.Record{}, false
	}
	// The decoder may slice r's strings out of one copy of the stored
	// record: cloning the two kept here lets that copy go (900 MB at a
	// million records).
	return dedup.Record{ID: strings.Clone(r.ID), Ref: reg.Ref, District: strings.Clone(r.District), Name: reg.Name, Gender: reg.Gender,
		BirthDate: reg.BirthDate, IDNumber: reg.IDNumber, HouseholdAddress: reg.HouseholdAddress,
		ResidenceAddress: reg.ResidenceAddress, Phone: reg.Phone}, true
}

const statusRemoved = "removed"

// withoutRecords drops dead records from proposals (an index may still hold
// them) and the proposals left with fewer than two members.
func withoutRecords(cs []dedup.Case, dead map[string]string) []dedup.Case {
	if len(dead) == 0 {
		return cs
	}
	out := cs[:0]
	for _, c := range cs {
		var recs []string
		for _, r := range c.Records {
			if !isDead(dead, r) {
				recs = append(recs, r)
			}
		}
		if len(recs) < 2 {
			continue
		}
		var links []dedup.Link
		for _, l := range c.Evidence {
			if !isDead(dead, l.A) && !isDead(dead, l.B) {
				links = append(links, l)
			}
		}
		c.Records, c.Evidence = recs, links
		out = append(out, c)
	}
	return out
}

func isDead(dead map[string]string, id string) bool {
	_, ok := dead[id]
	return ok
}

func formatSeq(seq uint64) []byte { return strconv.AppendUint(nil, seq, 10) }

// Package dedupjob runs the central duplicate check (不重) over the store: a
// full run over every live registration, incremental runs over what changed
// since, reconciliation with the cases people already decided, the
// coordinators' decisions, and the duplicates export.
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
	"fmt"
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
	SettingSeq  = "dedup.seq"  // decimal feed sequence number the last run saw
	SettingLast = "dedup.last" // JSON Summary of the last run
)

// Phases reported to a Progress callback.
const (
	PhaseLoad  = "load"  // reading registrations (total 0: not known yet)
	PhaseMatch = "match" // the engine at work
	PhaseSave  = "save"  // reconciling and writing cases
)

// Progress is told where a run is; total is 0 when not known.
type Progress func(phase string, done, total int)

// Options tune the job. Start from DefaultOptions.
type Options struct {
	Engine   dedup.Options
	Progress Progress // nil: none
	PageSize int      // feed page of an incremental load
	Now      func() time.Time
}

// DefaultOptions returns the engine's defaults and pages of 1,000 records.
func DefaultOptions() Options {
	return Options{Engine: dedup.DefaultOptions(), PageSize: 1000, Now: time.Now}
}

// Summary is the outcome of one run.
type Summary struct {
	Full      bool      `json:"full"`
	Records   int       `json:"records"`   // registrations compared (full) or in the batch (incremental)
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
	// incremental runs; 0 means the next incremental run is a full one.
	Indexed int      `json:"indexed"`
	Last    *Summary `json:"last,omitempty"`
	Error   string   `json:"error,omitempty"` // of the last run
}

// Job is the duplicate check of one store. It keeps the index of its last
// full run in memory for incremental runs; one run goes at a time.
type Job struct {
	st      store.Store
	opt     Options
	running atomic.Bool

	mu        sync.Mutex
	ix        *dedup.Index
	ixSeq     uint64            // feed sequence the index saw
	districts map[string]string // record ID -> district of the indexed records
	status    Status
}

// New makes the job for st.
func New(st store.Store, opt Options) *Job {
	if opt.PageSize <= 0 {
		opt.PageSize = 1000
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
// built against it. Without an index (a fresh process) it is a full run.
func (j *Job) RunIncremental(ctx context.Context) (Summary, error) {
	release, err := j.claim(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer release()
	j.begin(!j.hasIndex())
	return j.end(j.incremental(ctx))
}

// Start runs in the background (incremental or full) and returns at once;
// ErrRunning if a run is under way. ctx bounds the run, not the call.
func (j *Job) Start(ctx context.Context, incremental bool) error {
	release, err := j.claim(ctx)
	if err != nil {
		return err
	}
	full := !incremental || !j.hasIndex()
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

// claim takes the one run: in this process, and, on a store several
// servers share (store.RunLocker), across them; else ErrRunning.
func (j *Job) claim(ctx context.Context) (release func(), err error) {
	if !j.running.CompareAndSwap(false, true) {
		return nil, ErrRunning
	}
	l, ok := j.st.(store.RunLocker)
	if !ok {
		return func() { j.running.Store(false) }, nil
	}
	unlock, ok, err := l.TryLock(ctx, "dedup")
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
	if j.ix != nil {
		s.Indexed = j.ix.Len()
	}
	j.mu.Unlock()
	if s.Last != nil {
		return s, nil
	}
	err := j.st.View(ctx, func(tx store.Tx) error {
		v, err := tx.Setting(SettingLast)
		if err != nil {
			return err
		}
		s.Last = new(Summary)
		return json.Unmarshal(v, s.Last)
	})
	if err != nil && err != store.ErrNotFound {
		return s, err
	}
	return s, nil
}

func (j *Job) hasIndex() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ix != nil
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

func (j *Job) full(ctx context.Context) (Summary, error) {
	started := j.opt.Now()
	recs, seq, err := j.loadAll(ctx)
	if err != nil {
		return Summary{}, err
	}
	j.progress(PhaseMatch, 0, len(recs))
	var proposals []dedup.Case
	var ix *dedup.Index
	if len(recs) >= 2 {
		var res *dedup.Result
		res, ix, err = dedup.Run(recs, j.opt.Engine)
		if err != nil {
			return Summary{}, fmt.Errorf("dedupjob: run: %w", err)
		}
		proposals = res.Proposals()
	}
	j.progress(PhaseMatch, len(recs), len(recs))
	districts := make(map[string]string, len(recs))
	for i := range recs {
		districts[recs[i].ID] = recs[i].District
	}
	sum := Summary{Full: true, Records: len(recs), Seq: seq, Started: started}
	lookup := func(id string) string { return districts[id] }
	if err := j.save(ctx, &sum, proposals, nil, lookup); err != nil {
		return Summary{}, err
	}
	j.mu.Lock()
	j.ix, j.ixSeq, j.districts = ix, seq, districts
	j.mu.Unlock()
	return sum, nil
}

func (j *Job) incremental(ctx context.Context) (Summary, error) {
	j.mu.Lock()
	ix, from, districts := j.ix, j.ixSeq, j.districts
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
	var proposals []dedup.Case
	if len(batch) > 0 {
		res, err := ix.Match(batch)
		if err != nil {
			return Summary{}, fmt.Errorf("dedupjob: match: %w", err)
		}
		proposals = withoutRecords(res.Proposals(), dead)
	}
	j.progress(PhaseMatch, len(batch), len(batch))
	changed := make(map[string]string, len(batch))
	for i := range batch {
		changed[batch[i].ID] = batch[i].District
	}
	lookup := func(id string) string {
		if d, ok := changed[id]; ok {
			return d
		}
		return districts[id]
	}
	sum := Summary{Records: len(batch), Seq: seq, Started: started}
	return sum, j.save(ctx, &sum, proposals, dead, lookup)
}

// loadAll reads every live registration and the feed sequence it saw.
func (j *Job) loadAll(ctx context.Context) (recs []dedup.Record, seq uint64, err error) {
	j.progress(PhaseLoad, 0, 0)
	err = j.st.View(ctx, func(tx store.Tx) error {
		if seq, err = tx.HighSeq(); err != nil {
			return err
		}
		return tx.ForEachRecord(model.TypeRegistration, func(r *dsync.Record) error {
			if rec, ok := engineRecord(r); ok {
				recs = append(recs, rec)
				if len(recs)%10000 == 0 {
					j.progress(PhaseLoad, len(recs), 0)
				}
			}
			return ctx.Err()
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("dedupjob: load registrations: %w", err)
	}
	j.progress(PhaseLoad, len(recs), len(recs))
	return recs, seq, nil
}

// loadSince reads the registrations changed after seq from the feed: the
// live ones as a batch, the deleted or removed ones as dead.
func (j *Job) loadSince(ctx context.Context, from uint64) (batch []dedup.Record, dead map[string]bool, seq uint64, err error) {
	j.progress(PhaseLoad, 0, 0)
	dead = map[string]bool{}
	err = j.st.View(ctx, func(tx store.Tx) error {
		if seq, err = tx.HighSeq(); err != nil {
			return err
		}
		for cursor, more := from, true; more; {
			var page []dsync.Record
			if page, more, err = tx.Feed(nil, cursor, j.opt.PageSize); err != nil {
				return err
			}
			for i := range page {
				r := &page[i]
				cursor = r.Seq
				if r.Type != model.TypeRegistration {
					continue
				}
				if rec, ok := engineRecord(r); ok {
					batch = append(batch, rec)
				} else {
					dead[r.ID] = true
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
func withoutRecords(cs []dedup.Case, dead map[string]bool) []dedup.Case {
	if len(dead) == 0 {
		return cs
	}
	out := cs[:0]
	for _, c := range cs {
		var recs []string
		for _, r := range c.Records {
			if !dead[r] {
				recs = append(recs, r)
			}
		}
		if len(recs) < 2 {
			continue
		}
		var links []dedup.Link
		for _, l := range c.Evidence {
			if !dead[l.A] && !dead[l.B] {
				links = append(links, l)
			}
		}
		c.Records, c.Evidence = recs, links
		out = append(out, c)
	}
	return out
}

func formatSeq(seq uint64) []byte { return strconv.AppendUint(nil, seq, 10) }

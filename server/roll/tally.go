package roll

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Tally keeps the statistics' figures per district as of a feed sequence,
// so a page showing them (the console's overview) need not read every
// record at each request: the first Refresh counts everything, as
// ComputeStats does; later ones count again only the districts whose feed
// moved since (a registrar's push touches one). Figures are ComputeStats's,
// plus registrations per day.
type Tally struct {
	ready atomic.Bool // the first count is done
	mu    sync.Mutex
	seq   uint64                    // feed sequence counted up to
	per   map[string]*districtTally // district code -> its figures
	meta  map[string]model.District // the districts table, read at each refresh
}

type districtTally struct {
	counts     Counts
	days       map[string]int // YYYY-MM-DD -> registrations first written that day
	unverified []string       // registrations whose identity is not verified, by record ID
}

// DayCount is the number of registrations first written on a day (UTC).
type DayCount struct {
	Day   string
	Count int
}

// NewTally returns an empty tally; Refresh fills it.
func NewTally() *Tally { return &Tally{} }

// Ready reports whether the first count is done (until then Refresh
// blocks for as long as reading every record takes).
func (t *Tally) Ready() bool { return t.ready.Load() }

// Refresh brings the tally up to the store's current feed sequence.
func (t *Tally) Refresh(ctx context.Context, st store.Store) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return st.View(ctx, func(tx store.Tx) error {
		high, err := tx.HighSeq()
		if err != nil || (t.per != nil && high == t.seq) {
			return err
		}
		if err := t.readDistricts(tx); err != nil {
			return err
		}
		if t.per == nil {
			if err = t.countAll(tx); err == nil {
				t.ready.Store(true)
			}
		} else {
			err = t.countMoved(tx)
		}
		if err == nil {
			t.seq = high
		}
		return err
	})
}

func (t *Tally) readDistricts(tx store.Tx) error {
	ds, err := tx.Districts()
	if err != nil {
		return err
	}
	t.meta = make(map[string]model.District, len(ds))
	for _, d := range ds {
		t.meta[d.Code] = d
	}
	return nil
}

// countAll counts every record. Records are decoded and judged (read and
// validated, the costly part) on every core by store.Scan, and counted one
// batch at a time: on one goroutine, a province's ten million took a
// starting server 135 s of a core.
func (t *Tally) countAll(tx store.Tx) error {
	per := map[string]*districtTally{}
	var mu sync.Mutex
	decode := func(data []byte) (j judged, ok bool, err error) {
		var rec dsync.Record
		if err = store.DecodeRecord(data, &rec); err != nil {
			return j, false, err
		}
		j = judge(&rec)
		return j, !j.deleted, nil
	}
	err := store.Scan(tx, "", decode, func(batch []judged) error {
		mu.Lock()
		defer mu.Unlock()
		for i := range batch {
			addJudged(per, &batch[i])
		}
		return nil
	})
	if err == nil {
		t.per = per
	}
	return err
}

// countMoved counts again each district whose feed has an entry above the
// sequence the tally saw.
func (t *Tally) countMoved(tx store.Tx) error {
	ds, err := tx.FeedDistricts("")
	if err != nil {
		return err
	}
	for _, d := range ds {
		moved, _, err := tx.FeedRaw([]string{d}, t.seq, 1)
		if err != nil {
			return err
		}
		if len(moved) == 0 {
			continue
		}
		per := map[string]*districtTally{}
		for cursor, more := uint64(0), true; more; {
			var recs []dsync.Record
			if recs, more, err = tx.Feed([]string{d}, cursor, 2000); err != nil {
				return err
			}
			for i := range recs {
				add(per, &recs[i])
				cursor = recs[i].Seq
			}
		}
		t.per[d] = per[d]
		if per[d] == nil {
			delete(t.per, d)
		}
	}
	return nil
}

func add(per map[string]*districtTally, rec *dsync.Record) {
	j := judge(rec)
	addJudged(per, &j)
}

func addJudged(per map[string]*districtTally, j *judged) {
	if j.deleted {
		return
	}
	dt := per[j.district]
	if dt == nil {
		dt = &districtTally{counts: newCounts(), days: map[string]int{}}
		per[j.district] = dt
	}
	if dt.counts.count(j) {
		dt.unverified = append(dt.unverified, j.id)
	}
	if j.day != "" {
		dt.days[j.day]++
	}
}

// firstWritten is the day of the earliest write the record still carries:
// its creation, unless every field was written again since.
func firstWritten(rec *dsync.Record) string {
	first := rec.HLC
	for _, w := range rec.Writers {
		if w.HLC != 0 && w.HLC < first {
			first = w.HLC
		}
	}
	return first.Time().Format("2006-01-02")
}

// Stats are the figures of the districts inScope accepts (nil: all),
// rolled up to towns, counties and the total as ComputeStats does.
func (t *Tally) Stats(inScope func(string) bool) *Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	per := map[string]*Unit{}
	counties := map[string]string{}
	for _, code := range t.codes() {
		if inScope != nil && !inScope(code) {
			continue
		}
		d := t.meta[code]
		u := &Unit{Level: LevelDistrict, Code: code, Name: d.Name, Parent: d.Town, Counts: newCounts()}
		if dt := t.per[code]; dt != nil {
			u.Add(&dt.counts)
		}
		counties[code], per[code] = placed(u, d.County), u
	}
	return rollUp(per, counties)
}

// PerDay is the registrations of the districts inScope accepts (nil: all)
// by the day they were first written, oldest first.
func (t *Tally) PerDay(inScope func(string) bool) []DayCount {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := map[string]int{}
	for code, dt := range t.per {
		if inScope != nil && !inScope(code) {
			continue
		}
		for day, n := range dt.days {
			sum[day] += n
		}
	}
	out := make([]DayCount, 0, len(sum))
	for _, day := range slices.Sorted(maps.Keys(sum)) {
		out = append(out, DayCount{day, sum[day]})
	}
	return out
}

// DistrictName is the districts table's name of code ("" if none).
func (t *Tally) DistrictName(code string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.meta[code].Name
}

// codes are the districts with records and those of the districts table
// (a district without records yet counts zero, as in ComputeStats).
func (t *Tally) codes() []string {
	out := slices.Collect(maps.Keys(t.per))
	for code := range t.meta {
		if t.per[code] == nil {
			out = append(out, code)
		}
	}
	return out
}

// Unverified lists the registrations of district whose identity was not
// verified when the tally last counted it (removed ones too), for
// ListUnverified to read instead of the whole district
// (VerificationQuery.Candidates); ok is false for a district the tally has
// not counted.
func (t *Tally) Unverified(district string) (ids []string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.per == nil {
		return nil, false
	}
	dt := t.per[district]
	if dt == nil {
		_, known := t.meta[district]
		return nil, known
	}
	return slices.Clone(dt.unverified), true
}

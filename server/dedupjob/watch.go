package dedupjob

import (
	"context"
	"errors"
	"time"

	"github.com/dengji/dengji/server/store"
)

// DefaultWatchEvery is how often Watch looks for registrations to match.
const DefaultWatchEvery = 500 * time.Millisecond

// watchDuty bounds the share of the time Watch spends matching: after a
// pass that took d it waits at least (1/watchDuty - 1)·d. Each pass costs
// the pushes beside it more than its CPU (a write transaction for its
// cases, a read of the feed, the index's postings merged once more),
// whatever its batch: at a million indexed, a pass every 500 ms held pushes
// to 0.63–0.75 of their rate with matching off; paced, passes come less
// often while registrations pour in, their batches grow, and pushes kept
// 0.80–0.82 on a quiet machine (BenchmarkContinuous).
const watchDuty = 0.5

// watchMaxWait bounds that wait, in intervals: after the first pass, which
// may rebuild the index, or a pass that waited for the store, matching
// picks up again within seconds.
const watchMaxWait = 4

// backlogCap bounds the records Status counts as waiting (beyond it, the
// sequence numbers committed say how many changes wait).
const backlogCap = 10_000

// sighting is a feed sequence the watcher saw committed, and when.
type sighting struct {
	seq uint64
	at  time.Time
}

// Watch matches registrations continuously until ctx ends: every interval
// (DefaultWatchEvery if 0; longer after a long pass, see watchDuty) it
// reads the feed's highest sequence, and when records committed after the
// index's cursor it runs an incremental run over all of them (in one batch
// however many arrived meanwhile). The first
// pass brings the index back: rebuilt from the store when a full run kept
// its weights, else a full run. When a small index (under retuneBelow) has
// grown to twice what it was built with, the pass is a full run instead,
// re-estimating the weights (a new server's first weights come from its
// first few registrations). While an operator's run is under way it
// waits; a run that fails is tried again at the next interval, its error
// in Status.
//
// On a store several servers share (store.RunLocker), one server matches:
// Watch first takes the run lock a full run takes, trying again every
// interval while another server holds it, and keeps it until ctx ends;
// meanwhile this server's own runs go under it and other servers' runs are
// ErrRunning. Taking over, it drops any index it had, since another
// server may have matched since: the first pass rebuilds it from the
// store.
func (j *Job) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultWatchEvery
	}
	if !j.holdLock(ctx, every) {
		return
	}
	j.mu.Lock()
	j.watching = true
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.watching = false
		j.mu.Unlock()
		j.releaseLock()
	}()
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		start := time.Now()
		if j.due(ctx) {
			run := j.RunIncremental
			if j.retuneDue() {
				run = j.Run
			}
			_, err := run(ctx)
			if err != nil && !errors.Is(err, ErrRunning) && ctx.Err() == nil {
				// Kept in Status.Error; wait a little longer before trying again.
				sleep(ctx, 10*every)
			}
		}
		t.Reset(nextPass(every, time.Since(start)))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nextPass is how long Watch waits after a pass that took took: the rest
// of the interval, or longer after a long pass (watchDuty), at most
// watchMaxWait intervals.
func nextPass(every, took time.Duration) time.Duration {
	return min(max(every-took, time.Duration(float64(took)*(1/watchDuty-1))), watchMaxWait*every)
}

// holdLock takes the store's run lock for Watch, waiting for it as long as
// another server (or a run of this one) holds it; false if ctx ended first.
// A store one server owns (bbolt) has no such lock: true at once.
func (j *Job) holdLock(ctx context.Context, every time.Duration) bool {
	l, ok := j.st.(store.RunLocker)
	if !ok {
		return true
	}
	for {
		unlock, ok, err := l.TryLock(ctx, runLockName)
		j.mu.Lock()
		j.standby = err == nil && !ok
		if err == nil && ok {
			defer j.mu.Unlock()
			j.unlock = unlock
			j.ix, j.caseOf, j.ixSeq, j.indexed = nil, nil, 0, 0
			return true
		}
		j.mu.Unlock()
		sleep(ctx, every)
		if ctx.Err() != nil {
			j.mu.Lock()
			j.standby = false
			j.mu.Unlock()
			return false
		}
	}
}

// releaseLock gives back the run lock holdLock took, if any.
func (j *Job) releaseLock() {
	j.mu.Lock()
	unlock := j.unlock
	j.unlock = nil
	j.mu.Unlock()
	if unlock != nil {
		unlock()
	}
}

// due notes the feed's highest sequence and reports whether records wait
// to be matched (or the index is still to be brought back).
func (j *Job) due(ctx context.Context) bool {
	var high uint64
	err := j.st.View(ctx, func(tx store.Tx) error {
		var err error
		high, err = tx.HighSeq()
		return err
	})
	if err != nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.seen); high > j.ixSeq && (n == 0 || j.seen[n-1].seq < high) {
		j.seen = append(j.seen, sighting{high, j.opt.Now()})
	}
	return high > j.ixSeq || j.ix == nil && j.ixSeq == 0 && high > 0
}

// retuneBelow is the size under which an index is re-tuned when it
// doubles. A larger one is left to an operator's full run: it would hold
// up the matching of what arrives meanwhile for as long as it runs.
const retuneBelow = 50_000

// retuneDue reports a small index grown to twice the records it was built
// with: its weights, estimated on the first few registrations of a new
// server, are worth estimating again, with a full run.
func (j *Job) retuneDue() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ix != nil && j.fullSize < retuneBelow && j.indexed >= 2*j.fullSize
}

// forgetSeen drops the sightings the index has matched. j.mu is held.
func (j *Job) forgetSeen(seq uint64) {
	i := 0
	for i < len(j.seen) && j.seen[i].seq <= seq {
		i++
	}
	j.seen = append(j.seen[:0], j.seen[i:]...)
}

// backlog counts the records committed after the index's cursor (s.Cursor,
// or the one the store keeps when this process has no index yet) and says
// how long the oldest has waited.
func (j *Job) backlog(tx store.Tx, s *Status) error {
	if s.Indexed == 0 && s.Cursor == 0 {
		k, _, err := readKept(tx)
		if err != nil {
			return err
		}
		s.Cursor = k.seq
	}
	for cursor, more := s.Cursor, true; more && s.Backlog < backlogCap; {
		page, m, err := tx.FeedRaw(nil, cursor, min(5000, backlogCap-s.Backlog))
		if err != nil {
			return err
		}
		s.Backlog += len(page)
		if len(page) > 0 {
			cursor = page[len(page)-1].Seq
		}
		more = m
		s.BacklogMore = m && s.Backlog >= backlogCap
	}
	high, err := tx.HighSeq()
	if err != nil {
		return err
	}
	s.Changes = high - min(high, s.Cursor)
	j.mu.Lock()
	defer j.mu.Unlock()
	if s.Backlog > 0 && len(j.seen) > 0 {
		s.OldestSeconds = j.opt.Now().Sub(j.seen[0].at).Seconds()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

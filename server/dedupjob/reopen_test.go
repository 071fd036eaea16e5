package dedupjob_test

import (
	"errors"
	"testing"

	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
)

// A decided case reopened with a reason is open again and may be decided
// otherwise; a reopening without a reason, of an open case, or refused by
// Allow changes nothing; a later run does not undo the new decision.
func TestReopen(t *testing.T) {
	st, _, _ := rollStore(t, 300)
	job := dedupjob.New(st, options())
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := twoOpenCases(t, st)
	if _, err := dedupjob.Reopen(ctx, st, store.Reopen{ID: a.ID, Reason: "再看看", By: "wang"}, nil); !errors.Is(err, store.ErrNotDecided) {
		t.Fatalf("reopening an open case: %v", err)
	}
	if _, err := dedupjob.Decide(ctx, st, dedupjob.Decision{Case: a.ID, Status: store.DupConfirmed, By: "wang"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dedupjob.Reopen(ctx, st, store.Reopen{ID: a.ID, By: "wang"}, nil); !errors.Is(err, store.ErrReason) {
		t.Fatalf("no reason: %v", err)
	}
	refused := errors.New("not yours")
	if _, err := dedupjob.Reopen(ctx, st, store.Reopen{ID: a.ID, Reason: "x", By: "zhou"},
		func(*store.DupCase) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("refused by Allow: %v", err)
	}
	if getCase(t, st, a.ID).Status != store.DupConfirmed {
		t.Fatal("a refused reopening changed the case")
	}
	c, err := dedupjob.Reopen(ctx, st, store.Reopen{ID: a.ID, Reason: "两人不是同一人", By: "li"}, nil)
	if err != nil || c.Status != store.DupOpen || c.DecidedBy != "" {
		t.Fatalf("reopened: %+v %v", c, err)
	}
	if _, err := dedupjob.Decide(ctx, st, dedupjob.Decision{Case: a.ID, Status: store.DupRejected, By: "li"}); err != nil {
		t.Fatalf("deciding a reopened case otherwise: %v", err)
	}
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := getCase(t, st, a.ID); got.Status != store.DupRejected {
		t.Fatalf("after a run: %+v", got)
	}
}

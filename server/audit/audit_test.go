package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/audit"
)

// memLog is a log in memory, standing in for a store's transaction.
type memLog struct {
	entries []audit.Entry
	bad     uint64 // an entry reading it fails at, for the unreadable case
}

func (m *memLog) LastAudit() (*audit.Entry, error) {
	if len(m.entries) == 0 {
		return nil, nil
	}
	e := m.entries[len(m.entries)-1]
	return &e, nil
}

func (m *memLog) AppendAudit(e *audit.Entry) error { m.entries = append(m.entries, *e); return nil }

func (m *memLog) AuditEntries(after uint64, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, e := range m.entries {
		if e.Seq <= after {
			continue
		}
		if e.Seq == m.bad {
			return out, &audit.UnreadableError{Seq: e.Seq, Err: errors.New("bad json")}
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

func newLog(t *testing.T, n int) *memLog {
	t.Helper()
	m := &memLog{}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin", Device: "pc-1"})
	for i := range n {
		if err := audit.Append(ctx, m, audit.Import, "", audit.D{"read": i, "kind": "registrations"}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestVerify(t *testing.T) {
	cases := map[string]struct {
		tamper      func(m *memLog)
		seq         uint64
		problem     string
		wantEntries uint64
	}{
		"OK":            {func(*memLog) {}, 0, "", 2500},
		"ErrHash":       {func(m *memLog) { m.entries[1200].Target = "430102001001" }, 1201, audit.ProblemHash, 1200},
		"ErrDetails":    {func(m *memLog) { m.entries[7].Details = json.RawMessage(`{"read":8,"kind":"registrations"}`) }, 8, audit.ProblemHash, 7},
		"ErrRehashed":   {func(m *memLog) { e := &m.entries[9]; e.Actor = "li"; e.Hash = e.Sum() }, 11, audit.ProblemPrev, 10},
		"ErrRemoved":    {func(m *memLog) { m.entries = append(m.entries[:99], m.entries[100:]...) }, 101, audit.ProblemGap, 99},
		"ErrRenumbered": {func(m *memLog) { m.entries[4].Seq = 4 }, 4, audit.ProblemSeq, 4},
		"ErrUnreadable": {func(m *memLog) { m.bad = 2000 }, 2000, audit.ProblemUnreadable, 1999},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := newLog(t, 2500)
			tc.tamper(m)
			res, err := audit.Verify(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if res.Entries != tc.wantEntries {
				t.Errorf("entries checked: %d, want %d", res.Entries, tc.wantEntries)
			}
			if tc.problem == "" {
				if res.Broken != nil || res.Head != m.entries[len(m.entries)-1].Hash {
					t.Fatalf("intact log: %+v", res.Broken)
				}
				return
			}
			if res.Broken == nil || res.Broken.Seq != tc.seq || res.Broken.Problem != tc.problem {
				t.Fatalf("broken: %+v, want entry %d %s", res.Broken, tc.seq, tc.problem)
			}
			if !strings.Contains(res.Broken.Message, " / ") {
				t.Errorf("message not in Chinese and English: %q", res.Broken.Message)
			}
		})
	}
}

// Details verify whatever JSON a backend stores them as: keys reordered,
// spaced, HTML-escaped.
func TestEntry_SumDetailsCanonical(t *testing.T) {
	m := newLog(t, 1)
	e := m.entries[0]
	e.Details = json.RawMessage("{ \"kind\" : \"registrations\",\n \"read\": 0 }")
	if e.Sum() != e.Hash {
		t.Fatal("reformatted details do not verify")
	}
	e.Details = json.RawMessage(`{"kind":"registrations","read":0.0}`)
	if e.Sum() == e.Hash {
		t.Fatal("a changed number verifies")
	}
}

func TestActorFrom(t *testing.T) {
	ctx := context.Background()
	if a := audit.ActorFrom(ctx); a.User != audit.ActorSystem {
		t.Fatalf("no actor: %+v", a)
	}
	ctx = audit.WithActor(ctx, audit.Actor{User: "wang", Device: "p1"})
	if a := audit.ActorFrom(audit.As(ctx, "wang")); a != (audit.Actor{User: "wang", Device: "p1"}) {
		t.Fatalf("same user: %+v", a)
	}
	if a := audit.ActorFrom(audit.As(ctx, "li")); a != (audit.Actor{User: "li"}) {
		t.Fatalf("another user: %+v", a)
	}
}

package dedupjob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// NoticeID is the ID of the notice on a case's registration: one per
// record and case, so a case proposed again updates its notices.
func NoticeID(caseID, record string) string {
	h := sha256.Sum256([]byte(caseID + "\x00" + record))
	return "ntc-" + hex.EncodeToString(h[:8])
}

// notify writes, for each member of an open case that the batch brought
// (changed), the notice its registrars' devices pull: where else the
// person may be registered, by district only. A notice already written
// keeps its answer; one that would say the same is left alone.
func notify(tx store.Tx, c *store.DupCase, changed map[string]bool, now time.Time) error {
	for _, m := range c.Members {
		if !changed[m.Record] {
			continue
		}
		places, err := elsewhere(tx, c, m.Record)
		if err != nil {
			return err
		}
		n := &dsync.Notice{ID: NoticeID(c.ID, m.Record), Record: m.Record, District: m.District, Case: c.ID,
			Strength: c.Decision, Status: string(c.Status), Elsewhere: places, Message: noticeMessage(places),
			Created: now, Updated: now}
		old, err := tx.Notice(n.ID)
		switch {
		case err == nil:
			if sameNotice(old, n) {
				continue
			}
			n.Created, n.Answer = old.Created, old.Answer
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.PutNotice(n); err != nil {
			return err
		}
	}
	return nil
}

func sameNotice(a, b *dsync.Notice) bool {
	return a.District == b.District && a.Strength == b.Strength && a.Status == b.Status &&
		slices.Equal(a.Elsewhere, b.Elsewhere)
}

// elsewhere lists the districts of a case's members other than record,
// each once, with their names where the districts table has them.
func elsewhere(tx store.Tx, c *store.DupCase, record string) ([]dsync.NoticePlace, error) {
	var out []dsync.NoticePlace
	for _, m := range c.Members {
		if m.Record == record || slices.ContainsFunc(out, func(p dsync.NoticePlace) bool { return p.District == m.District }) {
			continue
		}
		p := dsync.NoticePlace{District: m.District}
		d, err := tx.District(m.District)
		switch {
		case err == nil:
			p.Name = d.Name
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// noticeMessage is what the registrar reads: 可能已在…登记 / may already be
// registered in …, naming the districts by name (and code).
func noticeMessage(places []dsync.NoticePlace) string {
	zh, en := make([]string, len(places)), make([]string, len(places))
	for i, p := range places {
		zh[i], en[i] = p.District, p.District
		if p.Name != "" {
			zh[i] = p.Name + "（" + p.District + "）"
			en[i] = p.Name + " (" + p.District + ")"
		}
	}
	return "可能已在" + strings.Join(zh, "、") + "登记 / may already be registered in " + strings.Join(en, ", ")
}

// followCase brings the notices of a case's members to the case's status
// (a coordinator's decision, or withdrawn when the case is dropped), so the
// registrar's device learns how it ended.
func followCase(tx store.Tx, c *store.DupCase, status string, now time.Time) error {
	for _, m := range c.Members {
		n, err := tx.Notice(NoticeID(c.ID, m.Record))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if n.Status == status {
			continue
		}
		n.Status, n.Updated = status, now
		if err := tx.PutNotice(n); err != nil {
			return err
		}
	}
	return nil
}

// dropCase deletes an open case the data no longer supports; its notices
// are withdrawn.
func dropCase(tx store.Tx, c *store.DupCase, now time.Time) error {
	if err := tx.DeleteDupCase(c.ID); err != nil {
		return err
	}
	return followCase(tx, c, dsync.NoticeWithdrawn, now)
}

// Answer is a registrar's answer to a notice.
type Answer struct {
	Notice string
	Answer string // one of model's Answer* constants
	Note   string // free text; required with AnswerOther
	By     string
	Device string
	// Allow sees the notice before anything is written; an error (e.g. a
	// district outside the caller's) aborts.
	Allow func(*dsync.Notice) error
}

// AnswerNotice records what the voter said on the notice, where the case's
// coordinators read it, and audits it (the answer, never the note: it may
// name people). The notice is renumbered, so the district's other devices
// learn the answer too. Answering again replaces the answer.
func AnswerNotice(ctx context.Context, st store.Store, a Answer) (*dsync.Notice, error) {
	ctx = audit.As(ctx, a.By)
	var n *dsync.Notice
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if n, err = tx.Notice(a.Notice); err != nil {
			return err
		}
		if a.Allow != nil {
			if err := a.Allow(n); err != nil {
				return err
			}
		}
		if err := model.CheckNoticeAnswer(a.Answer, a.Note); err != nil {
			return err
		}
		now := time.Now().UTC()
		n.Answer = &dsync.NoticeAnswer{Answer: a.Answer, Note: a.Note, By: a.By, Device: a.Device, At: now}
		n.Updated = now
		if err := tx.PutNotice(n); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.NoticeAnswered, n.Case, audit.D{"notice": n.ID, "record": n.Record,
			"district": n.District, "answer": a.Answer, "note": a.Note != ""})
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

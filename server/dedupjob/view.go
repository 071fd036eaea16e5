package dedupjob

import (
	"encoding/json"
	"errors"
	dsync "github.com/dengji/dengji/sync"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// CaseView is a case as a reviewer may see it (the API's answer and the
// console's page): a member outside the reviewer's districts by its record
// ID and district only, and the links to it without their evidence.
type CaseView struct {
	ID        string          `json:"id"`
	Decision  string          `json:"decision"` // auto or review
	Status    store.DupStatus `json:"status"`
	Score     float64         `json:"score"`
	Keep      string          `json:"keep,omitempty"`
	Members   []MemberView    `json:"members"`
	Evidence  json.RawMessage `json:"evidence,omitempty"`
	Found     time.Time       `json:"found"`
	DecidedBy string          `json:"decided_by,omitempty"`
	DecidedAt time.Time       `json:"decided_at,omitzero"`
	// Notes are what registrars recorded of the voters' word on the notices
	// of the case's registrations, whichever district they are in.
	Notes []CaseNote `json:"notes,omitempty"`
}

// CaseNote is a registrar's answer to the notice on a member.
type CaseNote struct {
	Record   string `json:"record"`
	District string `json:"district"`
	dsync.NoticeAnswer
}

// MemberView carries the registration only when its district is the
// reviewer's: a coordinator sees that a member elsewhere exists, not who.
type MemberView struct {
	Record       string              `json:"record"`
	District     string              `json:"district"`
	Registration *model.Registration `json:"registration,omitempty"`
}

// ShowCase is c as u may see it, read in tx.
func ShowCase(tx store.Tx, u *store.User, c *store.DupCase) (CaseView, error) {
	dc := CaseView{ID: c.ID, Decision: c.Decision, Status: c.Status, Score: c.Score, Keep: c.Keep,
		Evidence: visibleEvidence(u, c), Found: c.Found, DecidedBy: c.DecidedBy, DecidedAt: c.DecidedAt}
	for _, m := range c.Members {
		dm := MemberView{Record: m.Record, District: m.District}
		if u.InScope(m.District) {
			rec, err := tx.Record(m.Record)
			switch {
			case err == nil:
				reg, err := model.RegistrationFromFields(rec.Values())
				if err != nil {
					return dc, err
				}
				dm.Registration = &reg
			case !errors.Is(err, store.ErrNotFound):
				return dc, err
			}
		}
		dc.Members = append(dc.Members, dm)
		n, err := tx.Notice(NoticeID(c.ID, m.Record))
		switch {
		case err == nil && n.Answer != nil:
			dc.Notes = append(dc.Notes, CaseNote{Record: m.Record, District: n.District, NoticeAnswer: *n.Answer})
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return dc, err
		}
	}
	return dc, nil
}

// EvidenceLink is a scored link of a case's evidence (dedup.Link), its
// evidence kept as stored.
type EvidenceLink struct {
	A        string          `json:"a"`
	B        string          `json:"b"`
	Decision json.RawMessage `json:"decision,omitempty"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// visibleEvidence is the case's evidence with the field comparisons left
// out of every link to a member outside u's districts: how a name, ID
// number, phone or address compared says something of that person. The
// link itself (which records, the engine's decision) stays. Evidence that
// does not read as links is left out whole unless every member is in scope.
func visibleEvidence(u *store.User, c *store.DupCase) json.RawMessage {
	hidden := map[string]bool{}
	for _, m := range c.Members {
		if !u.InScope(m.District) {
			hidden[m.Record] = true
		}
	}
	if len(hidden) == 0 || len(c.Evidence) == 0 {
		return c.Evidence
	}
	var links []EvidenceLink
	if err := json.Unmarshal(c.Evidence, &links); err != nil {
		return nil
	}
	for i := range links {
		if hidden[links[i].A] || hidden[links[i].B] {
			links[i].Evidence = nil
		}
	}
	out, err := json.Marshal(links)
	if err != nil {
		return nil
	}
	return out
}

// AllowReviewer is the scope check of a reviewer's decision on a case: one
// with no member in u's districts is not found (like one that does not
// exist), one with some but not all is out of scope (outOfScope).
func AllowReviewer(u *store.User, outOfScope error) func(*store.DupCase) error {
	return func(dc *store.DupCase) error {
		ds := dc.Districts()
		inScope := 0
		for _, d := range ds {
			if u.InScope(d) {
				inScope++
			}
		}
		switch {
		case inScope == 0:
			return store.ErrNotFound
		case inScope < len(ds):
			return outOfScope
		}
		return nil
	}
}

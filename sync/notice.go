package sync

import "time"

// Notice tells the registrars of a district that one of its registrations
// is in a suspected duplicate case: where else the person may be
// registered (the other members' districts), how sure the engine is, and
// the case. Nothing else of the other registrations is in it: their
// coordinators see them, the registrar does not. Devices read notices with
// GET /v1/notices above a cursor (Seq), apart from the record feed; the
// registrar's answer (what the voter said) goes back with POST
// /v1/notices/{id}/answer and reaches the case's coordinators.
type Notice struct {
	ID       string `json:"id"`
	Seq      uint64 `json:"seq"` // renumbered at each change: a cursor above the old number sees it again
	Record   string `json:"record"`
	District string `json:"district"` // the record's
	Case     string `json:"case"`
	Strength string `json:"strength"` // the engine's: auto or review
	// Status is the case's: open, confirmed, rejected; or withdrawn when
	// the data no longer supports it.
	Status    string        `json:"status"`
	Elsewhere []NoticePlace `json:"elsewhere"` // the other members' districts, each once
	Message   string        `json:"message"`   // 可能已在…登记 / may already be registered in …
	Created   time.Time     `json:"created"`
	Updated   time.Time     `json:"updated"`
	Answer    *NoticeAnswer `json:"answer,omitempty"`
}

// NoticeWithdrawn is the status of a notice whose case was dropped.
const NoticeWithdrawn = "withdrawn"

// NoticePlace is a district where a case's other registrations are.
type NoticePlace struct {
	District string `json:"district"`
	Name     string `json:"name,omitempty"`
}

// NoticeAnswer is what the registrar recorded of the voter's word
// (model.CheckNoticeAnswer says what is accepted).
type NoticeAnswer struct {
	Answer string    `json:"answer"` // registered_there, different_person, other
	Note   string    `json:"note,omitempty"`
	By     string    `json:"by,omitempty"`
	Device string    `json:"device,omitempty"`
	At     time.Time `json:"at"`
}

// NoticePage is the answer to GET /v1/notices: notices above the asked
// cursor in Seq order; Cursor is the last one's Seq (or the asked cursor).
type NoticePage struct {
	Notices []Notice `json:"notices"`
	Cursor  uint64   `json:"cursor"`
	More    bool     `json:"more"`
}

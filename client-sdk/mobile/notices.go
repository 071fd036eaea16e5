package mobile

import (
	"encoding/json"
	"errors"

	"github.com/dengji/dengji/model"
)

// Notices returns the notices of suspected duplicates on this device's
// districts' registrations, the most recently changed first, as a JSON
// array of {"id","record","district","case","strength","status",
// "elsewhere":[{"district","name"}],"message","answer"?,"pending"?,
// "refused"?}. Show message (可能已在…登记 / may already be registered in …)
// on the record, ask the voter, and call AnswerNotice.
func (m *Device) Notices() ([]byte, error) {
	ns, err := m.d.Notices()
	if err != nil {
		return nil, wrap(err)
	}
	return json.Marshal(ns)
}

// AnswerNotice records what the voter said, offline, to be sent at the next
// Sync: answer is "registered_there" (registered there, remove here),
// "different_person", or "other" with a note (at most 500 characters). A
// bad answer or note is a bad_input error, an unknown notice not_found.
func (m *Device) AnswerNotice(id, answer, note string) error {
	err := m.d.AnswerNotice(id, answer, note)
	switch {
	case errors.Is(err, model.ErrNoticeAnswer):
		return fail("bad_input", "答复应为 registered_there、different_person 或 other / answer must be registered_there, different_person or other")
	case errors.Is(err, model.ErrNoticeNote):
		return fail("bad_input", "备注最多500字、不含控制字符，答复为 other 时必填 / note: at most 500 characters, no control characters, required with other")
	}
	return wrap(err)
}

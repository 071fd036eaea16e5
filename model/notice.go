package model

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// What a registrar may answer to a notice of a suspected duplicate: what
// the voter said.
const (
	AnswerRegisteredThere = "registered_there" // registered there: remove here
	AnswerDifferentPerson = "different_person" // not the same person
	AnswerOther           = "other"            // see the note
)

// MaxNoteRunes bounds a registrar's note on a notice.
const MaxNoteRunes = 500

// ErrNoticeAnswer means a notice's answer is none of the Answer* values.
var ErrNoticeAnswer = errors.New("model: answer must be registered_there, different_person or other")

// ErrNoticeNote means a notice's note is missing where required (other),
// longer than MaxNoteRunes, not UTF-8, or holds control characters (line
// feeds are allowed).
var ErrNoticeNote = errors.New("model: note missing, too long or with control characters")

// CheckNoticeAnswer checks a registrar's answer to a notice, on the device
// before it is kept and at the server before it is stored.
func CheckNoticeAnswer(answer, note string) error {
	switch answer {
	case AnswerRegisteredThere, AnswerDifferentPerson:
	case AnswerOther:
		if strings.TrimSpace(note) == "" {
			return ErrNoticeNote
		}
	default:
		return ErrNoticeAnswer
	}
	if !utf8.ValidString(note) || utf8.RuneCountInString(note) > MaxNoteRunes || hasControl(note, true) {
		return ErrNoticeNote
	}
	return nil
}

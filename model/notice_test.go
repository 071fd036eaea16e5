package model

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNoticeAnswer(t *testing.T) {
	for _, tc := range []struct {
		answer, note string
		want         error
	}{
		{AnswerRegisteredThere, "", nil},
		{AnswerDifferentPerson, "本人说在外地没有登记过\n父亲代答", nil},
		{AnswerOther, "在供电所登记了", nil},
		{AnswerOther, "  ", ErrNoticeNote},
		{"maybe", "", ErrNoticeAnswer},
		{"", "", ErrNoticeAnswer},
		{AnswerRegisteredThere, strings.Repeat("字", MaxNoteRunes), nil},
		{AnswerRegisteredThere, strings.Repeat("字", MaxNoteRunes+1), ErrNoticeNote},
		{AnswerRegisteredThere, "tab\there", ErrNoticeNote},
		{AnswerRegisteredThere, "bidi\u202e", ErrNoticeNote},
		{AnswerRegisteredThere, "bad\xffutf8", ErrNoticeNote},
	} {
		if err := CheckNoticeAnswer(tc.answer, tc.note); !errors.Is(err, tc.want) {
			t.Errorf("CheckNoticeAnswer(%q, %q) = %v, want %v", tc.answer, tc.note, err, tc.want)
		}
	}
}

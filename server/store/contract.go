package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
)

// ErrUnreadable is the error of a stored record no decoder can read.
var ErrUnreadable = errors.New("store: unreadable record")

// UnreadableError names the stored records a scan (SyncTx.ForEachRecord)
// skipped because they could not be decoded; the scan went on past them.
type UnreadableError struct {
	IDs []string
}

func (e *UnreadableError) Error() string {
	ids := e.IDs
	if len(ids) > 5 {
		ids = ids[:5]
	}
	return fmt.Sprintf("%v: %d skipped (%s)", ErrUnreadable, len(e.IDs), strings.Join(ids, ", "))
}

// Unwrap makes errors.Is(err, ErrUnreadable) true.
func (e *UnreadableError) Unwrap() error { return ErrUnreadable }

// CodeUnreadable is the contract issue of a record that cannot be decoded.
const CodeUnreadable = "unreadable"

// ContractIssue is one way a stored record breaks the record contract
// (model.CheckContract). It names the record, never a value.
type ContractIssue struct {
	Record   string `json:"record"`
	Type     string `json:"type,omitempty"`
	District string `json:"district,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// ContractReport is what CheckContract found.
type ContractReport struct {
	Records int             `json:"records"` // records read
	Bad     int             `json:"bad"`     // records with at least one issue
	Issues  []ContractIssue `json:"issues"`
}

// CheckContract scans every stored record, deleted ones too (devices still
// pull them), and reports those written before the record contract that
// break it, and those no decoder reads. It changes nothing.
func CheckContract(ctx context.Context, s Store) (*ContractReport, error) {
	rep := &ContractReport{Issues: []ContractIssue{}}
	var mu sync.Mutex
	err := s.View(ctx, func(tx Tx) error {
		return DecodeAll(tx, "", func(recs []dsync.Record) error {
			var found []ContractIssue
			bad := 0
			for i := range recs {
				rec := &recs[i]
				issues := model.CheckContract(rec.Type, rec.All())
				if del, ok := rec.Fields[dsync.FieldDeleted]; ok && string(del.Value) != "true" && string(del.Value) != "false" {
					issues = append(issues, model.Issue{Field: dsync.FieldDeleted, Code: model.CodeFieldType,
						Message: model.Message(model.CodeFieldType)})
				}
				if len(issues) > 0 {
					bad++
				}
				for _, is := range issues {
					found = append(found, ContractIssue{Record: rec.ID, Type: rec.Type, District: rec.District,
						Deleted: rec.Deleted(), Field: is.Field, Code: is.Code, Message: is.Message})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Records += len(recs)
			rep.Bad += bad
			rep.Issues = append(rep.Issues, found...)
			return ctx.Err()
		})
	})
	// Records were checked on every core, in no order: the report lists
	// them by ID, each record's issues in the order the model gives them.
	slices.SortStableFunc(rep.Issues, func(a, b ContractIssue) int { return strings.Compare(a.Record, b.Record) })
	var u *UnreadableError
	if errors.As(err, &u) {
		ids := slices.Clone(u.IDs)
		slices.Sort(ids)
		for _, id := range ids {
			rep.Records++
			rep.Bad++
			rep.Issues = append(rep.Issues, ContractIssue{Record: id, Code: CodeUnreadable,
				Message: "记录无法读取 / the record cannot be decoded"})
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

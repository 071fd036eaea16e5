package dedupjob

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// CSVHeader is the duplicates export's header. Outside scripts read it:
// columns are only ever appended.
var CSVHeader = []string{"cluster", "ref", "record_id", "district", "name", "id_number", "decision", "score",
	"status", "keep"}

// WriteCSV writes one row per registration of each case q selects: the
// case ID as cluster, the registration as it is now, the engine's decision
// (auto or review), the score, the case's status and 1 on the kept
// registration. It returns the number of rows. The export (names and ID
// numbers in full) is recorded in the audit log before it is written.
func WriteCSV(ctx context.Context, st store.Store, w io.Writer, q store.DupCaseQuery) (int, error) {
	err := st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return audit.Append(ctx, tx, audit.ExportUnmasked, "", audit.D{"list": "duplicates", "status": q.Status,
			"districts": q.Districts})
	})
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return 0, err
	}
	rows := 0
	err = st.View(ctx, func(tx store.Tx) error {
		cases, err := tx.DupCases(q)
		if err != nil {
			return err
		}
		for i := range cases {
			rs, err := caseRows(tx, &cases[i])
			if err != nil {
				return err
			}
			for _, row := range rs {
				if err := cw.Write(row); err != nil {
					return err
				}
				rows++
			}
		}
		return nil
	})
	if err != nil {
		return rows, err
	}
	cw.Flush()
	return rows, cw.Error()
}

func caseRows(tx store.Tx, c *store.DupCase) ([][]string, error) {
	score := strconv.FormatFloat(c.Score, 'f', 2, 64)
	out := make([][]string, 0, len(c.Members))
	for _, m := range c.Members {
		var reg model.Registration
		rec, err := tx.Record(m.Record)
		switch {
		case err == nil:
			reg, _ = model.RegistrationFromFields(rec.Values()) // a bad field leaves a blank cell
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		keep := "0"
		if m.Record == c.Keep {
			keep = "1"
		}
		out = append(out, []string{c.ID, reg.Ref, m.Record, m.District, reg.Name, reg.IDNumber, c.Decision, score,
			string(c.Status), keep})
	}
	return out, nil
}

package roll

import (
	"context"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// formatOf is the format src is read as.
func formatOf(src rows) string {
	if _, ok := src.(*xlsxRows); ok {
		return FormatXLSX
	}
	return FormatCSV
}

// importDetails are an import's audit details: the file's kind and format
// and the report's counts, never a row.
func importDetails(kind, format string, rep *Report) audit.D {
	return audit.D{"kind": kind, "format": format, "read": rep.Read, "imported": rep.Imported,
		"unchanged": rep.Unchanged, "rejected": rep.Rejected, "needs_verification": rep.NeedsVerification}
}

// recordImport appends the audit entry of an import written in several
// transactions, once it is over: failed or not (the rows committed before a
// failure stay), and even if the caller has gone. It returns failed, or
// the audit log's error.
func recordImport(ctx context.Context, st store.Store, d audit.D, failed error) error {
	if failed != nil {
		d["failed"] = true
	}
	err := st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return audit.Append(ctx, tx, audit.Import, "", d)
	})
	if failed != nil {
		return failed
	}
	return err
}

// recordExport appends the audit entry of an export or a list that shows ID
// numbers, phones or addresses (list: roll, verification), before any of it
// is written out. target is the district or area asked for, if one.
func recordExport(ctx context.Context, st store.Store, list, target string, d audit.D) error {
	d["list"] = list
	return st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return audit.Append(ctx, tx, audit.ExportUnmasked, target, d)
	})
}

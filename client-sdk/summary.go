package sdk

import (
	"encoding/binary"
	"fmt"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// Summary is a record as a list shows it and as Search finds it: the few
// fields a registrar knows a voter by at the door. Summaries are kept in a
// bucket of their own, written in the transaction that writes the record,
// so listing and searching thousands of records read small pages instead
// of every record's.
type Summary struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	District         string `json:"district"`
	Deleted          bool   `json:"deleted,omitempty"`
	Name             string `json:"name,omitempty"`
	Initials         string `json:"initials,omitempty"` // pinyin initials of the name: "lbh" for 李碧辉
	IDNumber         string `json:"id_number,omitempty"`
	HouseholdAddress string `json:"household_address,omitempty"`
	ResidenceAddress string `json:"residence_address,omitempty"`
}

func summaryOf(r *dsync.Record) *Summary {
	name := stringField(r, "name")
	return &Summary{ID: r.ID, Type: r.Type, District: r.District, Deleted: r.Deleted(),
		Name: name, Initials: pinyinInitials(name), IDNumber: stringField(r, "id_number"),
		HouseholdAddress: stringField(r, "household_address"), ResidenceAddress: stringField(r, "residence_address")}
}

// Encoding of a summary in bucketSummary: a version byte, a flags byte,
// then each string as a uvarint length and its bytes. A residence the same
// as the household address is stored once.
const (
	summaryV1         = 1
	summaryDeleted    = 1 << 0
	summarySameAddr   = 1 << 1
	summaryStringsLen = 6
)

func (s *Summary) appendBinary(b []byte) []byte {
	var flags byte
	if s.Deleted {
		flags |= summaryDeleted
	}
	residence := s.ResidenceAddress
	if residence != "" && residence == s.HouseholdAddress {
		flags, residence = flags|summarySameAddr, ""
	}
	b = append(b, summaryV1, flags)
	for _, v := range [summaryStringsLen]string{s.Type, s.District, s.Name, s.Initials, s.IDNumber, s.HouseholdAddress} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	b = binary.AppendUvarint(b, uint64(len(residence)))
	return append(b, residence...)
}

func decodeSummary(id, b []byte) (*Summary, error) {
	if len(b) < 2 || b[0] != summaryV1 {
		return nil, fmt.Errorf("%w: record %s", errSummary, id)
	}
	flags := b[1]
	b = b[2:]
	var fields [summaryStringsLen + 1]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("%w: record %s", errSummary, id)
		}
		fields[i], b = string(b[w:w+int(n)]), b[w+int(n):]
	}
	s := &Summary{ID: string(id), Deleted: flags&summaryDeleted != 0, Type: fields[0], District: fields[1],
		Name: fields[2], Initials: fields[3], IDNumber: fields[4], HouseholdAddress: fields[5], ResidenceAddress: fields[6]}
	if flags&summarySameAddr != 0 {
		s.ResidenceAddress = s.HouseholdAddress
	}
	return s, nil
}

// putSummaryTx writes the summary of r, the record as the app sees it.
func putSummaryTx(tx *bbolt.Tx, r *dsync.Record) error {
	b := tx.Bucket(bucketSummary)
	b.FillPercent = recordFill
	return b.Put([]byte(r.ID), summaryOf(r).appendBinary(nil))
}

// buildSummariesTx (schema 2 → 3) writes the summary of every record.
func buildSummariesTx(tx *bbolt.Tx) error {
	return forEachViewTx(tx, "", func(r *dsync.Record) (bool, error) {
		return true, putSummaryTx(tx, r)
	})
}

// ListSummaries returns up to limit summaries of the records matching f
// whose IDs come after after ("" from the start), in ID order, and the
// after of the next page ("" at the end): what a list screen shows, read
// from the summaries alone. Get reads the whole record the registrar opens.
func (d *Device) ListSummaries(f ListFilter, after string, limit int) ([]*Summary, string, error) {
	return d.scanSummaries(after, limit, f.matchSummary)
}

// scanSummaries reads summaries in ID order after after, keeping up to
// limit that match.
func (d *Device) scanSummaries(after string, limit int, match func(*Summary) bool) ([]*Summary, string, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []*Summary
	next := ""
	err := d.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketSummary).Cursor()
		k, v := c.First()
		if after != "" {
			if k, v = c.Seek([]byte(after)); k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			s, err := decodeSummary(k, v)
			if err != nil {
				return err
			}
			if !match(s) {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			out = append(out, s)
		}
		return nil
	})
	return out, next, err
}

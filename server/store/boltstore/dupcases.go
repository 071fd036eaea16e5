package boltstore

import (
	"errors"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/server/store"
)

// --- duplicate cases ---

func dupIdxKey(district, id string) []byte { return districtKey(district, id) }

func (t *tx) DupCase(id string) (*store.DupCase, error) {
	return getAs[store.DupCase](t, bucketDupCases, id)
}

// PutDupCase replaces the case and moves its district index entries to the
// members it has now.
func (t *tx) PutDupCase(c *store.DupCase) error {
	if err := t.unindexDupCase(c.ID); err != nil {
		return err
	}
	idx := t.b(bucketDupCaseIdx)
	for _, d := range c.Districts() {
		if err := idx.Put(dupIdxKey(d, c.ID), nil); err != nil {
			return err
		}
	}
	return t.putJSON(bucketDupCases, c.ID, c)
}

func (t *tx) DeleteDupCase(id string) error {
	if err := t.unindexDupCase(id); err != nil {
		return err
	}
	return t.b(bucketDupCases).Delete([]byte(id))
}

func (t *tx) unindexDupCase(id string) error {
	old, err := t.DupCase(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range old.Districts() {
		if err := t.b(bucketDupCaseIdx).Delete(dupIdxKey(d, id)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DupCases(q store.DupCaseQuery) ([]store.DupCase, error) {
	ids, err := t.dupCaseIDs(q)
	if err != nil {
		return nil, err
	}
	var out []store.DupCase
	cases := t.b(bucketDupCases)
	for _, id := range ids {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		var c store.DupCase
		if err := json.Unmarshal(cases.Get([]byte(id)), &c); err != nil {
			return nil, err
		}
		if q.Status == "" || c.Status == q.Status {
			out = append(out, c)
		}
	}
	return out, nil
}

// dupCaseIDs lists the IDs above q.After of the cases in q's districts (or
// all), sorted and each once.
func (t *tx) dupCaseIDs(q store.DupCaseQuery) ([]string, error) {
	var ids []string
	if q.Districts == nil {
		c := t.b(bucketDupCases).Cursor()
		for k, _ := c.Seek([]byte(q.After)); k != nil; k, _ = c.Next() {
			if string(k) > q.After {
				ids = append(ids, string(k))
			}
		}
		return ids, nil
	}
	return t.idsByDistrict(bucketDupCaseIdx, q.Districts, q.After), nil
}

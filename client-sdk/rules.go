package sdk

import (
	"context"
	"fmt"
	"net/http"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// CodeOutOfScope is the issue of a create in a district outside the
// registrar's scope, refused on the device as the server would refuse it.
const CodeOutOfScope = "out_of_scope"

// Rules is what the server last told this device to check offline: the
// registrar's scope, the districts the server knows in it and the election.
// ok is false until a Sync has brought them.
func (d *Device) Rules() (r dsync.Rules, ok bool) {
	if p := d.rules.Load(); p != nil {
		return *p, true
	}
	return r, false
}

// loadRulesTx reads the cached rules into d.rules.
func (d *Device) loadRulesTx(tx *bbolt.Tx) error {
	v := tx.Bucket(bucketMeta).Get(keyRules)
	if v == nil {
		return nil
	}
	var r dsync.Rules
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("decode cached rules: %w", err)
	}
	d.rules.Store(&r)
	return nil
}

// refreshRules asks the server for the rules, sending the ETag of those
// cached, and keeps new ones; unchanged rules cost a 304 without a body.
func (d *Device) refreshRules(ctx context.Context) error {
	var etag string
	if err := d.db.View(func(tx *bbolt.Tx) error { etag = getStringTx(tx, keyRulesETag); return nil }); err != nil {
		return err
	}
	var r dsync.Rules
	var notModified bool
	req := request{method: http.MethodGet, path: "/v1/rules", auth: true, ifNoneMatch: etag, etag: &etag,
		notModified: &notModified}
	if err := d.call(ctx, req, &r); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	if notModified {
		return nil
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	return d.storeRules(b, etag)
}

// storeRules keeps rules (their JSON) and their ETag.
func (d *Device) storeRules(b []byte, etag string) error {
	var r dsync.Rules
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%w: rules: %v", ErrProtocol, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(keyRules, b); err != nil {
			return err
		}
		return putStringTx(tx, keyRulesETag, etag)
	})
	if err == nil {
		d.rules.Store(&r)
	}
	return err
}

// modelRules are the rules the model's validation runs with: the server's
// election once a Sync brought one with a day, else Options.Rules.
func (d *Device) modelRules() model.Rules {
	if r, ok := d.Rules(); ok && r.Election.Day != "" {
		return r.Election.Rules()
	}
	return d.opts.Rules
}

// checkScope refuses a create in a district outside the cached scope, as
// the server would (nothing is checked before the first Sync).
func (d *Device) checkScope(ch *dsync.Change) error {
	r, ok := d.Rules()
	if !ok || ch.Op != dsync.OpCreate || r.InScope(ch.District) {
		return nil
	}
	return &ValidationError{Issues: []Issue{{Field: "district", Code: CodeOutOfScope,
		Message: "选区不在您负责的范围内 / the district is outside your scope"}}}
}

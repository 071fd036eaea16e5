package pgstore

import (
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// --- accounts ---

func (t *tx) User(name string) (*store.User, error) {
	return getJSON[store.User](t, "SELECT data FROM users WHERE name = $1", name)
}

func (t *tx) PutUser(u *store.User) error {
	return t.putJSON(`INSERT INTO users (name, data) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data`, u, u.Name)
}

func (t *tx) Users() ([]store.User, error) {
	return listJSON[store.User](t, "SELECT data FROM users ORDER BY name")
}

func (t *tx) Device(id string) (*store.Device, error) {
	return getJSON[store.Device](t, "SELECT data FROM devices WHERE id = $1", id)
}

func (t *tx) PutDevice(d *store.Device) error {
	return t.putJSON(`INSERT INTO devices (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, d, d.ID)
}

func (t *tx) Devices() ([]store.Device, error) {
	return listJSON[store.Device](t, "SELECT data FROM devices ORDER BY id")
}

func (t *tx) RefreshToken(hash string) (*store.RefreshToken, error) {
	return getJSON[store.RefreshToken](t, "SELECT data FROM refresh_tokens WHERE hash = $1", hash)
}

func (t *tx) PutRefreshToken(rt *store.RefreshToken) error {
	return t.putJSON(`INSERT INTO refresh_tokens (hash, user_name, device, family, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hash) DO UPDATE SET user_name = excluded.user_name, device = excluded.device,
			family = excluded.family, data = excluded.data`, rt, rt.Hash, rt.User, rt.Device, rt.Family)
}

func (t *tx) DeleteRefreshToken(hash string) error {
	return t.exec("DELETE FROM refresh_tokens WHERE hash = $1", hash)
}

func (t *tx) RefreshFamily(id string) (*store.RefreshToken, error) {
	return getJSON[store.RefreshToken](t, "SELECT data FROM sessions WHERE family = $1", id)
}

func (t *tx) PutRefreshFamily(rt *store.RefreshToken) error {
	if rt.Family == "" {
		return errors.New("pgstore: session without a family ID")
	}
	return t.putJSON(`INSERT INTO sessions (family, user_name, device, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (family) DO UPDATE SET user_name = excluded.user_name, device = excluded.device,
			data = excluded.data`, rt, rt.Family, rt.User, rt.Device)
}

func (t *tx) DeleteRefreshFamily(id string) error {
	return t.exec("DELETE FROM sessions WHERE family = $1", id)
}

func (t *tx) DeleteRefreshTokens(device string) error {
	if err := t.exec("DELETE FROM refresh_tokens WHERE device = $1", device); err != nil {
		return err
	}
	return t.exec("DELETE FROM sessions WHERE device = $1", device)
}

func (t *tx) DeleteUserRefreshTokens(user, keep string) error {
	if err := t.exec("DELETE FROM refresh_tokens WHERE user_name = $1 AND ($2 = '' OR family <> $2)", user, keep); err != nil {
		return err
	}
	return t.exec("DELETE FROM sessions WHERE user_name = $1 AND ($2 = '' OR family <> $2)", user, keep)
}

func (t *tx) Setting(key string) ([]byte, error) {
	return t.getBytes("SELECT value FROM settings WHERE key = $1", key)
}

func (t *tx) PutSetting(key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return t.exec(`INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
}

func (t *tx) DeleteSetting(key string) error {
	return t.exec("DELETE FROM settings WHERE key = $1", key)
}

// --- duplicate cases ---

func (t *tx) DupCase(id string) (*store.DupCase, error) {
	if t.buf != nil {
		if c, ok := t.buf.dupCases[id]; ok {
			var out store.DupCase
			return &out, json.Unmarshal(c.data, &out)
		}
	}
	return getJSON[store.DupCase](t, "SELECT data FROM dup_cases WHERE id = $1", id)
}

// PutDupCase replaces the case and its members' district rows. A writer
// buffers it with the push path's writes: a full duplicate check over a
// province stores hundreds of thousands of cases in one transaction.
func (t *tx) PutDupCase(c *store.DupCase) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if t.buf != nil {
		t.buf.dupCases[c.ID] = dupCaseRow{status: string(c.Status), data: data, districts: c.Districts()}
		return nil
	}
	if err := t.exec("DELETE FROM dup_case_members WHERE case_id = $1", c.ID); err != nil {
		return err
	}
	for _, d := range c.Districts() {
		if err := t.exec("INSERT INTO dup_case_members (district, case_id) VALUES ($1, $2)", d, c.ID); err != nil {
			return err
		}
	}
	return t.exec(`INSERT INTO dup_cases (id, status, data) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, data = excluded.data`, c.ID, string(c.Status), data)
}

func (t *tx) DeleteDupCase(id string) error {
	if err := t.flush(); err != nil {
		return err
	}
	if err := t.exec("DELETE FROM dup_case_members WHERE case_id = $1", id); err != nil {
		return err
	}
	return t.exec("DELETE FROM dup_cases WHERE id = $1", id)
}

func (t *tx) DupCases(q store.DupCaseQuery) ([]store.DupCase, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	sql := `SELECT data FROM dup_cases WHERE id > $1 AND ($2 = '' OR status = $2)`
	args := []any{q.After, string(q.Status), limitArg(q.Limit)}
	if q.Districts != nil {
		sql += ` AND id IN (SELECT case_id FROM dup_case_members WHERE district = ANY($4) AND case_id > $1)`
		args = append(args, q.Districts)
	}
	return listJSON[store.DupCase](t, sql+` ORDER BY id LIMIT $3`, args...)
}

// --- the audit log ---

// AppendAudit checks e.Seq against the last entry under the write lock,
// which serialises appends as bbolt's writer does.
func (t *tx) AppendAudit(e *audit.Entry) error {
	var last int64
	if err := t.q.QueryRow(t.ctx, "SELECT coalesce(max(seq), 0) FROM audit_log").Scan(&last); err != nil {
		return err
	}
	if want := uint64(last) + 1; e.Seq != want {
		return fmt.Errorf("%w: %d, the next is %d", store.ErrAuditSeq, e.Seq, want)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return t.exec("INSERT INTO audit_log (seq, data) VALUES ($1, $2)", int64(e.Seq), data)
}

func (t *tx) AuditEntries(after uint64, limit int) ([]audit.Entry, error) {
	out := []audit.Entry{}
	if after >= math.MaxInt64 {
		return out, nil
	}
	rows, err := t.q.Query(t.ctx, "SELECT seq, data FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
		int64(after), limitArg(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return out, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func (t *tx) LastAudit() (*audit.Entry, error) {
	rows, err := t.q.Query(t.ctx, "SELECT seq, data FROM audit_log ORDER BY seq DESC LIMIT 1")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	return scanAudit(rows)
}

func scanAudit(rows pgx.Rows) (*audit.Entry, error) {
	var seq int64
	var data []byte
	if err := rows.Scan(&seq, &data); err != nil {
		return nil, err
	}
	var e audit.Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, &audit.UnreadableError{Seq: uint64(seq), Err: err}
	}
	return &e, nil
}

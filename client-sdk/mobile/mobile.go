// Package mobile is the device SDK as Android and iOS apps call it, through
// gobind:
//
//	go run golang.org/x/mobile/cmd/gobind -lang=java,objc -outdir OUT github.com/dengji/dengji/client-sdk/mobile
//
// gobind carries only strings, bool, signed ints, []byte, pointers to this
// package's structs and errors, and silently skips anything else, so rich
// data crosses as JSON bytes, and a test checks the exported API. Every
// error's message is a JSON object with a stable code to switch on:
//
//	{"code":"validation","message":"…","issues":[{"field":"id_number","code":"id_checksum","message":"…"}]}
//
// Codes: validation, not_found, deleted, not_logged_in, no_server,
// sync_in_progress, revoked, password_change_required (call ChangePassword),
// canceled, server (with "status"), bad_input, and error for the rest.
package mobile

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	_ "golang.org/x/mobile/bind" // keeps gobind's runtime in the module

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
)

// Device is one registrar's device file.
type Device struct {
	d *sdk.Device

	mu     sync.Mutex
	cancel context.CancelFunc // of the Sync under way, if any
}

// SecretStore is the app's protected storage for the device's tokens: an
// Android Keystore-backed store or the iOS Keychain (see sdk.SecretStore).
type SecretStore interface {
	Secret(name string) (string, error) // "" if none
	SetSecret(name, value string) error // "" deletes
}

// Open opens (creating if needed) the device file at path. serverURL may be
// empty once a first Open stored it. electionDay (YYYY-MM-DD) turns on the
// voting-age check until the server's election arrives with a Sync; empty
// leaves it off until then. secrets keeps the tokens out of the
// device file; null keeps them in it.
func Open(path, serverURL, electionDay string, secrets SecretStore) (*Device, error) {
	opts := sdk.Options{ServerURL: serverURL, Secrets: secrets} // a nil SecretStore stays nil
	if electionDay != "" {
		day, err := time.Parse(time.DateOnly, electionDay)
		if err != nil {
			return nil, fail("bad_input", "选举日格式应为 YYYY-MM-DD / election day must be YYYY-MM-DD")
		}
		opts.Rules = model.Rules{ElectionDay: day}
	}
	d, err := sdk.Open(path, opts)
	if err != nil {
		return nil, wrap(err)
	}
	return &Device{d: d}, nil
}

// Close closes the device file.
func (m *Device) Close() error { return wrap(m.d.Close()) }

// ID is the device's ID, made when its file was created.
func (m *Device) ID() string { return m.d.ID() }

// Login signs the registrar in and enrols this device.
func (m *Device) Login(username, password string) error {
	return wrap(m.d.Login(context.Background(), username, password))
}

// Logout ends the session on the server (when it can be reached) and
// forgets the tokens; pending changes stay.
func (m *Device) Logout() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return wrap(m.d.Logout(ctx))
}

// ChangePassword changes the registrar's password and signs this device in
// with it; after a Login that failed with code password_change_required,
// old is the one-time password.
func (m *Device) ChangePassword(oldPassword, newPassword string) error {
	return wrap(m.d.ChangePassword(context.Background(), oldPassword, newPassword))
}

// Create stores a new record offline and returns its ID. fields is a JSON
// object of field names to values.
func (m *Device) Create(recordType, district string, fields []byte) (string, error) {
	f, err := decodeFields(fields)
	if err != nil {
		return "", err
	}
	id, err := m.d.Create(recordType, district, f)
	return id, wrap(err)
}

// Update sets fields (a JSON object) of a record offline.
func (m *Device) Update(id string, fields []byte) error {
	f, err := decodeFields(fields)
	if err != nil {
		return err
	}
	return wrap(m.d.Update(id, f))
}

// Delete deletes a record offline.
func (m *Device) Delete(id string) error { return wrap(m.d.Delete(id)) }

// record is a record as the app shows it.
type record struct {
	ID       string                     `json:"id"`
	Type     string                     `json:"type"`
	District string                     `json:"district"`
	Deleted  bool                       `json:"deleted"`
	Fields   map[string]json.RawMessage `json:"fields"`
}

func view(r *dsync.Record) record {
	return record{ID: r.ID, Type: r.Type, District: r.District, Deleted: r.Deleted(), Fields: r.Values()}
}

// Get returns a record as the app shows it, pending edits included:
// {"id","type","district","deleted","fields":{…}}.
func (m *Device) Get(id string) ([]byte, error) {
	r, err := m.d.Get(id)
	if err != nil {
		return nil, wrap(err)
	}
	return json.Marshal(view(r))
}

// List returns the records of a type and district as a JSON array of what
// Get returns; empty strings match all. Deleted records are left out unless
// includeDeleted.
func (m *Device) List(recordType, district string, includeDeleted bool) ([]byte, error) {
	rs, err := m.d.List(sdk.ListFilter{Type: recordType, District: district, IncludeDeleted: includeDeleted})
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]record, len(rs))
	for i, r := range rs {
		out[i] = view(r)
	}
	return json.Marshal(out)
}

// page is a page of records as the app reads it.
type page struct {
	Records []record `json:"records"`
	Next    string   `json:"next,omitempty"` // pass as after for the next page; absent at the end
}

func pageOf(rs []*dsync.Record, next string) ([]byte, error) {
	p := page{Records: make([]record, len(rs)), Next: next}
	for i, r := range rs {
		p.Records[i] = view(r)
	}
	return json.Marshal(p)
}

// ListPage returns a page of up to limit records of a type and district
// (empty strings match all) after the record ID after ("" from the
// start), as {"records":[…],"next":"…"}; a list of any length costs the
// memory of one page.
func (m *Device) ListPage(recordType, district, after string, limit int) ([]byte, error) {
	rs, next, err := m.d.ListPage(sdk.ListFilter{Type: recordType, District: district}, after, limit)
	if err != nil {
		return nil, wrap(err)
	}
	return pageOf(rs, next)
}

// ListSummaries returns a page of up to limit summaries of the live
// records of a type and district (empty strings match all) after the
// record ID after ("" from the start), as {"summaries":[{"id","type",
// "district","name","initials","id_number","household_address",
// "residence_address"},…],"next":"…"}: what a list screen shows, read
// from small pages; Get reads the record the registrar opens.
func (m *Device) ListSummaries(recordType, district, after string, limit int) ([]byte, error) {
	return summaryPage(m.d.ListSummaries(sdk.ListFilter{Type: recordType, District: district}, after, limit))
}

// Search finds live records offline by name (characters, or pinyin
// initials such as "lbh"), the last four or more characters of the ID
// number, or a part of an address; it answers their summaries, paged like
// ListSummaries.
func (m *Device) Search(query, after string, limit int) ([]byte, error) {
	return summaryPage(m.d.Search(query, after, limit))
}

func summaryPage(ss []*sdk.Summary, next string, err error) ([]byte, error) {
	if err != nil {
		return nil, wrap(err)
	}
	if ss == nil {
		ss = []*sdk.Summary{}
	}
	return json.Marshal(struct {
		Summaries []*sdk.Summary `json:"summaries"`
		Next      string         `json:"next,omitempty"`
	}{ss, next})
}

// Pending is the number of changes not yet acknowledged by the server.
func (m *Device) Pending() (int, error) {
	n, err := m.d.Pending()
	return n, wrap(err)
}

// Conflicts returns the conflicts the server reported for this device's
// edits, as a JSON array (the server's conflict objects).
func (m *Device) Conflicts() ([]byte, error) {
	cs, err := m.d.Conflicts()
	if err != nil {
		return nil, wrap(err)
	}
	return json.Marshal(cs)
}

// RecheckConflicts asks the server now about every conflict open on this
// device (a decision that kept the record as it was otherwise arrives
// within a day) and returns how many were decided; call it off the UI
// thread.
func (m *Device) RecheckConflicts() (int, error) {
	n, err := m.d.RecheckConflicts(context.Background())
	return n, wrap(err)
}

// Rejected returns the changes the server refused, as a JSON array of
// {"change":…,"result":…}.
func (m *Device) Rejected() ([]byte, error) {
	rs, err := m.d.Rejected()
	if err != nil {
		return nil, wrap(err)
	}
	return json.Marshal(rs)
}

// Discard forgets a refused change (its "change"."id" in Rejected) the
// registrar has seen and wants nothing more of.
func (m *Device) Discard(changeID string) error { return wrap(m.d.Discard(changeID)) }

// Correct makes a new edit from a refused change: fields (a JSON object,
// or empty to send the values again as they were) laid over what it set,
// and for a create the district instead of its own ("" keeps it). It
// returns the record's ID; the refusal leaves the list.
func (m *Device) Correct(changeID, district string, fields []byte) (string, error) {
	var f map[string]json.RawMessage
	if len(fields) > 0 {
		var err error
		if f, err = decodeFields(fields); err != nil {
			return "", err
		}
	}
	id, err := m.d.Correct(changeID, district, f)
	return id, wrap(err)
}

// Rules returns what the server last told the device to check offline, as
// {"scope":[…],"all_districts","districts":[{"code","name","kind"}],
// "election":{"name","day","registration_deadline","list_deadline"}}, or
// null before the first Sync.
func (m *Device) Rules() ([]byte, error) {
	r, ok := m.d.Rules()
	if !ok {
		return []byte("null"), nil
	}
	return json.Marshal(r)
}

// report is a SyncReport as the app reads it.
type report struct {
	Pushed     map[dsync.Status]int `json:"pushed"`
	Pulled     int                  `json:"pulled"`
	Conflicts  int                  `json:"conflicts"`
	Rejections int                  `json:"rejections"`
	Resolved   int                  `json:"resolved"`
	Notices    int                  `json:"notices"`
	Millis     int64                `json:"duration_ms"`
}

// Sync pushes pending changes and pulls the server's state, blocking until
// done, failed or canceled (CancelSync); call it off the UI thread. It
// returns {"pushed":{"applied":n,…},"pulled","conflicts","rejections",
// "resolved","notices","duration_ms"}.
func (m *Device) Sync() ([]byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.cancel = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.cancel = nil
		m.mu.Unlock()
		cancel()
	}()
	rep, err := m.d.Sync(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	return json.Marshal(report{Pushed: rep.Pushed, Pulled: rep.Pulled, Conflicts: rep.Conflicts,
		Rejections: rep.Rejections, Resolved: rep.Resolved, Notices: rep.Notices, Millis: rep.Duration.Milliseconds()})
}

// CancelSync stops the Sync under way, if any; what it did stays done.
func (m *Device) CancelSync() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		m.cancel()
	}
}

func decodeFields(b []byte) (map[string]json.RawMessage, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return nil, fail("bad_input", "字段应为 JSON 对象 / fields must be a JSON object")
	}
	return f, nil
}

// apiError is every error of this package: its message is the JSON object.
type apiError struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Status  int         `json:"status,omitempty"`
	Issues  []sdk.Issue `json:"issues,omitempty"`
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e)
	return string(b)
}

func fail(code, message string) error { return &apiError{Code: code, Message: message} }

// wrap turns the SDK's errors into coded ones.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	e := &apiError{Code: "error", Message: err.Error()}
	var ve *sdk.ValidationError
	var se *sdk.ServerError
	switch {
	case errors.As(err, &ve):
		e.Code, e.Issues = "validation", ve.Issues
	case errors.Is(err, sdk.ErrRevoked):
		e.Code = "revoked"
	case errors.Is(err, sdk.ErrPasswordChangeRequired):
		e.Code = "password_change_required"
	case errors.As(err, &se):
		e.Code, e.Status, e.Message = "server", se.StatusCode, se.Message
	case errors.Is(err, sdk.ErrNotFound):
		e.Code = "not_found"
	case errors.Is(err, sdk.ErrDeleted):
		e.Code = "deleted"
	case errors.Is(err, sdk.ErrNotLoggedIn):
		e.Code = "not_logged_in"
	case errors.Is(err, sdk.ErrNoServer):
		e.Code = "no_server"
	case errors.Is(err, sdk.ErrSyncInProgress):
		e.Code = "sync_in_progress"
	case errors.Is(err, context.Canceled):
		e.Code = "canceled"
	}
	return e
}

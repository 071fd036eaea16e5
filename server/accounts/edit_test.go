package accounts

import (
	"errors"
	"slices"
	"testing"

	"github.com/dengji/dengji/server/store"
)

// An account's role, scope and name change, each change audited (the name
// without its value); a change that would make the account invalid is
// refused whole.
func TestEditUser(t *testing.T) {
	s, _ := newService(t)
	coord, scope, name := store.RoleCoordinator, []string{"430102"}, "李登记"
	u, err := EditUser(ctx, s.st, "li", Edit{Role: &coord, Districts: &scope, FullName: &name})
	if err != nil || u.Role != coord || !slices.Equal(u.Districts, scope) || u.FullName != name {
		t.Fatalf("edited: %+v %v", u, err)
	}
	none, bad, ctl := []string{}, []string{"not-a-code"}, "a\x07b"
	for what, e := range map[string]Edit{"no districts": {Districts: &none}, "unknown code": {Districts: &bad},
		"control character": {FullName: &ctl}} {
		if _, err := EditUser(ctx, s.st, "li", e); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := EditUser(ctx, s.st, "nobody", Edit{FullName: &name}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	var got *store.User
	var actions []string
	s.st.View(ctx, func(tx store.Tx) error {
		got, _ = tx.User("li")
		es, err := tx.AuditEntries(0, 0)
		for _, e := range es {
			actions = append(actions, string(e.Action))
			if e.Action == "name_changed" && len(e.Details) > 0 {
				t.Errorf("the audit entry must not hold the name: %s", e.Details)
			}
		}
		return err
	})
	if got.Role != coord || !slices.Equal(got.Districts, scope) {
		t.Fatalf("a refused edit changed the account: %+v", got)
	}
	for _, a := range []string{"role_changed", "scope_changed", "name_changed"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit log lacks %s: %v", a, actions)
		}
	}
}

package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

// Edit changes an account's role, scope or display name; a nil field is
// left as it is.
type Edit struct {
	Role      *store.Role
	Districts *[]string
	FullName  *string
}

// MaxFullName bounds a display name, in characters.
const MaxFullName = 64

// EditUser applies e to the user name, checked like a new account (a
// registrar or coordinator needs a district, each a known code), and
// records each change in the audit log: role_changed and scope_changed with
// the values before and after, name_changed. The user's role and scope take
// effect at their next request (every request reads the account).
func EditUser(ctx context.Context, st store.Store, name string, e Edit) (*store.User, error) {
	if e.FullName != nil && (utf8.RuneCountInString(*e.FullName) > MaxFullName || hasControl(*e.FullName)) {
		return nil, fmt.Errorf("%w: 姓名至多 %d 个字，不含控制字符 / the full name is at most %d characters, without control characters",
			ErrInvalid, MaxFullName, MaxFullName)
	}
	var out *store.User
	err := st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		before := *u
		if e.Role != nil {
			u.Role = *e.Role
		}
		if e.Districts != nil {
			u.Districts = slices.Clone(*e.Districts)
		}
		if e.FullName != nil {
			u.FullName = *e.FullName
		}
		if err := check(NewUser{Name: u.Name, Role: u.Role, Districts: u.Districts}); err != nil {
			return err
		}
		if err := auditEdit(ctx, tx, &before, u); err != nil {
			return err
		}
		out = u
		return tx.PutUser(u)
	})
	return out, err
}

func auditEdit(ctx context.Context, tx store.Tx, before, after *store.User) error {
	if before.Role != after.Role {
		if err := audit.Append(ctx, tx, audit.RoleChanged, after.Name, audit.D{"was": before.Role, "now": after.Role}); err != nil {
			return err
		}
	}
	if !slices.Equal(before.Districts, after.Districts) {
		if err := audit.Append(ctx, tx, audit.ScopeChanged, after.Name,
			audit.D{"was": before.Districts, "now": after.Districts}); err != nil {
			return err
		}
	}
	if before.FullName != after.FullName {
		// The name itself is personal data: the log says it changed, not to what.
		return audit.Append(ctx, tx, audit.NameChanged, after.Name, nil)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if model.IsControl(r, false) {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// Session is the user whose session a refresh token is the current token
// of, checked as a refresh would (the user enabled, the session not
// expired, its device not revoked) but not rotated: the console keeps it in
// its session cookie and asks at every request. family is the session's ID.
func (s *Service) Session(ctx context.Context, token string) (u *store.User, family string, err error) {
	family, ok := auth.RefreshFamily(token)
	if !ok {
		return nil, "", ErrBadRefresh
	}
	err = s.st.View(ctx, func(tx store.Tx) error {
		rt, err := tx.RefreshFamily(family)
		if errors.Is(err, store.ErrNotFound) {
			return ErrBadRefresh
		}
		if err != nil {
			return err
		}
		if rt.Hash != auth.HashRefreshToken(token) || !s.now().Before(rt.Expires) || rt.Device != "" {
			return ErrBadRefresh
		}
		u, err = s.checkSession(tx, rt)
		return err
	})
	return u, family, err
}

package bench

import (
	"context"
	"path/filepath"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

// openStore opens the server's store for a run: bbolt in the work
// directory, or, for a postgres:// URL, a scratch schema in that database,
// dropped with the store when the run ends.
func openStore(ctx context.Context, dir, pgURL string) (store.Store, error) {
	if pgURL == "" {
		return boltstore.Open(filepath.Join(dir, "server"))
	}
	u, drop, err := pgstore.NewSchema(ctx, pgURL)
	if err != nil {
		return nil, err
	}
	st, err := pgstore.Open(ctx, u)
	if err != nil {
		drop()
		return nil, err
	}
	return &scratch{Store: st, drop: drop}, nil
}

// scratch is a store whose schema goes when it is closed.
type scratch struct {
	*pgstore.Store
	drop func() error
}

func (s *scratch) Close() error {
	s.Store.Close()
	return s.drop()
}

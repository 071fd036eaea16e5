package main

import (
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/console"
	"github.com/dengji/dengji/server/store"
)

// mountConsole serves the coordinators' web console beside the API, on
// the API server's own accounts and duplicate check.
func mountConsole(srv *api.Server, st store.Store, cfg api.Config) error {
	c, err := console.New(console.Config{Store: st, Accounts: srv.Accounts(), Dedup: srv.Dedup(),
		StartDedup: srv.StartDedup, Validator: cfg.Validator, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	srv.Mount(c)
	return nil
}

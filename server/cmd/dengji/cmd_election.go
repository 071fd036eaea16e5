package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["election show"] = command{"显示选举设置 / show the election", runElectionShow}
	commands["election set"] = command{"修改选举设置 / set the election", runElectionSet}
}

const electionUsage = `dengji election show [--data DIR] [--json]
dengji election set [--data DIR] [--name NAME] [--day YYYY-MM-DD] [--registration-deadline YYYY-MM-DD] [--list-deadline YYYY-MM-DD]

本届选举的名称、选举日、登记截止日和选民名单公布截止日保存在数据目录中。
年龄按选举日计算（服务器、导入和设备上都一样）；设备在下次同步时收到新的设置。
set 只改所给的项，并记入审计日志（election_changed）。请在服务器停止时运行，
运行中请用管理接口 PUT /v1/admin/election。

The election's name, day, registration deadline and list publication
deadline are kept in the data directory. Ages are checked against election
day (on the server, at import and on devices alike); devices learn a change
at their next sync. set changes only what it is given and records the change
in the audit log (election_changed). Run it while the server is stopped, or
use PUT /v1/admin/election while it runs.

`

func runElectionShow(ctx context.Context, args []string, out io.Writer) error {
	var dir string
	var asJSON bool
	fs := electionFlags("election show", &dir, out)
	fs.BoolVar(&asJSON, "json", false, "以JSON输出 / print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireData(dir); err != nil {
		return err
	}
	return withStore(dir, func(st store.Store) error { return showElection(ctx, st, asJSON, out) })
}

func runElectionSet(ctx context.Context, args []string, out io.Writer) error {
	var dir string
	var e model.Election
	fs := electionFlags("election set", &dir, out)
	fs.StringVar(&e.Name, "name", "", "选举名称 / the election's name")
	fs.StringVar(&e.Day, "day", "", "选举日 / election day")
	fs.StringVar(&e.RegistrationDeadline, "registration-deadline", "", "登记截止日 / last day of registration")
	fs.StringVar(&e.ListDeadline, "list-deadline", "", "选民名单公布截止日 / the voter list is published by")
	if err := parse(fs, args); err != nil {
		return err
	}
	if e == (model.Election{}) {
		return fmt.Errorf("%w: %s", errUsage, electionUsage)
	}
	return withStore(dir, func(st store.Store) error { return setElection(ctx, st, e, out) })
}

// electionFlags is the flag set of an election subcommand, whose help is
// electionUsage.
func electionFlags(name string, dir *string, out io.Writer) *flag.FlagSet {
	fs := newFlags(name, dir)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, electionUsage)
		fs.PrintDefaults()
	}
	return fs
}

func showElection(ctx context.Context, st store.Store, asJSON bool, out io.Writer) error {
	var e model.Election
	err := st.View(ctx, func(tx store.Tx) (err error) {
		e, err = election.Get(tx)
		return err
	})
	switch {
	case err != nil:
		return err
	case asJSON:
		return writeJSON(out, e)
	}
	fmt.Fprintf(out, "名称 / name: %s\n选举日 / election day: %s\n登记截止日 / registration deadline: %s\n"+
		"名单公布截止日 / list deadline: %s\n", dash(e.Name), dash(e.Day), dash(e.RegistrationDeadline), dash(e.ListDeadline))
	return nil
}

// setElection changes the fields given (non-empty) of the stored election.
func setElection(ctx context.Context, st store.Store, given model.Election, out io.Writer) error {
	var changed bool
	err := st.Update(ctx, func(tx store.Tx) error {
		e, err := election.Get(tx)
		if err != nil {
			return err
		}
		e = overlay(e, given)
		changed, err = election.Set(ctx, tx, e)
		return err
	})
	if err != nil {
		return err
	}
	if changed {
		fmt.Fprintln(out, "已保存选举设置 / election saved")
	} else {
		fmt.Fprintln(out, "选举设置未变 / election unchanged")
	}
	return nil
}

// overlay is e with the non-empty fields of given.
func overlay(e, given model.Election) model.Election {
	for _, f := range []struct{ dst, src *string }{{&e.Name, &given.Name}, {&e.Day, &given.Day},
		{&e.RegistrationDeadline, &given.RegistrationDeadline}, {&e.ListDeadline, &given.ListDeadline}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return e
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

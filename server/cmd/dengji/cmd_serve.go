package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["serve"] = command{"运行服务器 / run the server", runServe}
}

const settingElectionDay = "election_day"

func runServe(ctx context.Context, args []string, out io.Writer) error {
	var dir, addr, day string
	fs := newFlags("serve", &dir)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "监听地址 / listen address")
	fs.StringVar(&day, "election-day", "", "选举日 YYYY-MM-DD（年龄按此日计算，保存在数据目录）/ election day (kept in the data dir)")
	if err := parse(fs, args); err != nil {
		return err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	return withStore(dir, func(st store.Store) error {
		rules, err := electionRules(ctx, st, day)
		if err != nil {
			return err
		}
		if pw, err := accounts.EnsureAdmin(ctx, st); err != nil {
			return err
		} else if pw != "" {
			fmt.Fprintf(out, "已创建管理员账号 admin，一次性密码 / created account admin with one-time password: %s\n", pw)
		}
		cfg := api.DefaultConfig()
		cfg.Validator = store.ModelValidator(rules)
		return serve(ctx, st, cfg, addr, out)
	})
}

func serve(ctx context.Context, st store.Store, cfg api.Config, addr string, out io.Writer) error {
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		return err
	}
	if err := srv.Listen(addr); err != nil {
		return err
	}
	fmt.Fprintf(out, "Dengji 服务已启动 / serving on %s\n", srv.URL())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		fmt.Fprintln(out, "正在停止 / shutting down")
		return srv.Close()
	}
}

// electionRules reads the election day from the flag (and keeps it) or from
// the data directory.
func electionRules(ctx context.Context, st store.Store, flagDay string) (model.Rules, error) {
	var rules model.Rules
	err := st.Update(ctx, func(tx store.Tx) error {
		if flagDay != "" {
			if err := tx.PutSetting(settingElectionDay, []byte(flagDay)); err != nil {
				return err
			}
		}
		v, err := tx.Setting(settingElectionDay)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rules.ElectionDay, err = time.Parse("2006-01-02", string(v))
		if err != nil {
			return fmt.Errorf("%w: 选举日格式应为 YYYY-MM-DD / election day must be YYYY-MM-DD: %q", errUsage, v)
		}
		return nil
	})
	if err == nil && rules.ElectionDay.IsZero() {
		slog.Warn("no election day set: the age check is off; set it with --election-day")
	}
	return rules, err
}

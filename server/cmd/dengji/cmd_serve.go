package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore"
)

func init() {
	commands["serve"] = command{"运行服务器 / run the server", runServe}
}

func runServe(ctx context.Context, args []string, out io.Writer) error {
	var dir, addr, day, keyFile string
	var dedupEvery time.Duration
	fs := newFlags("serve", &dir)
	keyFlag(fs, &keyFile)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "监听地址 / listen address")
	fs.StringVar(&day, "election-day", "", "选举日 YYYY-MM-DD：尚未设置选举时保存（之后用 dengji election set 修改）/ election day, kept if no election is set yet (then: dengji election set)")
	fs.DurationVar(&dedupEvery, "dedup-every", dedupjob.DefaultWatchEvery,
		"新登记持续查重的检查间隔（0 关闭）/ how often new registrations are matched for duplicates (0: off)")
	if err := parse(fs, args); err != nil {
		return err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	return withStore(dir, func(st store.Store) error {
		e, err := loadElection(ctx, st, day)
		if err != nil {
			return err
		}
		if pw, err := accounts.EnsureAdmin(ctx, st); err != nil {
			return err
		} else if pw != "" {
			fmt.Fprintf(out, "已创建管理员账号 admin（首次登录须修改密码），一次性密码 / created account admin (to change its password at first sign-in) with one-time password: %s\n", pw)
		}
		cfg := api.DefaultConfig()
		cfg.Election = election.NewLive(e)
		cfg.Validator = store.LiveModelValidator(cfg.Election.Rules)
		cfg.DedupEvery = dedupEvery
		if cfg.Keys, err = loadKeys(ctx, st, dir, keyFile, out); err != nil {
			return err
		}
		return serve(ctx, st, cfg, addr, out)
	})
}

func serve(ctx context.Context, st store.Store, cfg api.Config, addr string, out io.Writer) error {
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		return err
	}
	if err := mountConsole(srv, st, cfg); err != nil {
		return err
	}
	if err := srv.Listen(addr); err != nil {
		return err
	}
	fmt.Fprintf(out, "Dengji 服务已启动 / serving on %s（管理控制台 / console: %s/console/）\n", srv.URL(), srv.URL())
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

// loadElection reads the stored election. The --election-day flag only
// seeds one when none is stored (then named after its day): once set, the
// election changes through dengji election set or the admin API, audited.
func loadElection(ctx context.Context, st store.Store, flagDay string) (model.Election, error) {
	var e model.Election
	err := st.Update(ctx, func(tx store.Tx) (err error) {
		if e, err = election.Get(tx); err != nil || e.Day != "" || flagDay == "" {
			return err
		}
		e = model.Election{Name: flagDay + " 选举 / election of " + flagDay, Day: flagDay}
		_, err = election.Set(ctx, tx, e)
		return err
	})
	switch {
	case errors.Is(err, election.ErrInvalid):
		return e, fmt.Errorf("%w: 选举日格式应为 YYYY-MM-DD / election day must be YYYY-MM-DD: %q", errUsage, flagDay)
	case err == nil && e.Day == "":
		slog.Warn("no election day set: the age check is off; set it with dengji election set --day")
	case err == nil && flagDay != "" && flagDay != e.Day:
		slog.Warn("--election-day ignored: an election is stored; change it with dengji election set", "stored", e.Day)
	}
	return e, err
}

// keyFlag adds --key-file.
func keyFlag(fs *flag.FlagSet, keyFile *string) {
	fs.StringVar(keyFile, "key-file", os.Getenv("DENGJI_KEY_FILE"),
		"令牌签名密钥文件（默认为数据目录旁的 DIR.keys）/ token signing key file (default DIR.keys beside the data directory; $DENGJI_KEY_FILE)")
}

// keyFilePath is the key file: the flag's, or DIR.keys beside the data
// directory, never inside it (a copy of the data must mint no tokens). A
// database has no beside: its servers must be given one key file (or
// DENGJI_SIGNING_KEY), the same on each, so tokens one signs the others take.
func keyFilePath(dir, keyFile string) (string, error) {
	switch {
	case keyFile != "":
		return keyFile, nil
	case pgstore.IsURL(dir):
		return "", errors.New("使用 PostgreSQL 时须以 --key-file 或 DENGJI_SIGNING_KEY 指定签名密钥（各服务器相同）/ " +
			"with --store postgres://, give the signing keys in --key-file or DENGJI_SIGNING_KEY (the same on every server)")
	}
	return filepath.Clean(dir) + ".keys", nil
}

// loadKeys reads the token signing keys from DENGJI_SIGNING_KEY or the key
// file (created 0600 on first start; refused if others may read it). A key
// an older version left in the data file is moved to the key file, where it
// only verifies the tokens it signed (a fresh key signs), and deleted from
// the data file.
func loadKeys(ctx context.Context, st store.Store, dir, keyFile string, out io.Writer) (*auth.KeySet, error) {
	legacy, err := accounts.TakeLegacySigningKey(ctx, st)
	if err != nil {
		return nil, err
	}
	var ks *auth.KeySet
	if env := os.Getenv("DENGJI_SIGNING_KEY"); env != "" {
		if ks, err = auth.ParseEnvKeys(env); err != nil {
			return nil, err
		}
	} else {
		path, err := keyFilePath(dir, keyFile)
		if err != nil {
			return nil, err
		}
		var created bool
		if ks, created, err = auth.OpenKeyFile(path, nil); err != nil {
			return nil, fmt.Errorf("签名密钥 / signing key: %w", err)
		}
		if created {
			fmt.Fprintf(out, "已创建签名密钥文件 / created the signing key file %s\n", path)
		}
		if legacy != nil {
			if err := auth.AddKey(path, auth.Key{ID: auth.LegacyKeyID, Secret: legacy}); err != nil {
				return nil, fmt.Errorf("move the signing key out of the data file: %w", err)
			}
			if ks, err = auth.LoadKeyFile(path); err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "旧版本保存在数据文件中的签名密钥已移至 %s（仅用于验证，15 分钟后可执行 dengji key remove legacy）/ "+
				"moved the signing key an older version kept in the data file to %s (verify only; run dengji key remove legacy after 15 minutes)\n", path, path)
		}
	}
	if legacy != nil {
		if err := accounts.RemoveLegacySigningKey(ctx, st); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

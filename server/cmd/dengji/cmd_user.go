package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["user add"] = command{"新建用户 / add a user", runUserAdd}
	commands["user list"] = command{"列出用户 / list users", userCmd(func(ctx context.Context, st store.Store, _ string, out io.Writer) error {
		return userList(ctx, st, out)
	})}
	commands["user disable"] = command{"停用用户（结束其全部会话）/ disable a user, ending every session", userCmd(setDisabled(true))}
	commands["user enable"] = command{"启用用户 / enable a user", userCmd(setDisabled(false))}
	commands["user reset-password"] = command{"重置为一次性密码 / reset to a one-time password", userCmd(resetPassword)}
	commands["device list"] = command{"列出设备 / list devices", userCmd(func(ctx context.Context, st store.Store, _ string, out io.Writer) error {
		return deviceList(ctx, st, out)
	})}
	commands["device revoke"] = command{"停用设备 / revoke a device", userCmd(revokeDevice)}
}

// userCmd is a user or device subcommand: the store opened, and the one
// name or device ID its path ends in "NAME" or "DEVICE_ID" for (the list
// commands take none).
func userCmd(fn func(ctx context.Context, st store.Store, name string, out io.Writer) error) func(context.Context, []string, io.Writer) error {
	return func(ctx context.Context, args []string, out io.Writer) error {
		var dir string
		path := cmdPath(ctx)
		fs := newFlags(path, &dir)
		var want []string
		switch {
		case strings.HasPrefix(path, "device revoke"):
			want = []string{"DEVICE_ID"}
		case !strings.HasSuffix(path, " list"):
			want = []string{"NAME"}
		}
		pos, err := parsePositional(fs, args, want...)
		if err != nil {
			return err
		}
		name := ""
		if len(pos) > 0 {
			name = pos[0]
		}
		return withStore(dir, func(st store.Store) error { return fn(ctx, st, name, out) })
	}
}

func runUserAdd(ctx context.Context, args []string, out io.Writer) error {
	var dir, role, districts, password string
	fs := newFlags("user add", &dir)
	fs.StringVar(&role, "role", "registrar", "角色 registrar|coordinator|admin / role")
	fs.StringVar(&districts, "districts", "", "负责的选区代码，逗号分隔 / district codes, comma-separated")
	fs.StringVar(&password, "password", "", "密码（留空则生成）/ password (generated when empty)")
	pos, err := parsePositional(fs, args, "NAME")
	if err != nil {
		return err
	}
	return withStore(dir, func(st store.Store) error {
		return userAdd(ctx, st, pos[0], role, districts, password, out)
	})
}

func setDisabled(disabled bool) func(context.Context, store.Store, string, io.Writer) error {
	return func(ctx context.Context, st store.Store, name string, _ io.Writer) error {
		return accounts.SetDisabled(ctx, st, name, disabled)
	}
}

func resetPassword(ctx context.Context, st store.Store, name string, out io.Writer) error {
	pw, err := accounts.ResetPassword(ctx, st, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "一次性密码（首次登录须修改）/ one-time password (to be changed at first sign-in): %s\n", pw)
	return nil
}

func revokeDevice(ctx context.Context, st store.Store, id string, out io.Writer) error {
	if err := accounts.Revoke(ctx, st, id); err != nil {
		return err
	}
	fmt.Fprintf(out, "已停用设备 / revoked device %s\n", id)
	return nil
}

func userAdd(ctx context.Context, st store.Store, name, role, districts, password string, out io.Writer) error {
	var ds []string
	for _, d := range strings.Split(districts, ",") {
		if d = strings.TrimSpace(d); d != "" {
			ds = append(ds, d)
		}
	}
	pw, err := accounts.Add(ctx, st, accounts.NewUser{Name: name, Role: store.Role(role), Districts: ds, Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "已创建用户 / created user %s (%s)\n", name, role)
	if password == "" {
		fmt.Fprintf(out, "一次性密码 / one-time password: %s\n", pw)
	}
	return nil
}

func userList(ctx context.Context, st store.Store, out io.Writer) error {
	us, err := accounts.List(ctx, st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "用户 NAME\t角色 ROLE\t选区 DISTRICTS\t状态 STATUS")
	for _, u := range us {
		status := "启用 active"
		if u.Disabled {
			status = "停用 disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, strings.Join(u.Districts, ","), status)
	}
	return tw.Flush()
}

func deviceList(ctx context.Context, st store.Store, out io.Writer) error {
	ds, err := accounts.Devices(ctx, st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "设备 DEVICE\t用户 USER\t名称 NAME\t登记 ENROLLED\t最近 LAST SEEN\t状态 STATUS")
	for _, d := range ds {
		status := "启用 active"
		if d.IsRevoked() {
			status = "已停用 revoked " + d.Revoked.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.User, d.Name, d.Enrolled.Format("2006-01-02 15:04"),
			d.LastSeen.Format("2006-01-02 15:04"), status)
	}
	return tw.Flush()
}

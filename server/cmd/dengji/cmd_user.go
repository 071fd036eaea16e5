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
	commands["user"] = command{"用户管理 add|list|disable|enable|reset-password / manage users", runUser}
	commands["device"] = command{"设备管理 list|revoke / manage devices", runDevice}
}

func runUser(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || !oneOf(args[0], "add", "list", "disable", "enable", "reset-password") {
		return fmt.Errorf("%w: dengji user add|list|disable|enable|reset-password", errUsage)
	}
	var dir, role, districts, password string
	fs := newFlags("user "+args[0], &dir)
	if args[0] == "add" {
		fs.StringVar(&role, "role", "registrar", "角色 registrar|coordinator|admin / role")
		fs.StringVar(&districts, "districts", "", "负责的选区代码，逗号分隔 / district codes, comma-separated")
		fs.StringVar(&password, "password", "", "密码（留空则生成）/ password (generated when empty)")
	}
	name, err := parseNamed(fs, args[1:])
	if err != nil {
		return err
	}
	return withStore(dir, func(st store.Store) error {
		switch args[0] {
		case "add":
			return userAdd(ctx, st, name, role, districts, password, out)
		case "list":
			return userList(ctx, st, out)
		case "disable", "enable":
			if name == "" {
				return fmt.Errorf("%w: dengji user %s NAME", errUsage, args[0])
			}
			return accounts.SetDisabled(ctx, st, name, args[0] == "disable")
		case "reset-password":
			if name == "" {
				return fmt.Errorf("%w: dengji user reset-password NAME", errUsage)
			}
			pw, err := accounts.ResetPassword(ctx, st, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "一次性密码（首次登录须修改）/ one-time password (to be changed at first sign-in): %s\n", pw)
			return nil
		}
		return fmt.Errorf("%w: dengji user add|list|disable|enable", errUsage)
	})
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

func runDevice(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || !oneOf(args[0], "list", "revoke") {
		return fmt.Errorf("%w: dengji device list|revoke", errUsage)
	}
	var dir string
	fs := newFlags("device "+args[0], &dir)
	id, err := parseNamed(fs, args[1:])
	if err != nil {
		return err
	}
	return withStore(dir, func(st store.Store) error {
		switch args[0] {
		case "list":
			return deviceList(ctx, st, out)
		case "revoke":
			if id == "" {
				return fmt.Errorf("%w: dengji device revoke DEVICE_ID", errUsage)
			}
			if err := accounts.Revoke(ctx, st, id); err != nil {
				return err
			}
			fmt.Fprintf(out, "已停用设备 / revoked device %s\n", id)
			return nil
		}
		return fmt.Errorf("%w: dengji device list|revoke", errUsage)
	})
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

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

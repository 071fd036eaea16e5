package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dengji/dengji/server/auth"
)

func init() {
	commands["key list"] = command{"列出令牌签名密钥 / list the token signing keys", runKey}
	commands["key rotate"] = command{"新增签名密钥（下次启动起用于签名）/ add a signing key (signs from the next start)", runKey}
	commands["key remove"] = command{"删除签名密钥 / retire a signing key", runKey}
}

// runKey manages the key file. A rotation takes effect at the server's next
// start; tokens of the older keys keep working until those are removed.
func runKey(ctx context.Context, args []string, out io.Writer) error {
	var dir, keyFile string
	cmd := cmdPath(ctx)
	fs := newFlags(cmd, &dir)
	keyFlag(fs, &keyFile)
	var want []string
	if cmd == "key remove" {
		want = []string{"ID"}
	}
	pos, err := parsePositional(fs, args, want...)
	if err != nil {
		return err
	}
	path, err := keyFilePath(dir, keyFile)
	if err != nil {
		return err
	}
	switch cmd {
	case "key rotate":
		if _, _, err := auth.OpenKeyFile(path, nil); err != nil {
			return err
		}
		id, err := auth.RotateKeyFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "新密钥 %s 将在服务器下次启动时用于签名；旧密钥仍可验证，直到被删除 / new key %s signs from the server's next start; older keys verify until removed\n", id, id)
		return nil
	case "key remove":
		id := pos[0]
		if err := auth.RemoveKey(path, id); err != nil {
			return err
		}
		fmt.Fprintf(out, "已删除密钥 / removed key %s (restart the server)\n", id)
		return nil
	}
	ks, err := auth.LoadKeyFile(path)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "密钥 KEY\t创建 CREATED\t用途 USE")
	keys := ks.Keys()
	for i, k := range keys {
		use := "验证 verify"
		if i == len(keys)-1 {
			use = "签名 sign"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Created.Format("2006-01-02 15:04"), use)
	}
	return tw.Flush()
}

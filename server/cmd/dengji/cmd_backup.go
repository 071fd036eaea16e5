package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

func init() {
	commands["backup"] = command{"立即备份数据（服务器停止时；运行中用 POST /v1/admin/backup）/ back up the data now (server stopped; while it runs: POST /v1/admin/backup)", runBackup}
	commands["backup list"] = command{"列出保留的备份 / list the kept backups", runBackupList}
	commands["restore"] = command{"从备份恢复数据（服务器须停止）/ restore the data from a backup (server stopped)", runRestore}
	longHelp["restore"] = restoreHelp
}

const restoreHelp = `先校验备份文件与其清单（FILE.json）的 SHA-256，再替换数据文件；被替换的文件改名保留
（dengji.db.before-restore-时间），不会删除。恢复后服务器获得新的代次（generation），
设备下次同步时发现服务器回到了过去：重新读取其选区的数据，并重新提交服务器已没有的本机修改。
备份之后服务器上做出的决定（冲突处理、查重决定、导入、账号变更）不在备份中，须重新做。

Checks the backup file against the SHA-256 of its manifest (FILE.json), then
puts it in place of the data file; the file it replaces is kept, renamed
dengji.db.before-restore-TIME, never deleted. The server gets a new
generation: at their next sync, devices find that it went back in time, read
their districts again and send again their own changes it no longer has.
Decisions taken on the server after the backup (conflict resolutions,
duplicate decisions, imports, account changes) are not in it and must be
taken again. After restoring a database with its own tools (PostgreSQL's
pg_restore), run dengji restore --new-generation: devices then send again
what the restored database lacks.
`

// backupDirFlag adds --dir, the backup directory (default DIR.backups
// beside the data directory).
func backupDirFlag(fs *flag.FlagSet, dir *string) {
	fs.StringVar(dir, "dir", "", "备份目录（默认为数据目录旁的 DIR.backups）/ backup directory (default DIR.backups beside the data directory)")
}

func backupDirPath(data, dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Clean(data) + ".backups"
}

func runBackup(ctx context.Context, args []string, out io.Writer) error {
	var data, dir string
	keep := 7
	fs := newFlags("backup", &data)
	backupDirFlag(fs, &dir)
	fs.IntVar(&keep, "keep", keep, "保留最新的几份 / how many of the newest to keep")
	if err := parse(fs, args); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: --keep 至少为 1 / --keep must be at least 1", errUsage)
	}
	if err := requireData(data); err != nil {
		return err
	}
	return withStore(data, func(st store.Store) error {
		m, err := newBackups(ctx, st, backupDirPath(data, dir), keep)
		if err != nil {
			return err
		}
		info, err := m.Take(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "已备份 / backed up: %s (%d 字节 bytes, 序号 seq %d, %.1f s)\n",
			filepath.Join(m.Dir(), info.File), info.Size, info.Seq, info.Seconds)
		return nil
	})
}

// newBackups is the backup manager of st, if its backend has backups of
// its own (bbolt); PostgreSQL's are pg_dump's.
func newBackups(ctx context.Context, st store.Store, dir string, keep int) (*backup.Manager, error) {
	snap, ok := st.(backup.Snapshotter)
	if !ok {
		return nil, errors.New("此存储没有内置备份，请用 pg_dump / this store has no backups of its own: use pg_dump")
	}
	gen, err := backup.Generation(ctx, st)
	if err != nil {
		return nil, err
	}
	return backup.NewManager(dir, keep, snap, gen, nil)
}

func runBackupList(_ context.Context, args []string, out io.Writer) error {
	var data, dir string
	fs := newFlags("backup list", &data)
	backupDirFlag(fs, &dir)
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(backupDirPath(data, dir)); err != nil {
		return fmt.Errorf("没有备份目录 / no backup directory: %w", err)
	}
	m, err := backup.NewManager(backupDirPath(data, dir), 1, nil, "", nil)
	if err != nil {
		return err
	}
	list, err := m.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "文件 FILE\t时间 CREATED\t序号 SEQ\t字节 BYTES\t代次 GENERATION")
	for _, i := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", filepath.Join(m.Dir(), i.File), i.Created.Format("2006-01-02 15:04:05"),
			i.Seq, i.Size, i.Generation)
	}
	return tw.Flush()
}

func runRestore(ctx context.Context, args []string, out io.Writer) error {
	var data string
	var genOnly bool
	fs := newFlags("restore", &data)
	fs.BoolVar(&genOnly, "new-generation", false,
		"只给数据新的代次（用 pg_restore 等工具恢复数据库之后）/ only give the data a new generation (after a database was restored with pg_restore or the like)")
	pos, err := parsePositional(fs, args, "[BACKUP.db]")
	if err != nil {
		return err
	}
	if genOnly != (len(pos) == 0) {
		return fmt.Errorf("%w: dengji restore BACKUP.db，或 dengji restore --new-generation / dengji restore BACKUP.db, or dengji restore --new-generation", errUsage)
	}
	if genOnly {
		if err := requireData(data); err != nil {
			return err
		}
		return withStore(data, func(st store.Store) error {
			gen, err := backup.NewGeneration(ctx, st, backup.Info{File: "restored elsewhere"})
			if err == nil {
				fmt.Fprintf(out, "新代次 / new generation %s\n", gen)
			}
			return err
		})
	}
	if pgstore.IsURL(data) {
		return fmt.Errorf("%w: 备份文件只能恢复到数据目录；PostgreSQL 请用 pg_restore，再运行 dengji restore --new-generation / "+
			"a backup file restores into a data directory: for PostgreSQL use pg_restore, then dengji restore --new-generation", errUsage)
	}
	// The data directory must not be in use: opening it proves that. On a
	// new disk there is nothing to open yet.
	if _, err := os.Stat(filepath.Join(data, boltstore.FileName)); err == nil {
		st, err := openStore(data)
		if err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
	}
	info, kept, err := backup.Restore(pos[0], filepath.Join(data, boltstore.FileName))
	if err != nil {
		return err
	}
	var gen string
	err = withStore(data, func(st store.Store) error {
		gen, err = backup.NewGeneration(ctx, st, info)
		return err
	})
	if err != nil {
		return err
	}
	if kept != "" {
		fmt.Fprintf(out, "原数据文件已保留为 / the replaced data file is kept as %s\n", kept)
	}
	fmt.Fprintf(out, "已从 %s 恢复（序号 %d）；新代次 %s / restored from %s (seq %d); new generation %s\n",
		info.File, info.Seq, gen, info.File, info.Seq, gen)
	return nil
}

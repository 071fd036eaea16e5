// Package backup takes online, consistent, checksummed snapshots of the
// embedded store while it serves, keeps the newest N, verifies and restores
// them, and holds the server's generation: an ID a restore changes, so that
// devices learn that the server went back in time (see client-sdk's
// generation.go).
package backup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// Errors.
var (
	// ErrChecksum: a backup file's SHA-256 is not its manifest's.
	ErrChecksum = errors.New("backup: 备份文件校验和不符，文件已损坏 / the backup file's checksum does not match its manifest: the file is damaged")
	// ErrNoManifest: a file with no manifest beside it is no backup of ours.
	ErrNoManifest = errors.New("backup: 找不到备份清单 FILE.json / no manifest FILE.json beside the backup")
)

// Snapshotter writes a consistent copy of a store to w from one read
// transaction, while writers go on, and reports the feed's highest
// sequence the copy holds (boltstore.Store.Snapshot).
type Snapshotter interface {
	Snapshot(w io.Writer) (seq uint64, err error)
}

// Info is a backup's manifest, kept as NAME.json beside NAME.db.
type Info struct {
	File       string    `json:"file"` // the backup file's name, in the backup directory
	Created    time.Time `json:"created"`
	Seq        uint64    `json:"seq"`        // the feed's highest sequence in the copy: every change up to it is inside
	Generation string    `json:"generation"` // of the server it was taken from
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Seconds    float64   `json:"seconds"` // how long it took
}

// Manager takes and keeps the backups of one store in one directory.
type Manager struct {
	dir  string
	keep int
	src  Snapshotter
	gen  string
	log  *slog.Logger

	mu        sync.Mutex // one backup at a time
	watermark atomic.Uint64
	last      atomic.Pointer[Info]
	failures  atomic.Int64
}

// NewManager keeps backups of src in dir (created 0700), the newest keep of
// them. gen is the server's generation, written into each manifest.
func NewManager(dir string, keep int, src Snapshotter, gen string, log *slog.Logger) (*Manager, error) {
	if keep < 1 {
		return nil, errors.New("backup: keep at least one")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: create %s: %w", dir, err)
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{dir: dir, keep: keep, src: src, gen: gen, log: log}
	list, err := m.List()
	if err != nil {
		return nil, err
	}
	m.setWatermark(list)
	if len(list) > 0 {
		m.last.Store(&list[len(list)-1])
	}
	return m, nil
}

// Dir is the backup directory.
func (m *Manager) Dir() string { return m.dir }

// Watermark is the feed sequence every kept backup holds: the oldest kept
// backup's. A change the server sequenced at or below it is in every
// backup an operator may restore, so a device need not keep it for
// sending again; 0 when there is no backup.
func (m *Manager) Watermark() uint64 { return m.watermark.Load() }

// Last is the newest backup taken or found, nil if none.
func (m *Manager) Last() *Info { return m.last.Load() }

// Failures counts backups that failed in this process.
func (m *Manager) Failures() int64 { return m.failures.Load() }

// Take writes a backup now: the snapshot goes to a temporary file through
// SHA-256, is synced and renamed, its manifest written beside it, and the
// oldest backups beyond keep removed.
func (m *Manager) Take(ctx context.Context) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	info, err := m.take()
	if err != nil {
		m.failures.Add(1)
		m.log.Error("backup failed", "err", err)
		return info, err
	}
	m.last.Store(&info)
	list, err := m.prune()
	if err != nil {
		return info, err
	}
	m.setWatermark(list)
	m.log.Info("backup taken", "file", info.File, "seq", info.Seq, "bytes", info.Size, "seconds", info.Seconds)
	return info, nil
}

func (m *Manager) take() (Info, error) {
	start := time.Now().UTC()
	info := Info{File: "dengji-" + start.Format("20060102T150405.000Z") + ".db", Created: start, Generation: m.gen}
	path := filepath.Join(m.dir, info.File)
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	info.Seq, err = m.src.Snapshot(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return info, fmt.Errorf("backup: write %s: %w", path, err)
	}
	info.Size, info.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
	info.Seconds = time.Since(start).Seconds()
	if err := writeManifest(path, info); err != nil {
		return info, err
	}
	return info, syncDir(m.dir)
}

// List returns the backups in the directory, oldest first.
func (m *Manager) List() ([]Info, error) {
	names, err := filepath.Glob(filepath.Join(m.dir, "dengji-*.db.json"))
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, n := range names {
		info, err := readManifest(strings.TrimSuffix(n, ".json"))
		if err != nil {
			m.log.Warn("backup manifest unreadable", "file", filepath.Base(n), "err", err)
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// prune removes the oldest backups beyond keep, and returns those kept.
func (m *Manager) prune() ([]Info, error) {
	list, err := m.List()
	if err != nil {
		return nil, err
	}
	for len(list) > m.keep {
		p := filepath.Join(m.dir, list[0].File)
		if err := errors.Join(os.Remove(p+".json"), os.Remove(p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return list, fmt.Errorf("backup: remove %s: %w", list[0].File, err)
		}
		list = list[1:]
	}
	return list, nil
}

func (m *Manager) setWatermark(kept []Info) {
	var w uint64
	if len(kept) > 0 {
		w = kept[0].Seq
		for _, i := range kept {
			w = min(w, i.Seq)
		}
	}
	m.watermark.Store(w)
}

// Run takes a backup every period until ctx ends.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Take(ctx) // logged and counted
		}
	}
}

// Verify reads the backup file at path and checks it against its manifest.
func Verify(path string) (Info, error) {
	info, err := readManifest(path)
	if err != nil {
		return info, err
	}
	f, err := os.Open(path)
	if err != nil {
		return info, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return info, err
	}
	if n != info.Size || hex.EncodeToString(h.Sum(nil)) != info.SHA256 {
		return info, fmt.Errorf("%w: %s", ErrChecksum, path)
	}
	return info, nil
}

func writeManifest(path string, info Info) error {
	b, _ := json.MarshalIndent(info, "", "  ")
	tmp := path + ".json.tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	return os.Rename(tmp, path+".json")
}

func readManifest(path string) (Info, error) {
	var info Info
	b, err := os.ReadFile(path + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return info, fmt.Errorf("%w: %s", ErrNoManifest, path)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("backup: manifest %s.json: %w", path, err)
	}
	return info, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// SettingGeneration is the store setting holding the server's generation.
const SettingGeneration = "server_generation"

// Generation is the store's generation, made at its first call.
func Generation(ctx context.Context, st store.Store) (string, error) {
	var gen string
	err := st.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Setting(SettingGeneration)
		if err == nil {
			gen = string(v)
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		gen = newGeneration()
		return tx.PutSetting(SettingGeneration, []byte(gen))
	})
	return gen, err
}

// NewGeneration gives the store a new generation, and records it in the
// audit log: the store now holds what a backup held, and devices must treat
// it as a server older than the one they saw.
func NewGeneration(ctx context.Context, st store.Store, from Info) (string, error) {
	gen := newGeneration()
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := audit.Append(ctx, tx, audit.Restored, from.File, audit.D{"seq": from.Seq,
			"generation": gen, "was": from.Generation, "backup_created": from.Created}); err != nil {
			return err
		}
		return tx.PutSetting(SettingGeneration, []byte(gen))
	})
	return gen, err
}

func newGeneration() string {
	var b [8]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
}

// Restore puts the backup at path in place of the store file target (the
// store must be closed): it is verified against its manifest first, copied
// beside target, synced and renamed over it; the file it replaces is kept as
// target.before-restore-TIME, never deleted. The caller then opens the store
// and calls NewGeneration.
func Restore(path, target string) (Info, string, error) {
	info, err := Verify(path)
	if err != nil {
		return info, "", err
	}
	src, err := os.Open(path)
	if err != nil {
		return info, "", err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return info, "", err
	}
	tmp := target + ".restoring"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return info, "", err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return info, "", fmt.Errorf("backup: copy: %w", err)
	}
	var kept string
	if _, err := os.Stat(target); err == nil {
		kept = target + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(target, kept); err != nil {
			os.Remove(tmp)
			return info, "", err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return info, kept, err
	}
	return info, kept, syncDir(filepath.Dir(target))
}

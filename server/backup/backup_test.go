package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

var ctx = context.Background()

func push(t *testing.T, st store.Store, dev string, from, n int) {
	t.Helper()
	chs := make([]dsync.Change, n)
	for i := range chs {
		c := uint64(from + i)
		chs[i] = dsync.Change{ID: fmt.Sprintf("%s-%d", dev, c), Device: dev, Counter: c, Record: fmt.Sprintf("%s-r%d", dev, c),
			Type: "registration", District: "430102001001", Op: dsync.OpCreate, HLC: dsync.MakeHLC(time.Now().UnixMilli(), 0),
			Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}}
	}
	if _, err := store.Push(ctx, st, store.PushRequest{Device: dev, Author: "li", Changes: chs}); err != nil {
		t.Fatal(err)
	}
}

// Backups taken while pushes go on are consistent copies: each opens as a
// store holding exactly the changes up to its sequence; the newest keep are
// kept; the watermark is the oldest kept one's sequence.
func TestManager_TakeWhileWriting(t *testing.T) {
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gen, err := backup.Generation(ctx, st)
	if err != nil || gen == "" {
		t.Fatal(gen, err)
	}
	m, err := backup.NewManager(filepath.Join(dir, "backups"), 2, st, gen, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Watermark() != 0 {
		t.Fatal("a watermark with no backup")
	}
	push(t, st, "a", 1, 50)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); push(t, st, "b", 1, 2000) }()
	var infos []backup.Info
	for range 3 {
		info, err := m.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	wg.Wait()
	list, _ := m.List()
	if len(list) != 2 || list[0].File != infos[1].File || list[1].File != infos[2].File {
		t.Fatalf("kept %+v, want the newest 2 of %+v", list, infos)
	}
	if m.Watermark() != infos[1].Seq {
		t.Fatalf("watermark %d, want the oldest kept backup's %d", m.Watermark(), infos[1].Seq)
	}
	for _, info := range list {
		p := filepath.Join(m.Dir(), info.File)
		if _, err := backup.Verify(p); err != nil {
			t.Fatal(err)
		}
		// The copy holds every change up to its sequence and none after.
		restored := filepath.Join(t.TempDir(), "data")
		if _, _, err := backup.Restore(p, filepath.Join(restored, boltstore.FileName)); err != nil {
			t.Fatal(err)
		}
		cp, err := boltstore.Open(restored)
		if err != nil {
			t.Fatal(err)
		}
		cp.View(ctx, func(tx store.Tx) error {
			high, _ := tx.HighSeq()
			if high != info.Seq {
				t.Errorf("%s: copy's sequence %d, manifest %d", info.File, high, info.Seq)
			}
			for seq := uint64(1); seq <= high; seq++ {
				if _, err := tx.ChangeBySeq(seq); err != nil {
					t.Errorf("%s: change %d missing: %v", info.File, seq, err)
				}
			}
			return nil
		})
		cp.Close()
	}
}

// A damaged backup is refused before anything is replaced.
func TestRestore_ErrChecksum(t *testing.T) {
	dir := t.TempDir()
	st, _ := boltstore.Open(filepath.Join(dir, "data"))
	push(t, st, "a", 1, 10)
	m, _ := backup.NewManager(filepath.Join(dir, "backups"), 3, st, "g", nil)
	info, err := m.Take(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(m.Dir(), info.File)
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt([]byte{0xff}, info.Size/2)
	f.Close()
	target := filepath.Join(dir, "data", boltstore.FileName)
	before, _ := os.ReadFile(target)
	if _, _, err := backup.Restore(p, target); !errors.Is(err, backup.ErrChecksum) {
		t.Fatalf("damaged backup: %v", err)
	}
	if after, _ := os.ReadFile(target); string(after) != string(before) {
		t.Fatal("a refused restore changed the data file")
	}
	if _, _, err := backup.Restore(filepath.Join(dir, "nothing.db"), target); !errors.Is(err, backup.ErrNoManifest) {
		t.Fatalf("no manifest: %v", err)
	}
}

// Run takes backups on its schedule until stopped, keeping the newest.
func TestManager_Run(t *testing.T) {
	dir := t.TempDir()
	st, _ := boltstore.Open(filepath.Join(dir, "data"))
	defer st.Close()
	m, _ := backup.NewManager(filepath.Join(dir, "backups"), 2, st, "g", nil)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(ctx, 20*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for countBackups(t, m) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled backups")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n := countBackups(t, m); n != 2 {
		t.Fatalf("%d backups kept, want 2", n)
	}
}

func countBackups(t *testing.T, m *backup.Manager) int {
	list, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

// storeRecords writes records straight into a store in dir, as an older
// server did, bypassing the record contract.
// storeRecords writes records straight into the store, as an older version
// that checked less could have written them: push would refuse them now
// (a stand-in for data this version cannot produce).
func storeRecords(t *testing.T, dir string, recs map[string]map[string]string) {
	t.Helper()
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for id, fields := range recs {
			seq, err := tx.NextSeq()
			if err != nil {
				return err
			}
			rec := &dsync.Record{ID: id, Type: model.TypeRegistration, District: "430102001001", Seq: seq,
				Fields: map[string]dsync.Field{}}
			for k, v := range fields {
				rec.Fields[k] = dsync.Field{Value: json.RawMessage(v), Version: "c-" + id}
			}
			if err := tx.PutRecord(rec, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheck_ReportsRecordsBreakingTheContract(t *testing.T) {
	dir := t.TempDir()
	storeRecords(t, dir, map[string]map[string]string{
		"good":       {"name": `"李碧辉"`},
		"nul":        {"name": `"秘\u0000密"`},
		"deep":       {"name": `"王雄"`, "junk": strings.Repeat("[", 9999) + strings.Repeat("]", 9999)},
		"r\x1b[2Jid": {"name": `"\u001b[31m红字"`},
	})
	out, err := runCLI(t, "check", "--data", dir)
	if !errors.Is(err, errContract) {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, want := range []string{"nul", "name", model.CodeControlChar, "deep", "junk", model.CodeUnknownField,
		`"r\x1b[2Jid"`, "430102001001", "检查记录 4 条，不符合规范 3 条"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"秘", "红字", "王雄", "\x1b", "[[["} {
		if strings.Contains(out, secret) {
			t.Errorf("output shows %q, a value or an escape:\n%s", secret, out)
		}
	}
	if strings.Contains(out, "good") {
		t.Errorf("a good record reported:\n%s", out)
	}

	out, err = runCLI(t, "check", "--json", "--data", dir)
	var rep store.ContractReport
	if !errors.Is(err, errContract) || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if rep.Records != 4 || rep.Bad != 3 || len(rep.Issues) != 3 {
		t.Errorf("report %+v", rep)
	}
	for _, is := range rep.Issues {
		if is.District != "430102001001" || is.Field == "" || is.Code == "" || is.Message == "" {
			t.Errorf("issue %+v", is)
		}
	}
}

func TestCheck_OK(t *testing.T) {
	dir := t.TempDir()
	storeRecords(t, dir, map[string]map[string]string{"good": {"name": `"李碧辉"`, "category_note": `"一\n二"`}})
	out, err := runCLI(t, "check", "--data", dir)
	if err != nil || !strings.Contains(out, "checked 1 records, 0 break") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

func TestCheck_HelpTouchesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	for _, h := range []string{"-h", "--help"} {
		out, err := runCLI(t, "check", h, "--data", dir)
		if err != nil || !strings.Contains(out, "dengji check [flags]") || !strings.Contains(out, "--json") {
			t.Fatalf("%s: %v\n%s", h, err, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("help created the data directory: %v", err)
	}
	if _, err := runCLI(t, "check", "--data", dir); err == nil || errors.Is(err, errContract) {
		t.Errorf("check of a directory without data: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("check created the data directory: %v", err)
	}
	if _, err := runCLI(t, "check", "extra", "--data", dir); !errors.Is(err, errUsage) {
		t.Errorf("a stray argument: %v", err)
	}
}

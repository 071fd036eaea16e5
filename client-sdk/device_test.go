package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// mustOpen opens a device file in a fresh temporary directory; it is closed
// when the test ends.
func mustOpen(t testing.TB, opts Options) (*Device, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "device.db")
	return mustOpenPath(t, path, opts), path
}

func mustOpenPath(t testing.TB, path string, opts Options) *Device {
	t.Helper()
	if opts.Validate == nil {
		opts.Validate = acceptAll
	}
	d, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// acceptAll is the validator of tests about storage and sync, whose records
// are not real registrations.
func acceptAll(string, string, map[string]json.RawMessage) error { return nil }

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func value(t testing.TB, r *dsync.Record, field string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(r.Fields[field].Value, &s); err != nil {
		t.Fatalf("field %s: %v", field, err)
	}
	return s
}

func pendingChanges(t testing.TB, d *Device) []dsync.Change {
	t.Helper()
	var out []dsync.Change
	err := d.db.View(func(tx *bbolt.Tx) (err error) {
		out, err = outboxBatchTx(tx, 0, 1<<30)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDevice_Open(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		d, path := mustOpen(t, Options{})
		id := d.ID()
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三"})))
		d.Close()
		d2 := mustOpenPath(t, path, Options{})
		if d2.ID() != id {
			t.Fatalf("device id changed: %s → %s", id, d2.ID())
		}
		must[string](t)(d2.Create("registration", "110101001001", jsonFields(map[string]string{"name": "李四"})))
		chs := pendingChanges(t, d2)
		if len(chs) != 2 || chs[0].Counter != 1 || chs[1].Counter != 2 || chs[1].HLC <= chs[0].HLC {
			t.Fatalf("counters/hlc do not continue across reopen: %+v", chs)
		}
	})
	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		d, path := mustOpen(t, Options{})
		d.db.Update(func(tx *bbolt.Tx) error { return putU64Tx(tx, keySchema, schemaVersion+1) })
		d.Close()
		if _, err := Open(path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDevice_Create(t *testing.T) {
	d, _ := mustOpen(t, Options{})
	id := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三", "address": "东城区"})))
	r := must[*dsync.Record](t)(d.Get(id))
	if r.Type != "registration" || r.District != "110101001001" || value(t, r, "name") != "张三" || r.Deleted() {
		t.Fatalf("view = %+v", r)
	}
	chs := pendingChanges(t, d)
	if len(chs) != 1 {
		t.Fatalf("pending = %d", len(chs))
	}
	ch := chs[0]
	if ch.Op != dsync.OpCreate || ch.Device != d.ID() || ch.Counter != 1 || len(ch.Base) != 0 {
		t.Fatalf("change = %+v", ch)
	}
	if r.Version("name") != ch.ID || r.Writers[ch.ID].Device != d.ID() {
		t.Fatalf("view versions = %+v", r.Fields)
	}
	if _, err := d.Create("registration", "110101001001", nil); !errors.Is(err, dsync.ErrInvalidChange) {
		t.Fatalf("empty create: err = %v", err)
	}
	if _, err := d.Create("registration", "110101001001", jsonFields(map[string]string{"Bad Name": "x"})); !errors.Is(err, dsync.ErrInvalidChange) {
		t.Fatalf("bad field name: err = %v", err)
	}
	if n := must[int](t)(d.Pending()); n != 1 {
		t.Fatalf("pending after refused creates = %d", n)
	}
}

func TestDevice_Update(t *testing.T) {
	d, _ := mustOpen(t, Options{})
	id := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三", "phone": "1"})))
	if err := d.Update(id, jsonFields(map[string]string{"name": "张叁"})); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(id, jsonFields(map[string]string{"name": "张三丰", "note": "新"})); err != nil {
		t.Fatal(err)
	}
	chs := pendingChanges(t, d)
	create, first, second := chs[0], chs[1], chs[2]
	if first.Base["name"] != create.ID || first.Base[dsync.FieldDeleted] != "" {
		t.Fatalf("first update base = %v", first.Base)
	}
	if second.Base["name"] != first.ID || second.Base["note"] != "" {
		t.Fatalf("second update base = %v, want name=%s", second.Base, first.ID)
	}
	r := must[*dsync.Record](t)(d.Get(id))
	if value(t, r, "name") != "张三丰" || r.Version("name") != second.ID || r.Version("phone") != create.ID {
		t.Fatalf("view = %+v", r.Fields)
	}
	if _, ok := r.Writers[first.ID]; ok {
		t.Fatalf("view keeps writer of overwritten version: %v", r.Writers)
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := d.Update("nope", jsonFields(map[string]string{"name": "x"})); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDevice_Delete(t *testing.T) {
	d, _ := mustOpen(t, Options{})
	id := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三", "phone": "1"})))
	check(t, d.Update(id, jsonFields(map[string]string{"phone": "2"})))
	if err := d.Delete(id); err != nil {
		t.Fatal(err)
	}
	chs := pendingChanges(t, d)
	del := chs[2]
	if del.Op != dsync.OpDelete || string(del.Set[dsync.FieldDeleted]) != "true" ||
		del.Base["name"] != chs[0].ID || del.Base["phone"] != chs[1].ID || len(del.Base) != 2 {
		t.Fatalf("delete = %+v", del)
	}
	r := must[*dsync.Record](t)(d.Get(id))
	if !r.Deleted() {
		t.Fatal("view not deleted")
	}
	if err := d.Update(id, jsonFields(map[string]string{"name": "x"})); !errors.Is(err, ErrDeleted) {
		t.Fatalf("update of deleted: err = %v", err)
	}
	if err := d.Delete(id); !errors.Is(err, ErrDeleted) {
		t.Fatalf("second delete: err = %v", err)
	}
}

func TestDevice_List(t *testing.T) {
	d, _ := mustOpen(t, Options{})
	a := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	b := must[string](t)(d.Create("registration", "110101001002", jsonFields(map[string]string{"name": "b"})))
	c := must[string](t)(d.Create("migrant_contact", "110101001001", jsonFields(map[string]string{"name": "c"})))
	check(t, d.Delete(b))
	ids := func(f ListFilter) string {
		var out []string
		for _, r := range must[[]*dsync.Record](t)(d.List(f)) {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		f    ListFilter
		want string
	}{
		{ListFilter{}, a + "," + c},
		{ListFilter{IncludeDeleted: true}, a + "," + b + "," + c},
		{ListFilter{Type: "registration"}, a},
		{ListFilter{District: "110101001001", Type: "migrant_contact"}, c},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("List(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestDevice_Validate(t *testing.T) {
	var seen map[string]json.RawMessage
	d, _ := mustOpen(t, Options{Validate: func(typ, district string, f map[string]json.RawMessage) error {
		seen = f
		if string(f["name"]) == `""` {
			return &ValidationError{Issues: []Issue{{Field: "name", Code: "required", Message: "姓名必填"}}}
		}
		if _, ok := f["phone"]; ok && typ == "registration" {
			return errors.New("phone is not a registration field")
		}
		return nil
	}})
	id := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三", "address": "x"})))
	t.Run("FullFieldSet", func(t *testing.T) {
		check(t, d.Update(id, jsonFields(map[string]string{"address": "y"})))
		if len(seen) != 2 || string(seen["name"]) != `"张三"` {
			t.Fatalf("validator saw %v, want the full record", seen)
		}
	})
	t.Run("ErrValidation", func(t *testing.T) {
		var ve *ValidationError
		err := d.Update(id, jsonFields(map[string]string{"name": ""}))
		if !errors.As(err, &ve) || len(ve.Issues) != 1 || ve.Issues[0].Code != "required" {
			t.Fatalf("err = %v", err)
		}
		err = d.Update(id, jsonFields(map[string]string{"phone": "1"}))
		if !errors.As(err, &ve) || ve.Err == nil {
			t.Fatalf("plain validator error not wrapped: %v", err)
		}
		if _, err := d.Create("registration", "110101001001", jsonFields(map[string]string{"name": ""})); !errors.As(err, &ve) {
			t.Fatalf("create: err = %v", err)
		}
		if n := must[int](t)(d.Pending()); n != 2 {
			t.Fatalf("pending = %d, want 2 (refused edits write nothing)", n)
		}
		if r := must[*dsync.Record](t)(d.Get(id)); value(t, r, "name") != "张三" {
			t.Fatal("refused edit reached the view")
		}
	})
}

// TestDevice_Kill writes changes in a child process that dies without Close
// (SIGKILL), then reopens the file and finds every change it committed.
func TestDevice_Kill(t *testing.T) {
	const n = 50
	path := filepath.Join(t.TempDir(), "device.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SDK_HELPER_PATH="+path, "SDK_HELPER_N="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die by SIGKILL: %v\n%s", err, out)
	}
	d := mustOpenPath(t, path, Options{})
	chs := pendingChanges(t, d)
	if len(chs) != n {
		t.Fatalf("pending after kill = %d, want %d", len(chs), n)
	}
	var counter uint64
	d.db.View(func(tx *bbolt.Tx) error { counter = getU64Tx(tx, keyCounter); return nil })
	if counter != n {
		t.Fatalf("counter = %d, want %d", counter, n)
	}
	for i, ch := range chs {
		r, err := d.Get(ch.Record)
		if err != nil || r.Version("name") != ch.ID || value(t, r, "name") != fmt.Sprint(i) {
			t.Fatalf("change %d not in view: %v %+v", i, err, r)
		}
	}
	must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "after"})))
	if chs := pendingChanges(t, d); chs[n].Counter != n+1 {
		t.Fatalf("counter after reopen = %d", chs[n].Counter)
	}
}

// TestHelperProcess is the child of TestDevice_Kill; it does nothing in a
// normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("SDK_HELPER_PATH")
	if path == "" {
		t.Skip("helper process for TestDevice_Kill")
	}
	n, _ := strconv.Atoi(os.Getenv("SDK_HELPER_N"))
	d, err := Open(path, Options{Validate: acceptAll})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := range n {
		if _, err := d.Create("registration", "110101001001", jsonFields(map[string]string{"name": fmt.Sprint(i)})); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestDeps keeps the server's world out of the SDK and its mobile binding.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/dengji/dengji/client-sdk/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"gin-gonic", "golang-jwt", "/server"} {
			if strings.Contains(dep, bad) {
				t.Errorf("client-sdk depends on %s", dep)
			}
		}
	}
}

// BenchmarkCreate measures offline creates of valid registrations, checked
// by the shared model as in production.
func BenchmarkCreate(b *testing.B) {
	d, _ := mustOpen(b, Options{Validate: modelValidator(election)})
	fields := registrationFields()
	size := 0
	for k, v := range fields {
		size += len(k) + len(v)
	}
	for b.Loop() {
		if _, err := d.Create("registration", "110101001001", fields); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/record")
}

var election = model.Rules{ElectionDay: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}

// registrationFields is a valid registration: 15 fields, about 500 bytes.
func registrationFields() map[string]json.RawMessage {
	return jsonFields(map[string]string{
		"name":              "王小明",
		"gender":            "M",
		"birth_date":        "1985-03-12",
		"id_number":         "110101198503120017",
		"household_address": "北京市东城区东华门街道南池子大街12号",
		"residence_address": "北京市东城区东华门街道南池子大街12号院3号楼2单元501室",
		"phone":             "13800138000",
		"voter_group":       "东华门街道第七选民小组",
		"channel":           "door",
		"status":            "registered",
		"addition_reason":   "moved_in",
		"category_note":     "上门登记，本人在家，已核对身份证原件",
		"registrar":         "李登记员",
		"device":            "8f0c2a5e-4c1d-4b7e-9a57-2f1e0c9b7d11",
		"ref":               "DH-007-0153",
	})
}

// TestDevice_ModelValidation: without Options.Validate, edits are checked by
// the shared model.
func TestDevice_ModelValidation(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "device.db"), Options{Rules: election})
	check(t, err)
	defer d.Close()
	fields := registrationFields()
	if rep := model.Validate(model.TypeRegistration, "110101001001", fields, election); !rep.OK() || len(rep.Warnings) != 0 {
		t.Fatalf("test registration is not clean: %+v", rep)
	}
	id := must[string](t)(d.Create(model.TypeRegistration, "110101001001", fields))
	var ve *ValidationError
	err = d.Update(id, jsonFields(map[string]string{"channel": "post"}))
	if !errors.As(err, &ve) || len(ve.Issues) != 1 || ve.Issues[0].Code != model.CodeEnumValue {
		t.Fatalf("err = %v", err)
	}
	if n := must[int](t)(d.Pending()); n != 1 {
		t.Fatalf("pending = %d", n)
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

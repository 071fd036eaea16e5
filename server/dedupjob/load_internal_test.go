package dedupjob

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// decodeRegistration, which reads only the values the engine uses, gives
// what decoding the whole record and engineRecord give: for a generated
// roll, and for the records it leaves to the long way (escapes, nulls) or
// leaves out (deleted, removed, another type), naming a registration left
// out by its ID and district (an incremental run's dead).
func TestDecodeRegistration_AsTheLongWay(t *testing.T) {
	var stored [][]byte
	for i, r := range generatedRecords(2000) {
		switch i % 50 {
		case 1:
			r.Fields[dsync.FieldDeleted] = dsync.Field{Value: json.RawMessage(`true`), Version: "c1"}
		case 2:
			r.Fields["status"] = dsync.Field{Value: json.RawMessage(`"removed"`), Version: "c1"}
		case 3:
			r.Type = model.TypeMigrantContact
		case 4:
			r.Fields["name"] = dsync.Field{Value: json.RawMessage(`"\u674e\"四\""`), Version: "c1"}
		case 5:
			r.Fields["phone"] = dsync.Field{Value: json.RawMessage(`null`), Version: "c1"}
		case 6:
			r.Fields[dsync.FieldDeleted] = dsync.Field{Value: json.RawMessage(`false`), Version: "c1"}
		}
		stored = append(stored, r.AppendJSON(nil))
	}
	kept := 0
	for _, data := range stored {
		got, seq, ok, err := decodeRegistration(data)
		var r dsync.Record
		if err := store.DecodeRecord(data, &r); err != nil {
			t.Fatal(err)
		}
		want, wantOK := engineRecord(&r)
		wantOK = wantOK && r.Type == model.TypeRegistration
		if err != nil || ok != wantOK || seq != r.Seq || (ok && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%s:\n got %+v %v seq %d %v\nwant %+v %v seq %d", data, got, ok, seq, err, want, wantOK, r.Seq)
		}
		if ok {
			kept++
		}
		// A registration left out is named, for the dead: its ID and district.
		dead := dedup.Record{}
		if !ok && r.Type == model.TypeRegistration {
			dead = dedup.Record{ID: r.ID, District: r.District}
		}
		if !ok && got != dead {
			t.Fatalf("%s: left out as %+v, want %+v", data, got, dead)
		}
	}
	if kept == 0 || kept == len(stored) {
		t.Fatalf("%d of %d kept: the cases left out were not exercised", kept, len(stored))
	}
	if _, _, _, err := decodeRegistration([]byte(`{"id":`)); err == nil {
		t.Fatal("a record no decoder reads must be an error")
	}
}

// generatedRecords stores a generated roll of n as the server would.
func generatedRecords(n int) []dsync.Record {
	recs, _ := gen.Generate(gen.DefaultConfig(n, 7))
	out := make([]dsync.Record, len(recs))
	for i, g := range recs {
		reg := model.Registration{Name: g.Name, Gender: g.Gender, BirthDate: g.BirthDate, IDNumber: g.IDNumber,
			HouseholdAddress: g.HouseholdAddress, ResidenceAddress: g.ResidenceAddress, Phone: g.Phone, Ref: g.Ref,
			VoterGroup: "3组"}
		r := dsync.Record{ID: g.ID, Type: model.TypeRegistration, District: g.District, Seq: uint64(i + 1),
			Fields: map[string]dsync.Field{}, Writers: map[string]dsync.Writer{"c1": {Device: "d", HLC: 5}}}
		for k, v := range reg.Fields() {
			r.Fields[k] = dsync.Field{Value: v, Version: "c1"}
		}
		out[i] = r
	}
	return out
}

// BenchmarkDecodeRegistration reads stored registrations as a full run's
// load does.
func BenchmarkDecodeRegistration(b *testing.B) {
	var stored [][]byte
	size := 0
	for _, r := range generatedRecords(5000) {
		stored = append(stored, r.AppendJSON(nil))
		size += len(stored[len(stored)-1])
	}
	b.SetBytes(int64(size / len(stored)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, ok, err := decodeRegistration(stored[i%len(stored)]); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// sortedByID gives every record once, whole, in ID order, however many
// parts it sorts on.
func TestSortedByID(t *testing.T) {
	for _, n := range []int{0, 1, 9999, 50001} {
		recs := make([]dedup.Record, n)
		at := make([]*dedup.Record, n)
		for i := range recs {
			k := i * 7919 % n // a permutation: 7919 is a prime dividing no n
			recs[i] = dedup.Record{ID: fmt.Sprintf("r%08d", k), Name: fmt.Sprint(k)}
			at[i] = &recs[i]
		}
		got := sortedByID(at)
		if len(got) != n {
			t.Fatalf("%d records: got %d", n, len(got))
		}
		for i, r := range got {
			if r.ID != fmt.Sprintf("r%08d", i) || r.Name != fmt.Sprint(i) {
				t.Fatalf("%d records: at %d got %+v", n, i, r)
			}
		}
	}
}

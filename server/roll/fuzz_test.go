package roll_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/roll"
)

// FuzzImportRegistrations feeds arbitrary files to the importer: it may
// refuse them, but must not panic, and a row it imports must be counted.
func FuzzImportRegistrations(f *testing.F) {
	f.Add([]byte(chineseCSV(f)))
	f.Add([]byte("姓名,身份证号,选区\n\"a\nb\",1,430102001001\n"))
	f.Add([]byte("\xEF\xBB\xBFname,id_number,district\n,,\n"))
	f.Add([]byte("PK\x03\x04garbage"))
	st := openStore(f)
	withDistricts(f, st)
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(string(data)), roll.Options{})
		if err != nil {
			return
		}
		if rep.Imported+rep.Unchanged+rep.Rejected != rep.Read {
			t.Fatalf("counts do not add up: %+v", rep)
		}
	})
}

package jsonx_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/dengji/dengji/internal/jsonx"
)

// The JSON library behind jsonx is imported nowhere else, so swapping it
// is a change to this package alone.
func TestOnlyJSONXImportsTheLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "github.com/dengji/dengji/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		if strings.Contains(imports, "github.com/goccy/go-json") && !strings.HasPrefix(pkg, "github.com/dengji/dengji/internal/jsonx") {
			t.Errorf("%s imports goccy/go-json: go through internal/jsonx", pkg)
		}
	}
}

// Marshal sorts map keys as encoding/json does; both read back the same.
func TestMarshal_LikeEncodingJSON(t *testing.T) {
	v := map[string]any{"b": "乙\u2028", "a": []any{1.5, "x<y>&", nil}, "c": map[string]any{"z": true}}
	got, err := jsonx.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back, std any
	if err := jsonx.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(v)
	if err := json.Unmarshal(want, &std); err != nil {
		t.Fatal(err)
	}
	if b1, _ := json.Marshal(back); string(b1) != string(want) {
		t.Errorf("read back %s, encoding/json %s", b1, want)
	}
	if !strings.HasPrefix(string(got), `{"a":`) {
		t.Errorf("keys not sorted: %s", got)
	}
}

package mobile

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// gobind skips what it cannot carry without failing, so run it and look:
// nothing skipped, and every exported method reaches Java and Objective-C.
func TestBindable(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "run", "golang.org/x/mobile/cmd/gobind", "-lang=java,objc", "-outdir", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gobind: %v\n%s", err, b)
	}
	java := read(t, filepath.Join(out, "java", "mobile", "Device.java"))
	objc := read(t, filepath.Join(out, "src", "gobind", "Mobile.objc.h"))
	generated, _ := filepath.Glob(filepath.Join(out, "java", "mobile", "*.java"))
	headers, _ := filepath.Glob(filepath.Join(out, "src", "gobind", "*.h"))
	for _, path := range append(generated, headers...) {
		if src := read(t, path); strings.Contains(src, "skipped") {
			t.Fatalf("gobind skipped members in %s:\n%s", filepath.Base(path), src)
		}
	}
	typ := reflect.TypeOf(&Device{})
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name // ID becomes id() in Java, Create create()
		if !strings.Contains(strings.ToLower(java), " "+strings.ToLower(name)+"(") || !strings.Contains(objc, name) {
			t.Errorf("method %s is missing from the bindings", name)
		}
	}
	if !strings.Contains(read(t, filepath.Join(out, "java", "mobile", "Mobile.java")), " open(") {
		t.Error("Open is missing from the bindings")
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

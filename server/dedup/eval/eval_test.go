package eval

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func febrlDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	// module root is three levels up from server/dedup/eval
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "data", "febrl")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("FEBRL data absent at %s", dir)
	}
	return dir
}

func TestRunEval(t *testing.T) {
	if err := RunEval(os.Stdout, Config{Records: 5000, Seed: 3, FEBRLDir: febrlDir(t)}); err != nil {
		t.Fatal(err)
	}
}

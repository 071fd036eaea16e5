package fielddevice

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the server out of the device process: it links what an
// app links, so its memory is a device's.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/dengji/dengji/server/cmd/dengji-field-device").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "gin-gonic") || strings.Contains(dep, "golang-jwt") ||
			strings.HasPrefix(dep, "github.com/dengji/dengji/server/") && !strings.HasPrefix(dep, "github.com/dengji/dengji/server/bench/fielddevice") &&
				dep != "github.com/dengji/dengji/server/cmd/dengji-field-device" {
			t.Errorf("the device process depends on %s", dep)
		}
	}
}

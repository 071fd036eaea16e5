package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is the release, set at build time:
// go build -ldflags "-X main.version=v1.2.0" ./server/cmd/dengji
var version = "dev"

func init() {
	commands["version"] = command{"显示版本 / print the version", runVersion}
}

func runVersion(_ context.Context, args []string, out io.Writer) error {
	var dir string
	fs := newFlags("version", &dir)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "dengji %s\n", versionString())
	return nil
}

// versionString is the release and what the Go toolchain recorded of the
// build: the commit, its time, whether the tree had changes, the Go version.
func versionString() string {
	s := version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return s
	}
	settings := map[string]string{}
	for _, kv := range bi.Settings {
		settings[kv.Key] = kv.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if settings["vcs.modified"] == "true" {
			s += "+modified"
		}
		if t := settings["vcs.time"]; t != "" {
			s += " " + t
		}
	}
	return s + " " + bi.GoVersion
}

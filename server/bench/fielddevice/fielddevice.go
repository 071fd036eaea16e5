// Package fielddevice is the device's side of the field benchmark (`dengji
// bench field`): what a registrar's phone does, through the SDK alone. Its
// own binary, dengji-field-device, links this package, the SDK and nothing
// of the server, as an app would, so the peak RSS the benchmark reports is
// a device's.
package fielddevice

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
)

// The account whose district holds the records a device bootstraps.
const (
	User     = "field"
	Password = "field-password"
)

// Tasks a device process runs.
const (
	// TaskBootstrap signs a new device file in and syncs it.
	TaskBootstrap = "bootstrap"
	// TaskList lists every record of a device file as a list screen does
	// (summaries, a page at a time), and searches it the ways a registrar
	// does at the door, opening a record each search finds.
	TaskList = "list"
	// TaskListRecords reads every whole record, page by page.
	TaskListRecords = "list-records"
)

// Result is what a device task reports.
type Result struct {
	Records   int     `json:"records"`
	Seconds   float64 `json:"seconds"`
	FileBytes int64   `json:"file_bytes"`
	RSSMB     float64 `json:"rss_mb"` // peak resident set (VmHWM)
	// At the end of the task, the resident set by what it holds: anonymous
	// memory (heap, stacks), the device file's pages mapped by bbolt, and
	// the binary's own pages.
	AnonMB   float64 `json:"anon_mb"`
	FileMB   float64 `json:"file_mb"`
	BinaryMB float64 `json:"binary_mb"`
	Error    string  `json:"error,omitempty"`
}

// Run runs a task on the device file at file, reaching the server at url.
func Run(ctx context.Context, task, url, file string) (*Result, error) {
	d, err := sdk.Open(file, sdk.Options{ServerURL: url})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	r := &Result{}
	start := time.Now()
	switch task {
	case TaskBootstrap:
		if err = d.Login(ctx, User, Password); err != nil {
			return nil, err
		}
		start = time.Now()
		var rep sdk.SyncReport
		rep, err = d.Sync(ctx)
		r.Records = rep.Pulled
	case TaskList:
		r.Records, err = listSummaries(d)
	case TaskListRecords:
		r.Records, err = listRecords(d)
	default:
		err = fmt.Errorf("fielddevice: unknown task %q", task)
	}
	r.Seconds = time.Since(start).Seconds()
	if err != nil {
		return r, err
	}
	if fi, err := os.Stat(file); err == nil {
		r.FileBytes = fi.Size()
	}
	r.RSSMB = PeakRSSMB()
	r.AnonMB, r.FileMB, r.BinaryMB = residentBy(file)
	return r, nil
}

// listSummaries pages through every record's summary, then searches by
// name, pinyin initials, ID number suffix and address, opening the first
// record each search finds.
func listSummaries(d *sdk.Device) (int, error) {
	n, after := 0, ""
	for {
		ss, next, err := d.ListSummaries(sdk.ListFilter{}, after, 100)
		if err != nil {
			return n, err
		}
		n += len(ss)
		if next == "" {
			break
		}
		after = next
	}
	for _, q := range []string{"李", "wx", "1234", "人民路"} {
		found, _, err := d.Search(q, "", 100)
		if err == nil && len(found) > 0 {
			_, err = d.Get(found[0].ID)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// listRecords reads every whole record page by page.
func listRecords(d *sdk.Device) (int, error) {
	n, after := 0, ""
	for {
		rs, next, err := d.ListPage(sdk.ListFilter{}, after, 100)
		if err != nil {
			return n, err
		}
		n += len(rs)
		if next == "" {
			return n, nil
		}
		after = next
	}
}

// PeakRSSMB is the process's peak resident set, in MiB: VmHWM, which exec
// starts afresh (getrusage's ru_maxrss carries over the parent's peak
// through the fork and exec that started this process), or ru_maxrss
// where /proc is not.
func PeakRSSMB() float64 {
	if mb := procStatusMB("VmHWM:"); mb > 0 {
		return mb
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// procStatusMB reads a figure in kB of /proc/self/status, in MiB (0 if
// there is none).
func procStatusMB(key string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// residentBy splits the resident set now, in MiB, from /proc/self/smaps:
// anonymous memory, the pages of the file at path, and the binary's (0s
// where /proc is not).
func residentBy(path string) (anon, file, binary float64) {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, 0, 0
	}
	exe, _ := os.Executable()
	var mapped string // the file of the mapping being read; "" for anonymous
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"): // a mapping's header
			mapped = ""
			if len(f) >= 6 {
				mapped = f[5]
			}
		case len(f) == 3 && f[0] == "Rss:":
			var kb float64
			fmt.Sscanf(f[1], "%f", &kb)
			switch mapped {
			case path:
				file += kb / 1024
			case exe:
				binary += kb / 1024
			}
		}
	}
	return procStatusMB("RssAnon:"), file, binary
}

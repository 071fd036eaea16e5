// Command dengji-field-device is the device process of `dengji bench
// field`, which starts it: it runs one task of the field benchmark's device
// (package fielddevice) and prints its result as JSON. It links the SDK and
// nothing of the server, as an app does, so its memory is a device's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dengji/dengji/server/bench/fielddevice"
)

func main() {
	task := flag.String("task", "", "bootstrap|list|list-records")
	url := flag.String("url", "", "server URL")
	file := flag.String("file", "", "device file")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r, err := fielddevice.Run(ctx, *task, *url, *file)
	if err != nil {
		if r == nil {
			r = &fielddevice.Result{}
		}
		r.Error = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dengji/dengji/server/bench/fielddevice"
)

// MemoryFigures is what WorstCasePushes measured.
type MemoryFigures struct {
	Pushes     int            `json:"pushes"`       // concurrent pushes sent
	GzipBytes  []int          `json:"gzip_bytes"`   // the size of each kind of body sent
	Expanded   []int          `json:"expanded"`     // and expanded
	Answers    map[string]int `json:"answers"`      // HTTP status (or "error") → count
	PeakRSSMiB float64        `json:"peak_rss_mib"` // the process's peak resident set during the run (VmHWM)
	Seconds    float64        `json:"seconds"`
}

// WorstCasePushes starts a server and sends it n concurrent pushes of
// gzip'd bodies expanding to just under the 32 MiB cap, half of them one
// value of 31 MiB, half as many changes and members as a body may hold
// with values filling the rest, and reports the process's peak resident
// set (Linux: the peak is reset first through /proc/self/clear_refs).
func WorstCasePushes(ctx context.Context, dir string, n int) (*MemoryFigures, error) {
	e, err := start(ctx, dir, "")
	if err != nil {
		return nil, err
	}
	defer e.close()
	token, err := login(e.srv.URL())
	if err != nil {
		return nil, err
	}
	kinds := [][]byte{oneValueBody(), structureBody()}
	f := &MemoryFigures{Pushes: n, Answers: map[string]int{}}
	zipped := make([][]byte, len(kinds))
	for i, k := range kinds {
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
		zw.Write(k)
		zw.Close()
		zipped[i] = zb.Bytes()
		f.GzipBytes, f.Expanded = append(f.GzipBytes, zb.Len()), append(f.Expanded, len(k))
	}
	kinds = nil
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer := push(client, e.srv.URL(), token, zipped[i%len(zipped)])
			mu.Lock()
			f.Answers[answer]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	f.Seconds = time.Since(start).Seconds()
	f.PeakRSSMiB = fielddevice.PeakRSSMB()
	return f, nil
}

func push(client *http.Client, url, token string, body []byte) string {
	req, _ := http.NewRequest("POST", url+"/v1/push", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return "error"
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

const benchDevice = "bench-memory"

func login(url string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": "bench", "password": "bench-password",
		"device_id": uuid.NewString()})
	resp, err := http.Post(url+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || tk.AccessToken == "" {
		return "", fmt.Errorf("bench: login: %d %v", resp.StatusCode, err)
	}
	return tk.AccessToken, nil
}

const expandTo = 31 << 20

// oneValueBody is one change whose name is 31 MiB.
func oneValueBody() []byte {
	head := `{"changes":[{"id":"m-1","device":"` + benchDevice + `","n":1,"record":"m-r1","type":"registration",` +
		`"district":"` + district + `","op":"create","set":{"name":"`
	return []byte(head + strings.Repeat("x", expandTo-len(head)-6) + `"}}]}`)
}

// structureBody is 2,000 changes of 40 fields each (about 180,000 members,
// just under what a push body may hold), values padding it to 31 MiB.
func structureBody() []byte {
	const changes, fields = 2000, 40
	pad := strings.Repeat("y", expandTo/(changes*fields)-24)
	var b strings.Builder
	b.WriteString(`{"changes":[`)
	for i := range changes {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"s-%d","device":"%s","n":%d,"record":"s-r%d","type":"registration","district":"%s","op":"create","set":{`,
			i, benchDevice, i+1, i, district)
		for j := range fields {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"f%d":"%s"`, j, pad)
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

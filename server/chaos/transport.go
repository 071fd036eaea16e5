package chaos

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Fault is what the link does to one request of a device.
type Fault uint8

// Faults, in the order Stats counts them.
const (
	FaultNone      Fault = iota
	FaultDuplicate       // the request reaches the server twice; the device gets the second answer
	FaultDelay           // the request waits a few milliseconds on the way
	FaultReorder         // a copy of the request reaches the server again after the device's next request
	FaultCutBefore       // the connection is cut before the server sees the request
	FaultCutAfter        // the server commits, the answer is lost on the way back
	FaultKill            // the server is killed (SIGKILL) while the request is with it, then restarted
	numFaults
)

var faultNames = [numFaults]string{"none", "duplicate", "delay", "reorder", "cut_before", "cut_after", "kill_server"}

func (f Fault) String() string { return faultNames[f] }

// errCut is what a device sees of a cut connection.
var errCut = errors.New("chaos: connection cut")

// transport stands between one device and the server. It is the fault
// injector, a fake for link faults a loopback connection cannot otherwise
// produce: each request of the device's current sync gets the next fault of
// the schedule the run drew for that sync. It sends to the server's current
// URL, so a restarted server on a new port is reached.
type transport struct {
	w      *world
	dev    int // which device: devices are spread over the servers
	mu     sync.Mutex
	faults []Fault
	held   *http.Request // a request to deliver again after the next one (reorder)
	body   []byte
}

// schedule sets the faults of the next requests, in order.
func (t *transport) schedule(faults []Fault) {
	t.mu.Lock()
	t.faults = append([]Fault(nil), faults...)
	t.mu.Unlock()
}

func (t *transport) next() Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.faults) == 0 {
		return FaultNone
	}
	f := t.faults[0]
	t.faults = t.faults[1:]
	return f
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	f := t.next()
	if f != FaultNone {
		t.w.stats.Faults[f]++
	}
	switch f {
	case FaultCutBefore:
		return nil, errCut
	case FaultDelay:
		time.Sleep(time.Duration(1+len(body)%7) * time.Millisecond)
	case FaultDuplicate:
		if resp, err := t.send(req, body); err == nil {
			drain(resp)
		}
	case FaultCutAfter:
		resp, err := t.send(req, body)
		if err == nil {
			drain(resp)
		}
		return nil, errCut
	case FaultKill:
		return nil, t.w.killDuring(func() (*http.Response, error) { return t.send(req, body) })
	}
	resp, err := t.send(req, body)
	t.replayHeld()
	if f == FaultReorder {
		t.held, t.body = req, body
	}
	return resp, err
}

// replayHeld delivers a held request again, after the one just sent; its
// answer goes nowhere.
func (t *transport) replayHeld() {
	if t.held == nil {
		return
	}
	if resp, err := t.send(t.held, t.body); err == nil {
		drain(resp)
	}
	t.held, t.body = nil, nil
}

// send forwards req with body to the server's current address.
func (t *transport) send(req *http.Request, body []byte) (*http.Response, error) {
	base, err := url.Parse(t.w.serverURL(t.dev))
	if err != nil {
		return nil, err
	}
	out := req.Clone(context.WithoutCancel(req.Context())) // a held request outlives its call
	out.URL.Scheme, out.URL.Host, out.Host = base.Scheme, base.Host, ""
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	return http.DefaultTransport.RoundTrip(out)
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

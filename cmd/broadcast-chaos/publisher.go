//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxInFlight bounds the publishes waiting for an answer; beyond it a
// publish is recorded as failed by the generator without being sent.
const maxInFlight = 3000

// publishOpenLoop sends one publish every 1/rate seconds to api (POST
// /publish), whatever happened to the previous ones, until ctx ends or
// recs is full. Publish k (sequence k+1) goes to channel k mod len(chans)
// and is recorded in recs[k]. It waits for every answer and returns the
// number of publishes scheduled.
func publishOpenLoop(ctx context.Context, hc *http.Client, api string, rate float64, chans []string, recs []PubRecord) int {
	start := time.Now()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	k := 0
	for ; k < len(recs); k++ {
		due := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if w := time.Until(due); w > 0 {
			sleep(ctx, w)
		}
		if ctx.Err() != nil {
			break
		}
		rec := &recs[k]
		rec.Chan = k % len(chans)
		rec.Sent = time.Now()
		select {
		case sem <- struct{}{}:
		default:
			rec.Err = "generator: too many publishes waiting for an answer"
			continue
		}
		body := publishBody(chans[rec.Chan], uint64(k+1), rec.Sent)
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := postPublish(context.WithoutCancel(ctx), hc, api, body); err != nil {
				rec.Err = reason(err)
				return
			}
			rec.OK = true
		}()
	}
	wg.Wait()
	return k
}

// httpStatusError is a publish the server answered with a non-2xx status.
type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// postPublish sends one POST /publish.
func postPublish(ctx context.Context, hc *http.Client, api string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/publish", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return &httpStatusError{resp.StatusCode, string(bytes.TrimSpace(ans))}
	}
	return nil
}

// chanName matches the channel names of the tool, which reason replaces
// by one name so that failures differing only by channel count together.
var chanName = regexp.MustCompile(`\b(chaos|soak)\.[0-9]+`)

// reason names a publish failure without the details that differ between
// requests (local ports), so that failures can be counted by kind.
func reason(err error) string {
	var he *httpStatusError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		b := he.body
		if len(b) > 160 {
			b = b[:160] + "…"
		}
		return "HTTP " + strconv.Itoa(he.code) + " " + chanName.ReplaceAllString(b, "$1.N")
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer within the client timeout"
	}
	return err.Error()
}

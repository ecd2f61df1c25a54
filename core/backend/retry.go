package backend

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry describes one retry about to happen, for whoever shows progress
// ("server busy, retrying in 2s").
type Retry struct {
	Attempt int           // the attempt that failed (1-based)
	Wait    time.Duration // how long we wait before the next one
	Err     error         // why it failed
}

// retryPolicy is the capped exponential backoff used before the first token.
type retryPolicy struct {
	maxAttempts  int
	base, max    time.Duration
	maxRetryWait time.Duration // a Retry-After longer than this gives up instead
	sleep        func(ctx context.Context, d time.Duration) error
	onRetry      func(Retry)
}

// backoff is the wait after the n-th failed attempt: base·2^(n-1), capped.
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.base
	for i := 1; i < n && d < p.max; i++ {
		d *= 2
	}
	return min(d, p.max)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseRetryAfter reads Retry-After (delta seconds or an HTTP date) or the
// retry-after-ms header some APIs send. ok is false when there is none or it
// cannot be read; a date in the past is a zero wait.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 1e9 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

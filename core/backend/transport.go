package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPDoer sends one HTTP request (an *http.Client does). Tests and the fuzz
// target substitute their own.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Causes a watch cancels an attempt's context with, so a failure can say
// which deadline fired.
var (
	errHeaderTimeout = errors.New("no response headers in time")
	errIdleTimeout   = errors.New("no data in time")
	errNoProgress    = errors.New("only keep-alives in time")
)

// newHTTPClient is the client the OpenAI-compatible backend uses: the
// default client has no timeout at all, so the connect phase gets its own
// deadline here and the header/idle deadlines are enforced per request by
// the watch (see watchDoer).
func newHTTPClient(connect time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = max(connect, 10*time.Second)
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: tr}
}

// watch guards one request: a deadline for the response headers, then an
// idle watchdog re-armed by every byte of the body (keep-alive comments
// count: they prove the server is alive). A stream's reader may also ask
// for a progress deadline, re-armed only by events: keep-alives alone do
// not keep a stream alive forever. When a deadline fires it cancels the
// request's context with a cause.
type watch struct {
	mu       sync.Mutex
	header   time.Duration // 0: no header deadline
	idle     time.Duration // 0: no idle watchdog
	progress time.Duration // 0: no progress deadline
	timer    *time.Timer
	ptimer   *time.Timer
	bytes    bool // bytes arrived since the last event (keep-alives)
	cancel   context.CancelCauseFunc
	stopped  bool

	status  int         // the response status, once headers arrived
	headers http.Header // the response headers
	body    io.Reader   // the watched response body
}

type watchKey struct{}

func (w *watch) arm(d time.Duration, cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if d <= 0 || w.stopped {
		return
	}
	w.timer = time.AfterFunc(d, func() { w.cancel(cause) })
}

// touch re-arms the idle watchdog after data arrived.
func (w *watch) touch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes = true
	if w.timer != nil && !w.stopped {
		w.timer.Reset(w.idle)
	}
}

// shorten lowers the idle deadline (after finish_reason we only wait
// briefly for the usage chunk and [DONE]).
func (w *watch) shorten(d time.Duration) {
	w.mu.Lock()
	if w.idle <= 0 || d < w.idle {
		w.idle = d
	}
	w.mu.Unlock()
	w.touch()
}

// progressed (re-)arms the progress deadline: at the response headers and
// at each event of the stream.
func (w *watch) progressed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes = false
	if w.progress <= 0 || w.stopped {
		return
	}
	if w.ptimer == nil {
		w.ptimer = time.AfterFunc(w.progress, w.noProgress)
		return
	}
	w.ptimer.Reset(w.progress)
}

// noProgress fires when no event came for the progress deadline. If bytes
// did come (keep-alives) the stream is given up; if none did, silence is
// the idle watchdog's to report, and the deadline waits another round.
func (w *watch) noProgress() {
	w.mu.Lock()
	kept, stopped := w.bytes, w.stopped
	if !kept && !stopped {
		w.ptimer.Reset(w.progress)
	}
	w.mu.Unlock()
	if kept && !stopped {
		w.cancel(errNoProgress)
	}
}

func (w *watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.ptimer != nil {
		w.ptimer.Stop()
	}
}

func (w *watch) response() (int, http.Header) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status, w.headers
}

// watchDoer adds the configured headers to every request and, for requests
// whose context carries a watch, enforces its deadlines and records the
// response status and headers (go-openai's errors drop Retry-After).
type watchDoer struct {
	inner   HTTPDoer
	headers map[string]string
}

func (d *watchDoer) Do(req *http.Request) (*http.Response, error) {
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	w, _ := req.Context().Value(watchKey{}).(*watch)
	if w == nil {
		return d.inner.Do(req)
	}
	w.arm(w.header, errHeaderTimeout)
	resp, err := d.inner.Do(req)
	w.arm(0, nil)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.status, w.headers = resp.StatusCode, resp.Header
	w.mu.Unlock()
	// The idle watchdog guards every body, error bodies included (go-openai
	// reads those to the end with no deadline of its own).
	w.arm(w.idle, errIdleTimeout)
	w.progressed()
	wb := &watchedBody{ReadCloser: resp.Body, w: w}
	resp.Body = wb
	w.mu.Lock()
	w.body = wb
	w.mu.Unlock()
	return resp, nil
}

type watchedBody struct {
	io.ReadCloser
	w *watch
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch()
	}
	return n, err
}

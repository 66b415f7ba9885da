package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// lockedBuffer collects the browser's output for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBrowser starts headless Chromium with a fresh profile in the background, so that it
// starts while the filter compiles, and returns a func that waits for it and returns a tab's
// context. The browser stops with the test. A missing browser fails the test: a green run
// always means a browser judged the responses.
func startBrowser(t *testing.T) (tab func() context.Context) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): install it with `apt-get install -y chromium` (bash .ci/services.sh does)", chromiumPath, err)
	}
	out := &lockedBuffer{}
	// Flags known to work as root in a container without a display, GPU or network: no
	// sandbox (it needs user namespaces), and nothing that phones home or updates itself.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	started := make(chan error, 1)
	// The first Run starts the browser; it lives as long as ctx.
	go func() { started <- chromedp.Do(ctx) }()
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before the profile directory goes
		<-started
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	return func() context.Context {
		t.Helper()
		if err := <-started; err != nil {
			t.Fatalf("starting chromium: %v", err)
		}
		started <- nil // for the cleanup
		return ctx
	}
}

// fetchResult is what the page's fetch reports back.
type fetchResult struct {
	// Error is the exception's "name: message" when fetch rejected (a CORS failure is a
	// TypeError); empty when a response arrived.
	Error  string `json:"error"`
	Status int    `json:"status"`
	Body   string `json:"body"`
	// Headers are the response headers JavaScript can read, as response.headers iterates
	// them: lower-case names, repeated values combined.
	Headers [][2]string `json:"headers"`
}

// fetchScript runs fetch(url, init) in the page and resolves to a fetchResult; it never
// rejects, so a CORS failure comes back as data.
const fetchScript = `(async (url, init) => {
  try {
    const r = await fetch(url, init);
    const headers = [];
    for (const [name, value] of r.headers) headers.push([name, value]);
    return {error: "", status: r.status, body: await r.text(), headers};
  } catch (e) {
    return {error: e.name + ": " + e.message, status: 0, body: "", headers: []};
  }
})`

// fetchFrom opens page (an origin's page) in the tab and calls fetch(url, init) from it.
func fetchFrom(t *testing.T, ctx context.Context, page, url string, init map[string]any) fetchResult {
	t.Helper()
	args, err := json.Marshal([]any{url, init})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second) // a bound on a hung browser, not an assertion
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("opening %s: %v", page, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[fetchResult](fetchScript+"(..."+string(args)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch from %s: %v", page, err)
	}
	return res
}

// setCookie gives the browser a cookie for url's origin, as if that site had set it.
func setCookie(t *testing.T, ctx context.Context, url, name, value string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: url}); err != nil {
		t.Fatalf("setting cookie: %v", err)
	}
}

package webtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Chrome is a real headless Chromium driven over the DevTools protocol, as
// a dispatcher's browser: it follows links, fills forms, presses buttons
// and runs the pages' scripts. Each Chrome has its own profile, so its
// cookies (a signed-in session) are its own. Selectors are CSS.
//
// The methods cover what the page tests do; Ctx gives the chromedp context
// for anything else (chromedp.Do / chromedp.Run, see chromedp's
// docs/API.md).
type Chrome struct {
	t   testing.TB
	Ctx context.Context
}

// ChromiumPath finds the browser; the test fails when it is not installed.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("the UI tests need a headless Chromium: apt-get install chromium")
	return ""
}

// NewChrome starts a headless Chromium with a window of width×height
// (1280×900 for a desk, 390×844 for a phone). It stops when the test ends.
func NewChrome(t testing.TB, width, height int) *Chrome {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first steps start the browser, which lives as long as the
	// context they run in: run them on ctx itself, not on one with a
	// deadline.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))))
	return &Chrome{t: t, Ctx: ctx}
}

// Do carries out steps in order, failing the test on the first error or
// after a minute.
func (c *Chrome) Do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
	defer cancel()
	require.NoError(c.t, chromedp.Do(ctx, steps...))
}

// Try carries out steps and returns the error instead of failing.
func (c *Chrome) Try(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(c.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// Open loads u and waits for its body.
func (c *Chrome) Open(u string) {
	c.t.Helper()
	c.Do(chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
}

// Click clicks the first element matching sel once it is visible.
func (c *Chrome) Click(sel string) {
	c.t.Helper()
	c.Do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// ClickNav clicks sel (a link, a form's button) and waits until the page
// it leads to has loaded. After a plain Click the old page may still be
// shown, and a wait for an element both pages have would return at once.
func (c *Chrome) ClickNav(sel string) {
	c.t.Helper()
	c.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
	defer cancel()
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(c.t, err, "clicking %s", sel)
}

// Fill types text into the field sel after clearing it.
func (c *Chrome) Fill(sel, text string) {
	c.t.Helper()
	c.Do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// SetValue sets a field's value (a select, a hidden input) without typing.
func (c *Chrome) SetValue(sel, value string) {
	c.t.Helper()
	c.Do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// Submit submits the form holding sel.
func (c *Chrome) Submit(sel string) {
	c.t.Helper()
	c.Do(chromedp.Submit(chromedp.CSS(sel)))
}

// Upload sets the files of a file input.
func (c *Chrome) Upload(sel string, files ...string) {
	c.t.Helper()
	c.Do(chromedp.SetUploadFiles(chromedp.CSS(sel), files))
}

// WaitVisible waits until sel is shown.
func (c *Chrome) WaitVisible(sel string) {
	c.t.Helper()
	c.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Has reports whether sel matches an element now.
func (c *Chrome) Has(sel string) bool {
	c.t.Helper()
	return read(c, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
}

// Count is the number of elements matching sel now.
func (c *Chrome) Count(sel string) int {
	c.t.Helper()
	return read(c, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
}

// read runs a read-only action, again when the page was replaced under it
// (a navigation that was still finishing): the protocol then answers that
// the node or the context it asked about is gone.
func read[T any](c *Chrome, a chromedp.Action[T]) T {
	c.t.Helper()
	var err error
	for range 20 {
		ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
		var v T
		v, err = chromedp.Run(ctx, a)
		cancel()
		if err == nil {
			return v
		}
		if !replaced(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(c.t, err)
	var zero T
	return zero
}

func replaced(err error) bool {
	for _, s := range []string{"No node with given id", "Cannot find context with specified id", "Inspected target navigated or closed", "Node with given id does not belong to the document"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// Text returns the visible text of the first element matching sel.
func (c *Chrome) Text(sel string) string {
	c.t.Helper()
	return read(c, chromedp.Text(chromedp.CSS(sel)))
}

// Value returns the value of the field sel.
func (c *Chrome) Value(sel string) string {
	c.t.Helper()
	return read(c, chromedp.Value(chromedp.CSS(sel)))
}

// Eval runs a JavaScript expression once and returns its result as JSON
// text. An expression that submits a form may return before the next page
// loads: wait for something on it.
func (c *Chrome) Eval(expr string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	require.NoError(c.t, err)
	return string(raw)
}

// Location returns the address the browser shows.
func (c *Chrome) Location() string {
	c.t.Helper()
	return read(c, chromedp.Location())
}

// SignIn signs in on base's login page as user and waits to leave it.
func (c *Chrome) SignIn(base, user, password string) {
	c.t.Helper()
	c.Open(base + "/ui/login")
	c.Fill(`input[name="user"]`, user)
	c.Fill(`input[name="password"]`, password)
	ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
	defer cancel()
	_, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS(`input[name="password"]`)))
	require.NoError(c.t, err, "signing in as %s", user)
	c.Do(chromedp.WaitReady(chromedp.CSS("body")), chromedp.WaitNotPresent(chromedp.CSS(`input[name="password"]`)))
}

// Screenshot saves the whole page as name (a .png) in the folder
// $INTAKE_UI_SCREENSHOTS, for a person to look at; it does nothing when
// that is unset.
func (c *Chrome) Screenshot(name string) {
	c.t.Helper()
	dir := os.Getenv("INTAKE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(c.t, err)
	require.NoError(c.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
}

func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}

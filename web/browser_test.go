package web_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/web/webtest"
)

// A browser signs in with its user's password and lands on the pages under
// that name; a wrong password keeps it on the sign-in page.
func TestChromeSignIn(t *testing.T) {
	f := newAuthFixture(t)
	f.addUser(t, "anna", auth.Dispatcher, "correct horse battery")
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	c := webtest.NewChrome(t, 1280, 900)
	c.Open(srv.URL + "/ui/login")
	c.Fill(`input[name="user"]`, "anna")
	c.Fill(`input[name="password"]`, "wrong password here")
	c.Submit(`input[name="password"]`)
	c.WaitVisible(`input[name="password"]`)
	assert.Contains(t, c.Location(), "/ui/login")

	c.SignIn(srv.URL, "anna", "correct horse battery")
	assert.NotContains(t, c.Location(), "/ui/login")
	assert.Contains(t, c.Text("body"), "anna")
	c.Screenshot("signed-in.png")
}

// The pages' script is served to anyone from the binary, and the CSP lets
// pages load it from there only.
func TestStaticScript(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.do(t, "GET", "/ui/static/intake.js", "", "", nil)
	assert.Equal(t, 200, rec.Code)
	assert.Contains(t, rec.Body.String(), "data-confirm")
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
	assert.NotContains(t, rec.Header().Get("Content-Security-Policy"), "unsafe-inline'; script")
}

// On a phone the dispatcher's pages are no wider than the screen: the
// header wraps and its menu scrolls sideways.
func TestDispatcherPagesFitAPhone(t *testing.T) {
	f := newRulesFixture(t)
	c := webtest.NewChrome(t, 390, 844)
	c.SignIn(f.url, "anna", "correct horse battery")
	for _, path := range []string{"/ui/home", "/ui/", "/ui/tickets", "/ui/failed"} {
		c.Open(f.url + path)
		width := c.Eval(`document.documentElement.scrollWidth`)
		assert.Equal(t, "390", width, "%s is wider than the phone", path)
	}
	c.Open(f.url + "/ui/home")
	c.Screenshot("phone-home.png")
}

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/web/webtest"
)

// serve gives the dispatcher pages the process's clock and the pipeline's
// reference data: the home page is dated by the engine's clock, and the
// store search finds stores of the imported reference data.
func TestDispatcherPagesWiring(t *testing.T) {
	f := newWebFixture(t, "")
	c := webtest.Browser(t)
	_, doc := webtest.GetPage(t, c, f.Srv.URL+"/ui/home")
	assert.Contains(t, doc.Find(".sub").First().Text(), clocktest.Now(t).In(f.eng.cfg.Intake.Location).Format("02.01.2006 15:04"))
	require.Equal(t, 6, doc.Find("a.count").Length())

	var found struct {
		Objects []struct{ Client, Code string }
	}
	require.Equal(t, 200, f.Call(t, "GET", "/api/v1/objects/search?q=%D0%9B%D0%B5%D0%BD%D0%B8%D0%BD%D0%B0%2012", nil, &found))
	require.NotEmpty(t, found.Objects)
	assert.Equal(t, "DM/0035", found.Objects[0].Code)
}

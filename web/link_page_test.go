package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/web/webtest"
)

func (f *tktFixture) link(act lifecycle.Action, kind string, subject int64, who string) string {
	tok := f.signer.Sign(lifecycle.Link{Action: act, Kind: kind, Subject: subject, Who: who, Expires: f.now().Add(24 * time.Hour)})
	return f.url + "/l/" + tok
}

// An engineer opens his link on a phone: the page says which ticket, which
// store and where, what is wrong and by when, before he accepts.
func TestEngineerLinkOnPhone(t *testing.T) {
	f := newTktFixture(t)
	f.ticket("0127", false) // the store's earlier ticket
	id := f.ticket("0127", false)
	k := f.tasks(id)[0]
	eng := k.EngineerCode()
	number := f.ticketRow(id).Number

	c := webtest.NewChrome(t, 390, 844)
	c.Open(f.link(lifecycle.ActAccept, "task", k.ID, eng))
	card := c.Text("#ticket")
	for _, want := range []string{"Заявка " + number, "Пятый угол №127", "г. Москва, пр-т Победы, д. 101", "Не холодит витрина",
		"02.11.2026 13:00", "Холодильное оборудование", "Заявки этого магазина"} {
		assert.Contains(t, card, want)
	}
	assert.Contains(t, c.Text("form"), "Принять заявку "+number+"?")
	assert.Equal(t, "true", c.Eval(`document.documentElement.scrollWidth <= 390`), "nothing wider than the phone")
	c.Screenshot("link-accept-phone.png")

	c.Click("form button")
	c.WaitVisible(".msg.ok")
	assert.Equal(t, "accepted", f.tasks(id)[0].State)
	c.Screenshot("link-accepted-phone.png")
}

// An approver's link names the ticket, the store and the problem, and
// declining asks for a reason.
func TestApprovalLinkOnPhone(t *testing.T) {
	f := newTktFixture(t, func(c *lifecycle.Config) {
		c.Approvals = map[string][]lifecycle.ApprovalStep{"PU": {{Role: "regional_director", ByRegion: true}}}
	})
	id := f.ticket("0127", false)
	require.Equal(t, "awaiting_approval", f.ticketRow(id).State)
	apps, err := f.st.Approvals(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, apps, 1)
	number := f.ticketRow(id).Number

	c := webtest.NewChrome(t, 390, 844)
	c.Open(f.link(lifecycle.ActDecline, "approval", apps[0].ID, apps[0].ContactEmail))
	card := c.Text("#ticket")
	for _, want := range []string{"Заявка " + number, "Пятый угол №127", "г. Москва, пр-т Победы, д. 101", "Не холодит витрина", "шаг 1, Ильина Людмила"} {
		assert.Contains(t, card, want)
	}
	assert.Contains(t, c.Text("form"), fmt.Sprintf("Отклонить работы по заявке %s?", number))
	assert.True(t, c.Has("textarea[name=reason][required]"))
	c.Screenshot("link-decline-phone.png")

	c.Open(f.link(lifecycle.ActApprove, "approval", apps[0].ID, apps[0].ContactEmail))
	c.Click("form button")
	c.WaitVisible(".msg.ok")
	assert.NotEqual(t, "awaiting_approval", f.ticketRow(id).State)
	c.Screenshot("link-approved-phone.png")
}

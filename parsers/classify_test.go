package parsers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyFixtures(t *testing.T) {
	own := []string{"intake@tehnoservis.example", "dispatch@tehnoservis.example"}
	want := map[string]string{
		"autoreply-exchange":  IgnoreAutoReply,
		"autoreply-zimbra":    IgnoreAutoReply,
		"bounce-report":       IgnoreBounce,
		"newsletter":          IgnoreBulk,
		"spam-flag":           IgnoreSpam,
		"loop-own":            IgnoreLoop,
		"itsm-auto-generated": "", // auto-generated and Precedence: bulk, still work
		"charset-utf8-base64": "",
		"reply-outlook-ru":    "",
		"forward-rfc822":      "",
		"html-only-tables":    "",
	}
	for name, reason := range want {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(mailDir, name+".eml"))
			require.NoError(t, err)
			d, err := Normalize(raw)
			require.NoError(t, err)
			got, ok := Classify(d, own)
			assert.Equal(t, reason, got)
			assert.Equal(t, reason != "", ok)
		})
	}
}

func TestClassifyHeaders(t *testing.T) {
	doc := func(subject string, kv ...string) *Document {
		d := &Document{Subject: subject, From: Address{Email: "store@chain.example"}, Header: map[string][]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			d.Header[kv[i]] = append(d.Header[kv[i]], kv[i+1])
		}
		return d
	}
	tests := []struct {
		name string
		d    *Document
		want string
	}{
		{"plain request", doc("Не работает касса"), ""},
		{"auto-replied", doc("Re: x", "Auto-Submitted", "auto-replied"), IgnoreAutoReply},
		{"auto-submitted no", doc("x", "Auto-Submitted", "no"), ""},
		{"itsm auto-generated", doc("Инцидент INC1 назначен", "Auto-Submitted", "auto-generated"), ""},
		{"auto-generated out of office", doc("Out of Office: x", "Auto-Submitted", "auto-generated"), IgnoreAutoReply},
		{"x-autoreply", doc("x", "X-Autoreply", "yes"), IgnoreAutoReply},
		{"x-autorespond", doc("x", "X-Autorespond", "1"), IgnoreAutoReply},
		{"precedence auto_reply", doc("x", "Precedence", "auto_reply"), IgnoreAutoReply},
		{"exchange suppress with subject", doc("Automatic reply: x", "X-Auto-Response-Suppress", "All"), IgnoreAutoReply},
		{"exchange suppress alone", doc("Инцидент INC2", "X-Auto-Response-Suppress", "All"), ""},
		{"subject Автоответ", doc("Автоответ: Заявка"), IgnoreAutoReply},
		{"subject Auto:", doc("Auto: Заявка"), IgnoreAutoReply},
		{"subject Отсутствую", doc("RE: Отсутствую до 15.11"), IgnoreAutoReply},
		{"subject Нет на месте", doc("Нет на месте"), IgnoreAutoReply},
		{"zimbra vacation", doc("Re: Заявка TSR-1 (vacation)"), IgnoreAutoReply},
		{"report", doc("x", "Content-Type", "multipart/report; report-type=delivery-status"), IgnoreBounce},
		{"mailer-daemon", &Document{From: Address{Email: "mailer-daemon@mx.example"}}, IgnoreBounce},
		{"mail delivery failed", doc("Mail delivery failed: returning message to sender", "Return-Path", "<>"), IgnoreBounce},
		{"precedence bulk", doc("Скидки", "Precedence", "bulk"), IgnoreBulk},
		{"precedence list", doc("x", "Precedence", "list"), IgnoreBulk},
		{"precedence junk", doc("x", "Precedence", "junk"), IgnoreBulk},
		{"jira bulk", doc("[JIRA] (SRV-1) x", "Precedence", "bulk", "Auto-Submitted", "auto-generated"), ""},
		{"list-id", doc("x", "List-Id", "<news.example>"), IgnoreBulk},
		{"spam flag", doc("x", "X-Spam-Flag", "YES"), IgnoreSpam},
		{"spam flag no", doc("x", "X-Spam-Flag", "NO"), ""},
		{"spam score", doc("x", "X-Spam-Score", "7.5"), IgnoreSpam},
		{"spam status score", doc("x", "X-Spam-Status", "No, score=6.0 required=5.0"), IgnoreSpam},
		{"spf softfail no dkim", doc("x", "Authentication-Results", "mx; spf=softfail smtp.mailfrom=x; dkim=none"), IgnoreSpam},
		{"spf softfail dkim pass", doc("x", "Authentication-Results", "mx; spf=softfail; dkim=pass"), ""},
		{"origin header", doc("x", "X-Intake-Origin", "notice"), IgnoreLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Classify(tt.d, []string{"intake@tehnoservis.example"})
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want != "", ok)
		})
	}
	got, ok := Classify(&Document{From: Address{Email: "intake@tehnoservis.example"}}, []string{"Intake@Tehnoservis.example"})
	assert.True(t, ok)
	assert.Equal(t, IgnoreLoop, got)
	_, ok = Classify(nil, nil)
	assert.False(t, ok)
}

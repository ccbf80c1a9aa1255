package parsers

import (
	"regexp"
	"strconv"
	"strings"
)

// Reasons Classify gives for ignoring a message. They are stable codes,
// stored with the ignored item and shown to dispatchers.
const (
	// IgnoreLoop: our own outgoing mail came back (From is one of our
	// addresses, or the message carries the X-Intake-Origin header we set).
	IgnoreLoop = "loop"
	// IgnoreBounce: a delivery status notification (multipart/report, a
	// mailer daemon, "Undelivered Mail" and the like).
	IgnoreBounce = "bounce"
	// IgnoreAutoReply: an auto-reply or out-of-office notice.
	IgnoreAutoReply = "auto-reply"
	// IgnoreSpam: the upstream filter marked the message as spam
	// (X-Spam-Flag, X-Spam-Status, a spam score), or our MX found that it
	// fails SPF without a valid DKIM signature, or fails DMARC.
	IgnoreSpam = "spam"
	// IgnoreBulk: a newsletter or mailing list message.
	IgnoreBulk = "bulk"
)

// OriginHeader is set on every message Intake sends; seeing it inbound means
// a loop.
const OriginHeader = "X-Intake-Origin"

var (
	// Subjects of out-of-office and auto-reply notices, after Re:/Fwd:.
	autoSubjectRe    = regexp.MustCompile(`(?i)^(?:автоответ|auto:|autoreply|auto-reply|auto reply|automatic reply|автоматический ответ|out of (?:the )?office|отсутствую|нет на месте|вне офиса|я в отпуске|в отпуске до|on vacation|away from (?:the )?office|abwesenheitsnotiz)`)
	autoSubjectAnyRe = regexp.MustCompile(`(?i)(?:\bout of (?:the )?office\b|\(vacation\)\s*$|\(отпуск\)\s*$)`)
	replyPrefixRe    = regexp.MustCompile(`(?i)^\s*(?:(?:re|fwd?|fw|отв|ответ|пересл|aw|wg|tr)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+`)
	bounceSubjectRe  = regexp.MustCompile(`(?i)(?:undelivered mail|delivery status notification|mail delivery failed|undeliverable|returned mail|delivery failure|failure notice|mail delivery system|недоставленное сообщение|не удалось доставить|сообщение не доставлено|ошибка доставки)`)
	bounceSenderRe   = regexp.MustCompile(`(?i)^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@`)
	spamScoreRe      = regexp.MustCompile(`(?i)score=(-?[0-9.]+)\s+required=(-?[0-9.]+)`)
)

// Classify tells whether d is to be ignored before extraction and why; own
// lists our mailbox addresses. Checks run in this order, first hit wins:
// loop, bounce, auto-reply, spam, bulk (see the Ignore* constants).
//
// An automated notification of a client's service desk is not an
// auto-reply: ITSM systems mark it "Auto-Submitted: auto-generated" (RFC 3834)
// and often "Precedence: bulk". Only "auto-replied", the auto-reply headers
// of common mailers, or an out-of-office subject make an auto-reply, and
// Precedence alone makes bulk only on mail that is not auto-generated.
func Classify(d *Document, own []string) (reason string, ok bool) {
	if d == nil {
		return "", false
	}
	if len(d.HeaderValues(OriginHeader)) > 0 {
		return IgnoreLoop, true
	}
	for _, a := range own {
		if a != "" && strings.EqualFold(strings.TrimSpace(a), d.From.Email) {
			return IgnoreLoop, true
		}
	}
	if isBounce(d) {
		return IgnoreBounce, true
	}
	if isAutoReply(d) {
		return IgnoreAutoReply, true
	}
	if isSpam(d) {
		return IgnoreSpam, true
	}
	if isBulk(d) {
		return IgnoreBulk, true
	}
	return "", false
}

func headerToken(d *Document, key string) string {
	v := strings.ToLower(strings.TrimSpace(d.HeaderGet(key)))
	if i := strings.IndexAny(v, ";( \t"); i >= 0 {
		v = v[:i]
	}
	return v
}

func isBounce(d *Document) bool {
	if ct, _ := parseParams([]byte(d.HeaderGet("Content-Type"))); ct == "multipart/report" {
		return true
	}
	if bounceSenderRe.MatchString(d.From.Email) {
		return true
	}
	if d.HeaderGet("X-Failed-Recipients") != "" {
		return true
	}
	// The sender checks first: they are cheap and rarely pass.
	return (d.From.Email == "" || strings.Contains(strings.ToLower(d.From.Name), "mail delivery") ||
		strings.TrimSpace(d.HeaderGet("Return-Path")) == "<>") &&
		bounceSubjectRe.MatchString(d.Subject)
}

func autoSubject(subject string) bool {
	bare := replyPrefixRe.ReplaceAllString(subject, "")
	return autoSubjectRe.MatchString(strings.TrimSpace(bare)) || autoSubjectAnyRe.MatchString(subject)
}

func isAutoReply(d *Document) bool {
	switch headerToken(d, "Auto-Submitted") {
	case "auto-replied":
		return true
	case "auto-generated", "auto-notified":
		return autoSubject(d.Subject)
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"} {
		if v := headerToken(d, k); len(d.HeaderValues(k)) > 0 && v != "no" && v != "false" && v != "0" {
			return true
		}
	}
	if p := headerToken(d, "Precedence"); p == "auto_reply" || p == "auto-reply" {
		return true
	}
	if len(d.HeaderValues("X-Auto-Response-Suppress")) > 0 && autoSubject(d.Subject) {
		return true
	}
	return autoSubject(d.Subject)
}

func isSpam(d *Document) bool {
	if strings.EqualFold(headerToken(d, "X-Spam-Flag"), "yes") || strings.EqualFold(headerToken(d, "X-Spam"), "yes") {
		return true
	}
	status := d.HeaderGet("X-Spam-Status")
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(status)), "yes") {
		return true
	}
	if m := spamScoreRe.FindStringSubmatch(status); m != nil {
		score, err1 := strconv.ParseFloat(m[1], 64)
		req, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil && score >= req {
			return true
		}
	}
	if s, err := strconv.ParseFloat(strings.TrimSpace(d.HeaderGet("X-Spam-Score")), 64); err == nil && s >= 5 {
		return true
	}
	if strings.Count(d.HeaderGet("X-Spam-Level"), "*") >= 5 {
		return true
	}
	// Our MX records SPF and DKIM results: a sender that fails SPF and has
	// no valid DKIM signature is forging its domain.
	for _, ar := range d.HeaderValues("Authentication-Results") {
		ar = strings.ToLower(ar)
		spfBad := strings.Contains(ar, "spf=fail") || strings.Contains(ar, "spf=softfail")
		if (spfBad && !strings.Contains(ar, "dkim=pass")) || strings.Contains(ar, "dmarc=fail") {
			return true
		}
	}
	return false
}

func isBulk(d *Document) bool {
	if len(d.HeaderValues("List-Unsubscribe")) > 0 || len(d.HeaderValues("List-Id")) > 0 {
		return true
	}
	switch headerToken(d, "Precedence") {
	case "junk":
		return true
	case "bulk", "list":
		return headerToken(d, "Auto-Submitted") != "auto-generated"
	}
	return false
}

// Package redact masks secrets in what Intake logs, stores as an error and
// shows on its API: the one place that knows what a secret looks like.
//
//   - URL parameters that carry credentials (api_token, token, key, sign,
//     signature, password, the link token t, ...) and URL passwords;
//   - signed-link paths (/l/<token>);
//   - raw webhook requests: credential and signature headers (Authorization,
//     Cookie, Signature, X-Intake-Signature, ...) and form fields
//     (Mango's vpbx_api_key and sign);
//   - errors: their text, with every URL and parameter in it masked, while
//     errors.Is and errors.As still see the error they wrap (a *url.Error
//     carries the whole URL it was asked for).
//
// What is masked is replaced by Mask; the rest is kept as it was, so a
// person can still tell what happened.
package redact

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "REDACTED"

// secretParam reports whether a query or form parameter carries a
// credential or a signature.
func secretParam(k string) bool {
	switch strings.ToLower(k) {
	case "api_token", "token", "access_token", "accesskey", "api_key", "apikey", "key", "secret", "password", "passwd",
		"signature", "sign", "sig", "vpbx_api_key", "t":
		return true
	}
	return false
}

// secretHeader reports whether a header carries a credential or a
// signature.
func secretHeader(k string) bool {
	l := strings.ToLower(k)
	switch l {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return strings.Contains(l, "signature") || strings.Contains(l, "token") || strings.Contains(l, "secret") ||
		strings.Contains(l, "api-key") || strings.Contains(l, "apikey")
}

var (
	// a name=value pair of a query or a form, in free text
	paramRE = regexp.MustCompile(`(?i)([?&;\s"]|^)(api_token|token|access_token|accesskey|api_key|apikey|key|secret|password|passwd|signature|sign|sig|vpbx_api_key|t)=([^&\s"'<>#;:]+(?::[^&\s"'<>#;:]+)*)`)
	// user:password@ in a URL
	userinfoRE = regexp.MustCompile(`(://[^/@\s:"']+):[^/@\s"']+@`)
	// /l/<token>: a signed link
	linkRE = regexp.MustCompile(`/l/[^/?\s"'<>]+`)
)

// Text masks every credential parameter, URL password and link token in
// free text (an error message, a log value).
func Text(s string) string {
	if s == "" {
		return s
	}
	s = paramRE.ReplaceAllString(s, "${1}${2}="+Mask)
	s = userinfoRE.ReplaceAllString(s, "${1}:"+Mask+"@")
	return linkRE.ReplaceAllString(s, "/l/"+Mask)
}

// URL masks a URL's credential parameters, password and link token.
func URL(s string) string { return Text(s) }

// Path masks the token of a signed-link path; other paths are returned as
// they are.
func Path(p string) string { return linkRE.ReplaceAllString(p, "/l/"+Mask) }

// Error returns err with its text masked by Text; nil stays nil. The
// result unwraps to err.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = URL(ue.URL)
	}
	msg := Text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Request masks a raw HTTP request as a webhook receiver keeps it (request
// line, headers, blank line, body): credential parameters of its URL,
// credential and signature headers, and, in a form body, credential and
// signature fields. A request it cannot split is masked as text.
func Request(raw []byte) []byte {
	sep := []byte("\r\n\r\n")
	head, body, ok := bytes.Cut(raw, sep)
	if !ok {
		return []byte(Text(string(raw)))
	}
	lines := strings.Split(string(head), "\r\n")
	form := false
	for i, line := range lines {
		if i == 0 {
			lines[i] = Text(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case secretHeader(k):
			lines[i] = k + ": " + Mask
		case strings.EqualFold(k, "Content-Type") && strings.Contains(strings.ToLower(v), "application/x-www-form-urlencoded"):
			form = true
		}
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(lines, "\r\n"))
	out.Write(sep)
	if form {
		out.WriteString(Form(string(body)))
	} else {
		out.Write(body)
	}
	return out.Bytes()
}

// Form masks the credential and signature fields of a URL-encoded form,
// keeping the order and encoding of the rest.
func Form(s string) string {
	pairs := strings.Split(s, "&")
	for i, p := range pairs {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if name, err := url.QueryUnescape(k); err == nil && secretParam(name) {
			pairs[i] = k + "=" + Mask
		}
	}
	return strings.Join(pairs, "&")
}

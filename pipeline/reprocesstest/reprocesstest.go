// Package reprocesstest makes the mail of a chain onboarded after its mail
// arrived, for the tests of reprocessing and of format drift: the chain
// «Здоровье Плюс» (SB in the demo reference data) writes from its service
// desk in a "label: value" template that Intake has no format for until
// Format is applied.
package reprocesstest

import (
	"fmt"
	"strings"
	"time"

	"github.com/intakehq/intake/rules"
)

// Domain is the chain's service desk's mail domain.
const Domain = "zdorovie-plus.ru"

// FormatName is the name of the chain's format.
const FormatName = "sb-desk"

// Format is the chain's format. The first version reads the template the
// chain used when it was onboarded: the order's number, the pharmacy's
// code and the problem from "label: value" lines, events from the subject.
// The fixed version also reads the labels of the template the chain
// changed to (see Renamed), where the pharmacy is given by its number.
func Format(fixed bool) rules.File {
	number, pharmacy, problem := "[Номер заявки]", "[Аптека]", "[Описание]"
	if fixed {
		number, pharmacy, problem = "[Номер заявки, Обращение №]", "[Аптека, Точка обслуживания]", "[Описание, Суть проблемы]"
	}
	return rules.File{Name: "formats/sb-desk.yaml", Data: []byte(`formats:
  - name: ` + FormatName + `
    client: SB
    description: service desk of «Здоровье Плюс»
    match: from_domain in ["` + Domain + `"]
    fields:
      external_id:
        labels: ` + number + `
        pattern: 'SD-\d+'
      object_code:
        labels: ` + pharmacy + `
        pattern: '(?:APT-)?\d{1,4}'
      problem:
        labels: ` + problem + `
      status:
        labels: [Статус]
    events:
      "(?i)изменен": update
      "(?i)новая": new
`)}
}

// Message is one mail of the chain.
type Message struct {
	Name string
	Raw  []byte
}

// Mail builds a message from the chain's service desk. at is its date.
func Mail(name, subject, body string, at time.Time) Message {
	raw := fmt.Sprintf("From: Служба поддержки <desk@%s>\r\nTo: service@intake.example\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
		Domain, mimeWord(subject), at.Format(time.RFC1123Z), name, Domain, strings.ReplaceAll(body, "\n", "\r\n"))
	return Message{Name: name, Raw: []byte(raw)}
}

func mimeWord(s string) string {
	// RFC 2047 B-encoding keeps the header ASCII.
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := []byte(s)
	var out strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				out.WriteByte(enc[(n>>(18-6*j))&63])
			} else {
				out.WriteByte('=')
			}
		}
	}
	return "=?utf-8?B?" + out.String() + "?="
}

// Order is a new order for the pharmacy code (APT-0008 ...) numbered
// SD-<n>.
func Order(n int, code, problem string, at time.Time) Message {
	return Mail(fmt.Sprintf("order-%d", n), fmt.Sprintf("Новая заявка SD-%d", n),
		fmt.Sprintf("Номер заявки: SD-%d\nАптека: %s\nОписание: %s\n", n, code, problem), at)
}

// Update is the chain's update of order SD-<n>.
func Update(n int, code, status string, at time.Time) Message {
	return Mail(fmt.Sprintf("update-%d", n), fmt.Sprintf("Заявка SD-%d изменена", n),
		fmt.Sprintf("Номер заявки: SD-%d\nАптека: %s\nСтатус: %s\n", n, code, status), at)
}

// Renamed is an order in the template the chain changed to: the labels
// are renamed and the pharmacy is given by its number (51 for APT-0051),
// so the first version of the format finds neither the order's number nor
// the pharmacy.
func Renamed(n int, number, problem string, at time.Time) Message {
	return Mail(fmt.Sprintf("renamed-%d", n), fmt.Sprintf("Новая заявка SD-%d", n),
		fmt.Sprintf("Обращение №: SD-%d\nТочка обслуживания: %s\nСуть проблемы: %s\n", n, number, problem), at)
}

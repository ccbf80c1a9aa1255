// Package reprocesstest makes the mail of a chain onboarded after its mail
// arrived, for the tests of reprocessing and of format drift: the chain
// «Здоровье Плюс» (SB in the demo reference data) writes from its service
// desk in a "label: value" template that Intake has no format for until
// Format is applied.
package reprocesstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
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

// Onboard stores and processes on st (which holds the demo reference data)
// the chain's mail through its onboarding, and returns the processor, with
// the fixed format in force, and the items by name:
//
//   - before any format (the shipped rules): order-5001 and its update
//     update-5001, which became two tickets without the chain's number;
//   - with the first format: order-5005, read well, and renamed-5003 and
//     renamed-5004 in the template the chain changed to, which fell to the
//     dispatchers (unmatched).
//
// now is the clock of the processor and the inbox.
func Onboard(t testing.TB, st *store.Store, now func() time.Time) (*pipeline.Processor, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	runtime := func(extra ...rules.File) *pipeline.Runtime {
		rt, err := pipeline.LoadRuntime(ctx, st, append(defaults.Files(), extra...))
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	proc := pipeline.NewProcessor(runtime(), nil, time.UTC, now)
	in := ingest.NewInbox(st, nil, now)
	ids := map[string]int64{}
	run := func(msgs ...Message) {
		for _, m := range msgs {
			key, mid := ingest.MailKeys(m.Raw)
			res, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "t/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Raw}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[m.Name] = res[0].ID
			if err := st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInline(ctx, tx, res[0].ID) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := now().Add(-48 * time.Hour)
	run(Order(5001, "APT-0008", "Не работает кассовый аппарат", at),
		Update(5001, "APT-0008", "Инженер выехал", at.Add(time.Hour)))
	proc.Swap(runtime(Format(false)))
	run(Order(5005, "APT-0054", "Не горит вывеска", at.Add(2*time.Hour)),
		Renamed(5003, "51", "Течёт кран в подсобке", at.Add(3*time.Hour)),
		Renamed(5004, "54", "Сломан холодильник", at.Add(4*time.Hour)))
	proc.Swap(runtime(Format(true)))
	return proc, ids
}

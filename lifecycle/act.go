package lifecycle

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

// Act is the completion act of a ticket: what the client signs to accept the
// work. Times are shown in Location.
type Act struct {
	Number      string // our number, INT-123
	ExternalID  string // the chain's number
	Date        time.Time
	Contractor  string // our company
	ClientName  string // the chain
	LegalEntity string // the client's legal entity for the store
	StoreName   string
	StoreCode   string
	Address     string
	Category    string
	Priority    string
	Problem     string // as the chain stated it
	ReceivedAt  time.Time
	SLADue      *time.Time
	Tasks       []ActTask
	Location    *time.Location
}

// ActTask is one engineer's part of the work.
type ActTask struct {
	Engineer     string
	EngineerCode string
	AcceptedAt   *time.Time
	StartedAt    *time.Time
	DoneAt       *time.Time
	ProblemFound string
	WorkDone     string
	Attachments  []string
}

//go:embed act.html.tmpl
var actFS embed.FS

var actTmpl = template.Must(template.New("act.html.tmpl").Funcs(template.FuncMap{
	"at": func(loc *time.Location, t any) string {
		var tt time.Time
		switch v := t.(type) {
		case time.Time:
			tt = v
		case *time.Time:
			if v == nil {
				return "—"
			}
			tt = *v
		}
		if tt.IsZero() {
			return "—"
		}
		if loc != nil {
			tt = tt.In(loc)
		}
		return tt.Format("02.01.2006 15:04")
	},
	"day": func(loc *time.Location, t time.Time) string {
		if loc != nil {
			t = t.In(loc)
		}
		return fmt.Sprintf("%d %s %d г.", t.Day(), monthsGenitive[t.Month()-1], t.Year())
	},
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"inc": func(i int) int { return i + 1 },
}).ParseFS(actFS, "act.html.tmpl"))

var monthsGenitive = [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

// RenderAct writes the act as a printable HTML page in Russian.
func RenderAct(w io.Writer, a Act) error {
	if a.Location == nil {
		a.Location = time.UTC
	}
	if err := actTmpl.Execute(w, a); err != nil {
		return fmt.Errorf("rendering act %s: %w", a.Number, err)
	}
	return nil
}

// ActFacts are what the store holds for a ticket's act.
type ActFacts struct {
	Ticket            Ticket
	ClientName        string
	StoreName         string
	StoreLegalEntity  string // the store's own, "" when it has none
	ClientLegalEntity string // the client's first
	Address           string
	Category          string // its name
	Tasks             []ActTaskFacts
}

// ActTaskFacts are a task of the act with its engineer's name and the names
// of its files.
type ActTaskFacts struct {
	Task        Task
	Engineer    string
	Attachments []string
}

// BuildAct is the completion act of a ticket: each done task's engineer,
// times, findings, work and files, dated by the last of them to finish (now
// when none has).
func (c Config) BuildAct(f ActFacts, now time.Time) Act {
	t := f.Ticket
	a := Act{Number: t.Number, Contractor: c.Contractor, Problem: t.Problem, ReceivedAt: t.CreatedAt, SLADue: t.SLADue,
		Location: c.Location, StoreCode: t.Object, ClientName: f.ClientName, StoreName: f.StoreName, Address: f.Address, Category: f.Category,
		LegalEntity: f.StoreLegalEntity}
	if a.LegalEntity == "" {
		// A store without its own entity is served under the client's first.
		a.LegalEntity = f.ClientLegalEntity
	}
	if t.ExternalID != nil {
		a.ExternalID = *t.ExternalID
	}
	if t.Priority != nil {
		a.Priority = *t.Priority
	}
	for _, tf := range f.Tasks {
		k := tf.Task
		if k.State != string(Done) {
			continue
		}
		a.Tasks = append(a.Tasks, ActTask{Engineer: tf.Engineer, EngineerCode: k.EngineerCode(), AcceptedAt: k.AcceptedAt, StartedAt: k.StartedAt,
			DoneAt: k.DoneAt, ProblemFound: k.ProblemFound, WorkDone: k.WorkDone, Attachments: tf.Attachments})
		if k.DoneAt != nil && k.DoneAt.After(a.Date) {
			a.Date = *k.DoneAt
		}
	}
	if a.Date.IsZero() {
		a.Date = now
	}
	return a
}

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

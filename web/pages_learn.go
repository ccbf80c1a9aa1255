package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/learn"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
)

// The learn page (/ui/rules/learn) proposes a chain's format from a few of
// its mails: upload samples, read the proposal with its evidence, edit it,
// try it on the samples and apply it in front of the rule set in force.
// Its forms are multipart (they carry the samples), so they check the CSRF
// token themselves after reading the body.

// maxLearnBytes bounds one learn form: the samples and the proposal.
const maxLearnBytes = 16 << 20

// maxLearnSamples is the most samples one proposal is learned from.
const maxLearnSamples = 20

func (s *Server) registerLearnPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui/rules/learn", s.ui(s.learnPage))
	mux.HandleFunc("POST /ui/rules/learn", s.learnForm(s.learnPropose))
	mux.HandleFunc("POST /ui/rules/learn/try", s.learnForm(s.learnTry))
	mux.HandleFunc("POST /ui/rules/learn/backtest", s.learnForm(s.learnBacktest))
	mux.HandleFunc("POST /ui/rules/learn/apply", s.learnForm(s.learnApply))
}

type learnView struct {
	page
	Clients  []routing.Client
	Client   string
	Format   string // the format's name (page.Name is who is signed in)
	YAML     string
	Unsure   []string
	Samples  []learnSample
	Readings []learnReading
	Problems []string
	Applied  int64
	// The backtest step: the set in force with the proposal in front of
	// it, against the set in force, over the last week's stored mail.
	backtestView
	Lab bool // a backtest can run here
}

// learnSample travels in the form between steps, base64 in a hidden field.
type learnSample struct {
	Name string
	B64  string
	raw  []byte
}

type learnReading struct {
	learn.Reading
	DueText, CategoryText, PriorityText, EventText string
}

var (
	learnPriorities = catalogueLabels[LabelPriority]
	learnEvents     = map[string]string{"new": "новая заявка", "update": "изменение", "closed": "закрыта", "cancelled": "отменена", "comment": "комментарий"}
)

// learnForm reads a multipart learn form and checks its CSRF token, as
// ui does for plain forms.
func (s *Server) learnForm(h func(w http.ResponseWriter, r *http.Request, p page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		p := s.newPage(w, r)
		if err := crossOrigin.Check(r); err != nil {
			s.pageError(w, r, p, forbidden{errors.New("запрос с другого сайта отклонён")})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxLearnBytes)
		if err := r.ParseMultipartForm(maxLearnBytes); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				err = fmt.Errorf("образцы больше %d МиБ вместе", maxLearnBytes>>20)
			}
			s.pageError(w, r, p, badRequest{fmt.Errorf("форма: %w", err)})
			return
		}
		defer r.MultipartForm.RemoveAll() //nolint:errcheck
		c, err := r.Cookie(csrfCookie)
		got := r.FormValue("csrf")
		if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
			s.pageError(w, r, p, forbidden{errors.New("форма устарела или открыта не с этой страницы: обновите страницу и повторите")})
			return
		}
		h(w, r, p)
	}
}

func (s *Server) learnPage(w http.ResponseWriter, r *http.Request, p page) {
	v, _, err := s.learnBase(r, p)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, "learn", v)
}

// learnBase is the page with the clients to choose from, and the
// directory the learning draws on.
func (s *Server) learnBase(r *http.Request, p page) (learnView, learn.Reference, error) {
	p.Title, p.Nav = "Формат по образцам", "rules"
	v := learnView{page: p, Client: r.FormValue("client"), Format: strings.TrimSpace(r.FormValue("name")),
		backtestView: backtestView{Days: 7, Limit: pageBacktestLimit, loc: p.loc}, Lab: s.RuleLab != nil}
	dd, err := s.Store.LoadDirectory(r.Context())
	if err != nil {
		return v, learn.Reference{}, err
	}
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	if err != nil {
		return v, learn.Reference{}, fmt.Errorf("справочники: %w", err)
	}
	v.Clients = dir.Clients()
	ref := learn.Reference{Directory: dir, Categories: dd.Categories}
	if c := dir.Client(v.Client); c != nil {
		ref.Client = *c
	}
	return v, ref, nil
}

// learnPropose learns from the uploaded samples.
func (s *Server) learnPropose(w http.ResponseWriter, r *http.Request, p page) {
	v, ref, err := s.learnBase(r, p)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for _, fh := range r.MultipartForm.File["file"] {
		f, err := fh.Open()
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		raw, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		v.Samples = append(v.Samples, learnSample{Name: fh.Filename, raw: raw, B64: base64.StdEncoding.EncodeToString(raw)})
	}
	slices.SortStableFunc(v.Samples, func(a, b learnSample) int { return strings.Compare(a.Name, b.Name) })
	status := http.StatusOK
	switch {
	case ref.Client.Code == "":
		v.Problems = append(v.Problems, "Выберите сеть: формат учится на её магазинах и доменах.")
	case len(v.Samples) < 2:
		v.Problems = append(v.Problems, "Нужно хотя бы 2 письма (лучше 3–10) одной сети.")
	case len(v.Samples) > maxLearnSamples:
		v.Problems = append(v.Problems, fmt.Sprintf("Не больше %d писем за раз.", maxLearnSamples))
	}
	if len(v.Problems) > 0 {
		v.Samples = nil
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	samples, bad := parseLearnSamples(v.Samples)
	if len(bad) > 0 {
		v.Problems, v.Samples = bad, nil
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	prop, err := learn.Propose(samples, ref, learn.Options{Name: v.Format})
	if err != nil {
		v.Problems, v.Samples = []string{err.Error()}, nil
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	y, err := prop.YAML()
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.YAML, v.Unsure, v.Format = string(y), prop.Unsure, prop.Spec.Name
	v.Readings, v.Problems = readLearned(v.YAML, samples, ref, s.loc())
	s.render(w, r, status, "learn", v)
}

// learnTry reads the samples with the edited proposal.
func (s *Server) learnTry(w http.ResponseWriter, r *http.Request, p page) {
	v, ref, samples, ok := s.learnEdited(w, r, p)
	if !ok {
		return
	}
	v.Readings, v.Problems = readLearned(v.YAML, samples, ref, s.loc())
	status := http.StatusOK
	if len(v.Problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "learn", v)
}

// learnedSet is the rule set in force with the proposal in front of it,
// and the proposal's file name.
func (s *Server) learnedSet(ctx context.Context, v learnView) (map[string][]byte, string) {
	name := "00-learned/" + fileName(v.Format) + ".yaml" // sorts before the other files: tried first
	files := map[string][]byte{name: []byte(v.YAML)}
	rs, err := s.Store.LatestRuleSet(ctx)
	switch {
	case err == nil && rs != nil:
		for _, src := range rs.Sources {
			if src.Name != name {
				files[src.Name] = []byte(src.Data)
			}
		}
	default:
		// No stored set yet: the shipped one is in force.
		for _, f := range defaults.Files() {
			files[f.Name] = f.Data
		}
	}
	return files, name
}

// learnBacktest runs the last week's stored mail through the set in force
// with the proposal in front of it and shows what would change, field by
// field, as the rule editor does.
func (s *Server) learnBacktest(w http.ResponseWriter, r *http.Request, p page) {
	v, ref, samples, ok := s.learnEdited(w, r, p)
	if !ok {
		return
	}
	v.Readings, v.Problems = readLearned(v.YAML, samples, ref, s.loc())
	if s.RuleLab == nil {
		v.BacktestErr = "Сравнение на прошлой почте на этом сервере не настроено."
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	files, _ := s.learnedSet(r.Context(), v)
	rep, err := s.RuleLab.Backtest(r.Context(), pipelineFiles(files), s.RuleLab.Since(time.Duration(v.Days)*24*time.Hour), pageBacktestLimit)
	if err != nil {
		s.Log.Error("backtest", "error", err)
		v.BacktestErr = "Не удалось проверить на прошлой почте: " + err.Error()
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	v.Backtest = &rep
	s.render(w, r, http.StatusOK, "learn", v)
}

// learnApply stores the rule set in force with the proposal in front of
// it as a new version.
func (s *Server) learnApply(w http.ResponseWriter, r *http.Request, p page) {
	v, ref, samples, ok := s.learnEdited(w, r, p)
	if !ok {
		return
	}
	if s.Rules == nil {
		s.pageError(w, r, p, unprocessable{errString("правила на этом сервере не настраиваются")})
		return
	}
	files, name := s.learnedSet(r.Context(), v)
	ver, err := s.Rules.Apply(r.Context(), files, p.by(), "формат "+name+", выучен по образцам")
	if err != nil {
		v.Readings, v.Problems = readLearned(v.YAML, samples, ref, s.loc())
		var le *rules.LoadError
		if errors.As(err, &le) {
			for _, pr := range le.Problems {
				v.Problems = append(v.Problems, pr.String())
			}
		} else {
			v.Problems = append(v.Problems, err.Error())
		}
		s.render(w, r, http.StatusUnprocessableEntity, "learn", v)
		return
	}
	s.audit(r, "rules.apply", strconv.FormatInt(ver, 10), map[string]any{"learned": name, "client": v.Client})
	v.Applied = ver
	v.Flash = fmt.Sprintf("Версия правил %d действует: формат %s применён впереди прежних правил.", ver, v.Format)
	v.Readings, v.Problems = readLearned(v.YAML, samples, ref, s.loc())
	s.render(w, r, http.StatusOK, "learn", v)
}

// learnEdited reads the edited proposal and the samples of the form.
func (s *Server) learnEdited(w http.ResponseWriter, r *http.Request, p page) (learnView, learn.Reference, []learn.Sample, bool) {
	v, ref, err := s.learnBase(r, p)
	if err != nil {
		s.pageError(w, r, p, err)
		return v, ref, nil, false
	}
	v.YAML = strings.ReplaceAll(r.FormValue("yaml"), "\r\n", "\n")
	names, b64s := r.MultipartForm.Value["sample_name"], r.MultipartForm.Value["sample"]
	for i := range min(len(names), len(b64s), maxLearnSamples) {
		raw, err := base64.StdEncoding.DecodeString(b64s[i])
		if err != nil {
			s.pageError(w, r, p, badRequest{fmt.Errorf("образец %s повреждён: %w", names[i], err)})
			return v, ref, nil, false
		}
		v.Samples = append(v.Samples, learnSample{Name: names[i], B64: b64s[i], raw: raw})
	}
	if strings.TrimSpace(v.YAML) == "" {
		s.pageError(w, r, p, badRequest{errString("пустой формат: загрузите образцы заново")})
		return v, ref, nil, false
	}
	samples, bad := parseLearnSamples(v.Samples)
	v.Problems = bad
	return v, ref, samples, true
}

func parseLearnSamples(in []learnSample) ([]learn.Sample, []string) {
	var out []learn.Sample
	var bad []string
	for _, s := range in {
		d, err := parsers.Normalize(s.raw)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: не читается как письмо: %v", s.Name, err))
			continue
		}
		out = append(out, learn.Sample{Name: s.Name, Doc: d})
	}
	return out, bad
}

// readLearned loads the proposal alone and reads the samples with it, as
// the pipeline would: dates without a zone in the format's zone, else in
// loc (intake.timezone), which due times are shown in.
func readLearned(y string, samples []learn.Sample, ref learn.Reference, loc *time.Location) ([]learnReading, []string) {
	set, err := rules.Load([]rules.File{{Name: "learned.yaml", Data: []byte(y)}})
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			var out []string
			for _, pr := range le.Problems {
				out = append(out, pr.String())
			}
			return nil, out
		}
		return nil, []string{err.Error()}
	}
	var out []learnReading
	for _, rd := range learn.Read(set, samples, ref, loc) {
		lr := learnReading{Reading: rd, PriorityText: learnPriorities[rd.Priority], EventText: learnEvents[rd.Event], CategoryText: rd.Category}
		if c := ref.Directory.Category(rd.Category); c != nil && c.Name != "" {
			lr.CategoryText = c.Name
		}
		if rd.Due != nil {
			lr.DueText = rd.Due.In(loc).Format("02.01.2006 15:04")
		}
		out = append(out, lr)
	}
	return out, nil
}

// fileName keeps letters, digits, dashes and underscores.
func fileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "format"
	}
	return b.String()
}

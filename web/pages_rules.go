package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/linediff"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// The rule editor (/ui/rules, operations staff): the versions of the rule
// set and the differences between any two, a file edited in the browser
// and checked as it is typed, tried on a stored item or an uploaded
// message, backtested over a period of stored mail, applied with a comment,
// and any earlier version restored as a new one.
//
// Each step of the editor is one form with one button per action (check,
// try, backtest, apply), so that the page works without script and a new
// step is a new button and a new case of ruleEditPage. The script
// (static/rules.js) only adds checking as one types, through
// POST /ui/rules/check: the API's /api/v1/rules/check takes a token, not the
// browser's session, and the page's endpoint takes the page's CSRF token.

// maxRuleForm bounds a posted rule file and an uploaded message together.
const maxRuleForm = 16 << 20

// pageBacktestLimit bounds the items a backtest from the page replays (the
// newest), so that the page answers within a few minutes; the CLI has no
// such bound.
const pageBacktestLimit = 3000

// ruleFileName is what a rule file may be called: a relative path of
// letters, digits, dots, dashes and slashes, ending in .yaml or .yml.
var ruleFileName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}\.ya?ml$`)

func (s *Server) registerRulePages(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui/rules", s.ui(s.rulesPage))
	mux.HandleFunc("GET /ui/rules/diff", s.ui(s.ruleDiffPage))
	mux.HandleFunc("GET /ui/rules/edit", s.ui(s.ruleEditForm))
	mux.HandleFunc("POST /ui/rules/edit", s.bigForm(s.ui(s.ruleEditPage)))
	mux.HandleFunc("POST /ui/rules/check", s.bigForm(s.ui(s.ruleCheckJSON)))
	mux.HandleFunc("POST /ui/rules/rollback", s.ui(s.ruleRollbackPage))
}

// bigForm reads a POSTed form of up to maxRuleForm bytes, multipart or
// not, before ui checks its CSRF token (ui reads only small forms).
func (s *Server) bigForm(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxRuleForm)
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				err = r.ParseMultipartForm(4 << 20)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				setPageHeaders(w)
				s.pageError(w, r, s.newPage(w, r), badRequest{fmt.Errorf("форма больше %d МиБ или повреждена: %w", maxRuleForm>>20, err)})
				return
			}
			if r.MultipartForm != nil {
				defer r.MultipartForm.RemoveAll() //nolint:errcheck
			}
		}
		h(w, r)
	}
}

// ruleSetFiles is the rule set in force: the latest stored version, else
// the files the server was started with (version 0).
func (s *Server) ruleSetFiles(ctx context.Context) (int64, []store.RuleSource, error) {
	rs, err := s.Store.LatestRuleSet(ctx)
	if err == nil {
		return rs.Version, rs.Sources, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, nil, err
	}
	var out []store.RuleSource
	if s.RuleLab != nil {
		for _, f := range s.RuleLab.Fallback {
			out = append(out, store.RuleSource{Name: f.Name, Data: string(f.Data)})
		}
	}
	return 0, out, nil
}

type ruleFileView struct {
	Name  string
	Lines int
}

type rulesView struct {
	page
	Version  int64 // in force; 0: the configured or shipped files
	Files    []ruleFileView
	Versions []store.RuleSet
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, p page) {
	v := rulesView{page: p}
	v.Title, v.Nav = "Правила", "rules"
	var srcs []store.RuleSource
	var err error
	if v.Version, srcs, err = s.ruleSetFiles(r.Context()); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for _, f := range srcs {
		v.Files = append(v.Files, ruleFileView{Name: f.Name, Lines: len(linediffLines(f.Data))})
	}
	if v.Versions, err = s.Store.RuleSetVersions(r.Context()); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if a := r.URL.Query().Get("applied"); a != "" {
		v.Flash = "Применена версия " + a + ". Работающие серверы переходят на неё в течение нескольких секунд."
	}
	s.render(w, r, http.StatusOK, "rules", v)
}

func linediffLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// fileDiff is one file's changes between two versions.
type fileDiff struct {
	Name   string
	Status string // "изменён", "добавлен", "удалён"
	Hunks  []linediff.Hunk
}

// LineClass is the CSS class of a diff line.
func (fileDiff) LineClass(l linediff.Line) string {
	switch l.Op {
	case linediff.Delete:
		return "del"
	case linediff.Insert:
		return "ins"
	}
	return "eq"
}

// Num shows a line number, blank when the line is not on that side.
func (fileDiff) Num(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// diffSources compares two sets of files, by name.
func diffSources(a, b []store.RuleSource) []fileDiff {
	old := map[string]string{}
	for _, f := range a {
		old[f.Name] = f.Data
	}
	seen := map[string]bool{}
	var out []fileDiff
	for _, f := range b {
		seen[f.Name] = true
		prev, ok := old[f.Name]
		hunks := linediff.Hunks(linediff.Lines(prev, f.Data), 3)
		switch {
		case !ok:
			out = append(out, fileDiff{Name: f.Name, Status: "добавлен", Hunks: hunks})
		case len(hunks) > 0:
			out = append(out, fileDiff{Name: f.Name, Status: "изменён", Hunks: hunks})
		}
	}
	for _, f := range a {
		if !seen[f.Name] {
			out = append(out, fileDiff{Name: f.Name, Status: "удалён", Hunks: linediff.Hunks(linediff.Lines(f.Data, ""), 3)})
		}
	}
	return out
}

type ruleDiffView struct {
	page
	A, B     *store.RuleSet
	Files    []fileDiff
	Versions []store.RuleSet
}

func (s *Server) ruleDiffPage(w http.ResponseWriter, r *http.Request, p page) {
	v := ruleDiffView{page: p}
	v.Title, v.Nav = "Сравнение версий правил", "rules"
	var err error
	if v.Versions, err = s.Store.RuleSetVersions(r.Context()); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	version := func(key string) (*store.RuleSet, error) {
		n, err := strconv.ParseInt(r.URL.Query().Get(key), 10, 64)
		if err != nil || n <= 0 {
			return nil, badRequest{fmt.Errorf("укажите версии для сравнения: %s=номер версии", key)}
		}
		return s.Store.RuleSetAt(r.Context(), n)
	}
	if v.A, err = version("a"); err == nil {
		v.B, err = version("b")
	}
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("такой версии правил нет: %w", err)
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Files = diffSources(v.A.Sources, v.B.Sources)
	s.render(w, r, http.StatusOK, "rules_diff", v)
}

// ruleEditView is the editor: one file of the set in force, what checking
// it found, and what trying, backtesting or applying it gave.
type ruleEditView struct {
	page
	File  string
	Text  string
	Base  int64 // the version the edit started from
	Files []string
	New   bool // a file the set does not have yet

	Checked  bool
	Problems []ruleProblem
	BadLines map[int]bool
	Changes  []fileDiff // the file against the base version

	Item    string
	Comment string

	Tried []triedView
	backtestView
	Lab bool
}

// backtestView is a backtest as the pages show it (the "backtest"
// partial): the rule editor's and the learn page's.
type backtestView struct {
	Days        int
	Limit       int // pageBacktestLimit
	Backtest    *replay.BacktestReport
	BacktestErr string
	loc         *time.Location
}

// LineNumbers are 1..n for the gutter beside the text.
func (v ruleEditView) LineNumbers() []int {
	n := max(len(strings.Split(v.Text, "\n")), 1)
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// BacktestFields are the fields of a backtest, with their Russian names.
func (v backtestView) BacktestFields() []backtestField {
	out := make([]backtestField, len(replay.BacktestFields))
	for i, f := range replay.BacktestFields {
		out[i] = backtestField{Key: f, Name: backtestFieldNames[f]}
	}
	return out
}

type backtestField struct{ Key, Name string }

var backtestFieldNames = map[string]string{
	"kind": "Итог", "client": "Клиент", "external_id": "Номер клиента", "object": "Магазин",
	"category": "Категория", "priority": "Приоритет", "due": "Срок", "engineer": "Инженер",
}

// Cell is field of a backtest row as shown: before → after when it
// changed.
func (v backtestView) Cell(row replay.BacktestRow, field string) backtestCell {
	show := func(r replay.Result) string {
		s := replay.Value(r, field)
		switch {
		case s == "":
			return "—"
		case field == "kind":
			return kindRU(s)
		case field == "category":
			return Label(LabelCategory, s)
		case field == "priority":
			return Label(LabelPriority, s)
		case field == "due":
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				return page{loc: v.loc}.Time(t)
			}
		}
		return s
	}
	return backtestCell{Before: show(row.Before), After: show(row.After), Changed: slices.Contains(row.Changed, field)}
}

type backtestCell struct {
	Before, After string
	Changed       bool
}

func kindRU(k string) string {
	if v, ok := outcomeNames[k]; ok {
		return v
	}
	if k == "pending" {
		return "в обработке"
	}
	return k
}

// triedView is one tried message with its full trace.
type triedView struct {
	replay.Tried
	Name string
}

// Kind is the outcome in Russian.
func (t triedView) Kind() string { return kindRU(t.Outcome.Kind) }

// Predicted tells that the ticket number is the one it would get.
func (t triedView) Predicted() bool { return t.Outcome.Ticket != nil && t.Outcome.Kind == "ticket" }

// Trace is every rule and format tried: the route stage's decision
// carries the parse stage's trace followed by its own (as on an item's
// page).
func (t triedView) Trace() []rules.TraceEntry {
	var parsed, decided []rules.TraceEntry
	if t.Outcome.Parsed != nil {
		parsed = t.Outcome.Parsed.Trace
	}
	if t.Outcome.Decision != nil {
		decided = t.Outcome.Decision.Trace
	}
	if len(decided) >= len(parsed) {
		return decided
	}
	return parsed
}

// StoredKind is the stored item's outcome in Russian.
func (t triedView) StoredKind() string {
	if t.Stored == nil {
		return ""
	}
	return kindRU(t.Stored.Outcome)
}

func (s *Server) ruleEditForm(w http.ResponseWriter, r *http.Request, p page) {
	v, srcs, err := s.newRuleEdit(r.Context(), p, r.URL.Query().Get("file"), r.URL.Query().Get("base"))
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Text = ""
	for _, f := range srcs {
		if f.Name == v.File {
			v.Text = f.Data
		}
	}
	v.New = !slices.Contains(v.Files, v.File)
	s.render(w, r, http.StatusOK, "rules_edit", v)
}

// newRuleEdit starts the editor's view of file, against the set in force;
// srcs are its files. base is the version the form was opened at, "" when
// it is opened now.
func (s *Server) newRuleEdit(ctx context.Context, p page, file, base string) (ruleEditView, []store.RuleSource, error) {
	v := ruleEditView{page: p, File: file, Lab: s.RuleLab != nil, backtestView: backtestView{Days: 7, Limit: pageBacktestLimit, loc: p.loc}}
	v.Title, v.Nav = "Правка правил: "+file, "rules"
	if !ruleFileName.MatchString(file) {
		return v, nil, badRequest{fmt.Errorf("имя файла %q не подходит: латинские буквы, цифры, точки, дефисы и /, в конце .yaml", file)}
	}
	version, srcs, err := s.ruleSetFiles(ctx)
	if err != nil {
		return v, nil, err
	}
	v.Base = version
	if base != "" {
		if v.Base, err = strconv.ParseInt(base, 10, 64); err != nil {
			return v, nil, badRequest{errors.New("версия, с которой начата правка, должна быть числом")}
		}
	}
	for _, f := range srcs {
		v.Files = append(v.Files, f.Name)
	}
	return v, srcs, nil
}

// candidate is srcs with file's text replaced (or added).
func candidate(srcs []store.RuleSource, file, text string) map[string][]byte {
	out := make(map[string][]byte, len(srcs)+1)
	for _, f := range srcs {
		out[f.Name] = []byte(f.Data)
	}
	out[file] = []byte(text)
	return out
}

// editText is the posted text with the browser's line breaks made "\n".
func editText(r *http.Request) string {
	return strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n")
}

func (s *Server) ruleEditPage(w http.ResponseWriter, r *http.Request, p page) {
	if s.Rules == nil {
		s.pageError(w, r, p, unprocessable{errors.New("правила на этом сервере не настраиваются")})
		return
	}
	ctx := r.Context()
	v, srcs, err := s.newRuleEdit(ctx, p, r.PostFormValue("file"), r.PostFormValue("base"))
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Text, v.Item, v.Comment = editText(r), strings.TrimSpace(r.PostFormValue("item")), strings.TrimSpace(r.PostFormValue("comment"))
	v.New = !slices.Contains(v.Files, v.File)
	if d, err := strconv.Atoi(r.PostFormValue("days")); err == nil && d > 0 && d <= 90 {
		v.Days = d
	}
	files := candidate(srcs, v.File, v.Text)
	// Only this file's changes: the others are as they are.
	v.Changes = slices.DeleteFunc(diffSources(srcs, []store.RuleSource{{Name: v.File, Data: v.Text}}),
		func(d fileDiff) bool { return d.Name != v.File })
	status := http.StatusOK
	// Every action checks first: a set with problems is shown with them
	// and goes no further.
	v.Checked = true
	if err := s.Rules.Check(ctx, files); err != nil {
		if !v.setProblems(err) {
			s.pageError(w, r, p, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "rules_edit", v)
		return
	}
	switch r.PostFormValue("do") {
	case "", "check":
	case "try":
		if err := s.tryEdited(r, &v, files); err != nil {
			v.Flash, v.FlashBad = err.Error(), true
			status = errorStatus(err)
			if status == http.StatusInternalServerError {
				s.pageError(w, r, p, err)
				return
			}
		}
	case "backtest":
		if s.RuleLab == nil {
			v.Flash, v.FlashBad = "Проверка на прошлой почте недоступна на этом сервере.", true
			break
		}
		rep, err := s.RuleLab.Backtest(ctx, pipelineFiles(files), s.RuleLab.Since(time.Duration(v.Days)*24*time.Hour), pageBacktestLimit)
		if err != nil {
			s.Log.Error("backtest", "error", err)
			v.BacktestErr = "Не удалось проверить на прошлой почте: " + err.Error()
			break
		}
		v.Backtest = &rep
	case "apply":
		if v.Comment == "" {
			v.Flash, v.FlashBad = "Напишите комментарий: зачем эта правка. Он сохранится вместе с версией.", true
			s.render(w, r, http.StatusBadRequest, "rules_edit", v)
			return
		}
		current, _, err := s.ruleSetFiles(ctx)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		if current != v.Base {
			v.Flash, v.FlashBad = fmt.Sprintf("Пока шла правка, применена версия %d (правка начата с версии %d). Откройте файл заново и перенесите изменения.", current, v.Base), true
			s.render(w, r, http.StatusConflict, "rules_edit", v)
			return
		}
		ver, err := s.Rules.Apply(ctx, files, p.by(), v.Comment)
		if err != nil {
			if v.setProblems(err) {
				s.render(w, r, http.StatusUnprocessableEntity, "rules_edit", v)
				return
			}
			s.pageError(w, r, p, err)
			return
		}
		s.audit(r, "rules.apply", strconv.FormatInt(ver, 10), map[string]any{"files": []string{v.File}, "comment": v.Comment})
		http.Redirect(w, r, fmt.Sprintf("/ui/rules?applied=%d", ver), http.StatusSeeOther)
		return
	default:
		s.pageError(w, r, p, badRequest{fmt.Errorf("неизвестное действие %q", r.PostFormValue("do"))})
		return
	}
	s.render(w, r, status, "rules_edit", v)
}

// setProblems puts the problems of a refused set on the view; false when
// err is not about the files.
func (v *ruleEditView) setProblems(err error) bool {
	var le *rules.LoadError
	if !errors.As(err, &le) {
		return false
	}
	v.BadLines = map[int]bool{}
	for _, p := range le.Problems {
		v.Problems = append(v.Problems, ruleProblem{File: p.File, Rule: p.Rule, Format: p.Format, Line: p.Line, Column: p.Column, Message: p.Msg, Snippet: p.Snippet})
		if p.File == v.File && p.Line > 0 {
			v.BadLines[p.Line] = true
		}
	}
	return true
}

func pipelineFiles(m map[string][]byte) []rules.File {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]rules.File, len(names))
	for i, n := range names {
		out[i] = rules.File{Name: n, Data: m[n]}
	}
	return out
}

// tryEdited runs the edited set on a stored item or on uploaded messages.
func (s *Server) tryEdited(r *http.Request, v *ruleEditView, files map[string][]byte) error {
	if s.RuleLab == nil {
		return unprocessable{errors.New("пробный прогон недоступен на этом сервере")}
	}
	ctx := r.Context()
	var msgs []replay.Message
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["eml"] {
			f, err := fh.Open()
			if err != nil {
				return err
			}
			raw, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return err
			}
			if len(raw) > 0 {
				msgs = append(msgs, replay.Message{Name: fh.Filename, Raw: raw})
			}
		}
	}
	switch {
	case len(msgs) > 0:
		tried, err := s.RuleLab.Try(ctx, pipelineFiles(files), msgs, false)
		if err != nil {
			return err
		}
		for _, t := range tried {
			v.Tried = append(v.Tried, triedView{Tried: t, Name: t.Message.Name})
		}
	case v.Item != "":
		id, err := strconv.ParseInt(strings.TrimPrefix(v.Item, "#"), 10, 64)
		if err != nil || id <= 0 {
			return badRequest{fmt.Errorf("номер сообщения %q: нужно число, например 42", v.Item)}
		}
		t, err := s.RuleLab.TryItem(ctx, pipelineFiles(files), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return badRequest{fmt.Errorf("сообщения %d нет", id)}
		case errors.Is(err, replay.ErrNotMail):
			return unprocessable{fmt.Errorf("сообщение %d пришло не по почте: пробовать правила можно только на письмах", id)}
		case err != nil:
			return err
		}
		v.Tried = append(v.Tried, triedView{Tried: t, Name: fmt.Sprintf("сообщение %d", id)})
	default:
		return badRequest{errors.New("укажите номер сохранённого сообщения или выберите файл .eml")}
	}
	return nil
}

// ruleCheckJSON checks the edited file as it is typed (static/rules.js):
// the answer is that of POST /api/v1/rules/check.
func (s *Server) ruleCheckJSON(w http.ResponseWriter, r *http.Request, p page) {
	if s.Rules == nil {
		s.writeError(w, r, unprocessable{errString("rules are not configurable on this server")})
		return
	}
	v, srcs, err := s.newRuleEdit(r.Context(), p, r.PostFormValue("file"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Rules.Check(r.Context(), candidate(srcs, v.File, editText(r))); err != nil {
		s.writeRulesError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// ruleRollbackPage applies an earlier version's files as a new version.
func (s *Server) ruleRollbackPage(w http.ResponseWriter, r *http.Request, p page) {
	if s.Rules == nil {
		s.pageError(w, r, p, unprocessable{errors.New("правила на этом сервере не настраиваются")})
		return
	}
	n, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || n <= 0 {
		s.pageError(w, r, p, badRequest{errors.New("укажите версию, к которой вернуться")})
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if comment == "" {
		s.pageError(w, r, p, badRequest{errors.New("напишите комментарий: почему возвращаете эту версию")})
		return
	}
	rs, err := s.Store.RuleSetAt(r.Context(), n)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	files := make(map[string][]byte, len(rs.Sources))
	for _, f := range rs.Sources {
		files[f.Name] = []byte(f.Data)
	}
	full := fmt.Sprintf("Возврат к версии %d: %s", n, comment)
	ver, err := s.Rules.Apply(r.Context(), files, p.by(), full)
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			err = unprocessable{fmt.Errorf("версия %d больше не проходит проверку (например, справочник изменился):\n%s", n, le.Error())}
		}
		s.pageError(w, r, p, err)
		return
	}
	s.audit(r, "rules.rollback", strconv.FormatInt(ver, 10), map[string]any{"restores": n, "comment": comment})
	http.Redirect(w, r, fmt.Sprintf("/ui/rules?applied=%d", ver), http.StatusSeeOther)
}

package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest/request"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// Requests serves what store staff and clients' systems write to Intake
// directly: the request form (/form/, no sign-in, for a phone), the request
// API (POST /api/v1/requests, with a token of a user of role client or
// higher) and the equipment card of the ticket page.
type Requests struct {
	Intake *request.Intake
	// Links signs stores' own form links and the receipts submitters are
	// shown. nil: no store links (only the general form, the store chosen
	// by search) and receipts by plain item number.
	Links     *request.Links
	Store     *store.Store
	Directory func() *routing.Directory
	// Limiter limits form submissions per address (one per 30 s after a
	// burst of 5 when nil).
	Limiter  *request.Limiter
	Now      func() time.Time
	Location *time.Location
	Log      *slog.Logger
}

//go:embed forms/*.html
var formFS embed.FS

var formTemplates = template.Must(template.New("forms").Funcs(template.FuncMap{
	"outcomeRU": pageFuncs["outcomeRU"],
}).ParseFS(formFS, "forms/*.html"))

// Limits of the form.
const (
	formMaxPhotos = 5
	formMaxBody   = request.MaxTotalSize + 1<<20
	formCSRF      = "intake_form_csrf"
)

func (q *Requests) register(mux *http.ServeMux) {
	if q.Limiter == nil {
		q.Limiter = &request.Limiter{Every: 30 * time.Second, Burst: 5}
	}
	mux.HandleFunc("GET /form/{$}", q.generalForm)
	mux.HandleFunc("GET /form/s/{token}", q.storeForm)
	mux.HandleFunc("POST /form/{$}", q.submitForm)
	mux.HandleFunc("GET /form/r/{token}", q.receipt)
	mux.HandleFunc("POST /api/v1/requests", q.apiSubmit)
	mux.HandleFunc("GET /api/v1/requests/{id}", q.apiStatus)
}

// formView is what the form pages get.
type formView struct {
	Title   string
	CSRF    string
	Token   string // a store's own link
	Client  string // the store chosen by search
	Object  string
	Store   *routing.Object
	Query   string
	Found   []routing.Object
	Errors  map[string]string
	Values  map[string]string
	Refresh bool
	Item    int64
	Ticket  string
	Outcome *string
	Reason  string
	Limits  struct{ Photos, MB int }
}

func (q *Requests) newForm(w http.ResponseWriter, r *http.Request) formView {
	v := formView{CSRF: formToken(w, r), Values: map[string]string{}, Errors: map[string]string{}}
	v.Limits.Photos, v.Limits.MB = formMaxPhotos, request.MaxAttachmentSize>>20
	return v
}

func formToken(w http.ResponseWriter, r *http.Request) string {
	return csrfCookieValue(w, r, formCSRF, "/form/")
}

func (q *Requests) render(w http.ResponseWriter, r *http.Request, status int, v formView) {
	setPageHeaders(w)
	var buf bytes.Buffer
	if err := formTemplates.ExecuteTemplate(&buf, "form.html", v); err != nil {
		q.Log.Error("form page", "path", r.URL.Path, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck
}

func (q *Requests) formError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := q.newForm(w, r)
	v.Title = "Заявка не принята"
	v.Errors["form"] = msg
	q.render(w, r, status, v)
}

// generalForm is the form for any store: the store is found by search
// (code, name, address) and chosen from the list.
func (q *Requests) generalForm(w http.ResponseWriter, r *http.Request) {
	v := q.newForm(w, r)
	v.Title = "Заявка на обслуживание"
	v.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	dir := q.Directory()
	if c, code, ok := strings.Cut(r.URL.Query().Get("store"), "/"); ok {
		if o := dir.Object(c, code); o != nil {
			v.Store, v.Client, v.Object = o, o.Client, o.Code
		}
	}
	if v.Store == nil && v.Query != "" {
		v.Found = searchStores(dir, v.Query, 10)
	}
	q.render(w, r, http.StatusOK, v)
}

// searchStores finds stores whose code, name or address hold every word of
// query (compared case- and lookalike-insensitively).
func searchStores(dir *routing.Directory, query string, limit int) []routing.Object {
	words := strings.Fields(parsers.FoldLookalikes(query))
	var out []routing.Object
	for _, o := range dir.Objects() {
		hay := parsers.FoldLookalikes(o.Client + " " + o.Code + " " + o.Name + " " + o.Address + " " + o.City)
		code := routing.CodeKey(o.Code)
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) && routing.CodeKey(w) != code {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, o)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// storeForm is a store's own form: its link is signed, so the request is
// known to come from someone the store gave the link to.
func (q *Requests) storeForm(w http.ResponseWriter, r *http.Request) {
	o, err := q.signedStore(r.PathValue("token"))
	if err != nil {
		q.formError(w, r, http.StatusNotFound, "Ссылка на форму недействительна: попросите у диспетчера новую.")
		return
	}
	v := q.newForm(w, r)
	v.Title = "Заявка на обслуживание"
	v.Token, v.Store = r.PathValue("token"), o
	q.render(w, r, http.StatusOK, v)
}

func (q *Requests) signedStore(token string) (*routing.Object, error) {
	if q.Links == nil {
		return nil, request.ErrBadLink
	}
	client, code, err := q.Links.VerifyStore(token)
	if err != nil {
		return nil, err
	}
	o := q.Directory().Object(client, code)
	if o == nil {
		return nil, request.ErrBadLink
	}
	return o, nil
}

// StoreLink is the path of a store's own form.
func (q *Requests) StoreLink(client, code string) string {
	if q.Links == nil {
		return ""
	}
	return "/form/s/" + q.Links.Store(client, code)
}

var errFormTooBig = fmt.Errorf("the photos are larger than %d MB in all", request.MaxTotalSize>>20)

// submitForm takes a form submission: stored first, then the pipeline;
// the answer is the receipt page.
func (q *Requests) submitForm(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		q.formError(w, r, http.StatusForbidden, "Запрос с другого сайта отклонён.")
		return
	}
	if !q.Limiter.Allow(r) {
		w.Header().Set("Retry-After", "30")
		q.formError(w, r, http.StatusTooManyRequests, "Слишком много заявок с этого адреса: подождите полминуты и отправьте снова.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formMaxBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			q.formError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("Фотографии слишком большие: всего не больше %d МБ.", request.MaxTotalSize>>20))
			return
		}
		if err := r.ParseForm(); err != nil {
			q.formError(w, r, http.StatusBadRequest, "Форма не прочитана: обновите страницу и отправьте снова.")
			return
		}
	}
	c, err := r.Cookie(formCSRF)
	if got := r.FormValue("csrf"); err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		q.formError(w, r, http.StatusForbidden, "Форма устарела: обновите страницу и отправьте снова.")
		return
	}
	v := q.newForm(w, r)
	v.Title = "Заявка на обслуживание"
	for _, k := range []string{"problem", "name", "phone", "serial"} {
		v.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	meta := request.Meta{Caller: "form"}
	if tok := r.FormValue("token"); tok != "" {
		o, err := q.signedStore(tok)
		if err != nil {
			q.formError(w, r, http.StatusForbidden, "Ссылка на форму недействительна: попросите у диспетчера новую.")
			return
		}
		v.Token, v.Store, meta.StoreSigned = tok, o, true
	} else if o := q.Directory().Object(r.FormValue("client"), r.FormValue("object")); o != nil {
		v.Store, v.Client, v.Object = o, o.Client, o.Code
	}
	req := request.Request{Problem: v.Values["problem"], Serial: v.Values["serial"],
		Contact: request.Contact{Name: v.Values["name"], Phone: v.Values["phone"]}}
	if v.Store != nil {
		req.Client, req.Store = v.Store.Client, v.Store.Code
	} else if v.Values["serial"] != "" {
		// No store chosen, but a serial: the equipment finds the store.
		if e := q.findSerial(v.Values["serial"]); e != nil {
			req.Client = e.Client
		}
	}
	if v.Values["name"] == "" {
		v.Errors["name"] = "Укажите, как к вам обращаться."
	}
	if v.Values["phone"] == "" {
		v.Errors["phone"] = "Укажите телефон для связи."
	}
	if v.Store == nil && req.Client == "" {
		v.Errors["store"] = "Выберите магазин или укажите заводской номер оборудования."
	}
	if r.MultipartForm != nil {
		files := r.MultipartForm.File["photos"]
		if len(files) > formMaxPhotos {
			v.Errors["photos"] = fmt.Sprintf("Не больше %d фотографий.", formMaxPhotos)
		}
		for _, fh := range files {
			if fh.Size == 0 {
				continue
			}
			if fh.Size > request.MaxAttachmentSize {
				v.Errors["photos"] = fmt.Sprintf("Фото «%s» больше %d МБ.", fh.Filename, request.MaxAttachmentSize>>20)
				continue
			}
			f, err := fh.Open()
			if err != nil {
				v.Errors["photos"] = "Фото не прочитано: выберите его снова."
				continue
			}
			data, err := io.ReadAll(io.LimitReader(f, request.MaxAttachmentSize+1))
			f.Close()
			ct := http.DetectContentType(data)
			if err != nil || !strings.HasPrefix(ct, "image/") {
				v.Errors["photos"] = fmt.Sprintf("«%s» — не фотография.", fh.Filename)
				continue
			}
			req.Attach = append(req.Attach, request.Attachment{Name: baseName(fh.Filename), ContentType: ct, Data: data})
		}
	}
	if err := req.Validate(nil, nil); err != nil {
		var fe request.FieldErrors
		if errors.As(err, &fe) {
			for _, e := range fe {
				switch e.Field {
				case "problem":
					v.Errors["problem"] = "Опишите, что случилось."
				case "contact.phone":
					v.Errors["phone"] = "Телефон не распознан: например, +7 916 123-45-67."
				case "store", "client":
					if v.Errors["store"] == "" {
						v.Errors["store"] = "Выберите магазин или укажите заводской номер оборудования."
					}
				default:
					v.Errors["photos"] = "Фотографии: " + e.Message
				}
			}
		}
	}
	if len(v.Errors) > 0 {
		q.render(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	sub, err := q.Intake.Submit(r.Context(), flow.SourceForm, request.NewRef(), req, meta, nil)
	if err != nil {
		q.Log.Error("form", "error", err)
		q.formError(w, r, http.StatusInternalServerError, "Заявку не удалось сохранить: попробуйте ещё раз через минуту.")
		return
	}
	http.Redirect(w, r, "/form/r/"+q.receiptToken(sub.Item), http.StatusSeeOther)
}

func (q *Requests) findSerial(serial string) *routing.Equipment {
	m := q.Directory().FindEquipment("", []routing.SerialSource{{Name: "field", Text: serial, Field: true}})
	return m.Equipment
}

func baseName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		s = "photo"
	}
	return clipText(s, 120)
}

// receiptToken names a submission on its receipt page: signed when links
// are configured, so receipts cannot be enumerated.
func (q *Requests) receiptToken(item int64) string {
	if q.Links == nil {
		return fmt.Sprint(item)
	}
	return q.Links.Receipt(item)
}

// receipt answers a submission: the ticket number once processing made
// one, else "received" (the page refreshes itself meanwhile).
func (q *Requests) receipt(w http.ResponseWriter, r *http.Request) {
	var id int64
	var err error
	if q.Links != nil {
		id, err = q.Links.VerifyReceipt(r.PathValue("token"))
	} else {
		_, err = fmt.Sscan(r.PathValue("token"), &id)
	}
	if err != nil || id <= 0 {
		q.formError(w, r, http.StatusNotFound, "Такой заявки нет.")
		return
	}
	st, err := q.status(r.Context(), id)
	if err != nil || st.Source != flow.SourceForm {
		q.formError(w, r, http.StatusNotFound, "Такой заявки нет.")
		return
	}
	v := q.newForm(w, r)
	v.Title, v.Item, v.Ticket, v.Outcome = "Заявка принята", id, st.Ticket, st.Outcome
	v.Refresh = st.Outcome == nil
	q.render(w, r, http.StatusOK, v)
}

// requestStatus is where a submitted request is.
type requestStatus struct {
	ID      int64   `json:"id"`
	Source  string  `json:"-"`
	Caller  string  `json:"-"`
	Status  string  `json:"status"` // received | ticket | follow_up | duplicate | unmatched | ignored | failed
	Outcome *string `json:"-"`
	Ticket  string  `json:"ticket,omitempty"`
	Reason  string  `json:"reason,omitempty"`
}

func (q *Requests) status(ctx context.Context, id int64) (requestStatus, error) {
	it, err := q.Store.GetItem(ctx, id)
	if err != nil {
		return requestStatus{}, err
	}
	st := requestStatus{ID: id, Source: it.Source, Outcome: it.Outcome, Status: "received", Reason: it.Reason}
	var meta request.Meta
	json.Unmarshal(it.Meta, &meta) //nolint:errcheck // an item without meta has no caller
	st.Caller = meta.Caller
	if it.Outcome != nil {
		st.Status = *it.Outcome
	}
	if it.TicketID != nil {
		if t, err := store.TicketByID(ctx, q.Store.Pool, *it.TicketID); err == nil {
			st.Ticket = t.Number
		}
	}
	return st, nil
}

// apiAnswer is the request API's answer to an accepted request.
type apiAnswer struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Self   string `json:"self"`
}

// apiSubmit takes a request from a client's system. An Idempotency-Key is
// required: a retry with the same key and body gets the first answer and
// stores nothing; the same key with another body is refused.
func (q *Requests) apiSubmit(w http.ResponseWriter, r *http.Request) {
	who, _ := PrincipalFrom(r.Context())
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" || len(key) > 200 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "send an Idempotency-Key header (1 to 200 characters) so that a retry is not a second request"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, request.MaxTotalSize*4/3+1<<20))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "the request is too large"})
		return
	}
	sum := sha256.Sum256(body)
	if q.replay(w, r, who.Name, key, sum[:]) {
		return
	}
	var req request.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the body is not a request: " + err.Error()})
		return
	}
	dir := q.Directory()
	if err := req.Validate(func(c string) bool { return dir.Client(c) != nil },
		func(c, code string) bool { return dir.Object(c, code) != nil }); err != nil {
		var fe request.FieldErrors
		errors.As(err, &fe)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the request has errors", "fields": fe})
		return
	}
	var answer apiAnswer
	sub, err := q.Intake.Submit(r.Context(), flow.SourceAPI, who.Name+"/"+key, req, request.Meta{Caller: who.Name, Key: key},
		func(ctx context.Context, tx pgx.Tx, item int64) error {
			answer = apiAnswer{ID: item, Status: "received", Self: fmt.Sprintf("/api/v1/requests/%d", item)}
			return store.SaveRequestAnswer(ctx, tx, store.RequestAnswer{Caller: who.Name, Key: key, BodySHA256: sum[:],
				Item: item, Status: http.StatusAccepted, Response: mustJSON(answer)})
		})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "the request could not be stored; retry with the same Idempotency-Key"})
		q.Log.Error("request api", "caller", who.Name, "error", err)
		return
	}
	if sub.Known && q.replay(w, r, who.Name, key, sum[:]) {
		return
	}
	w.Header().Set("Location", answer.Self)
	writeJSON(w, http.StatusAccepted, answer)
}

// replay answers a retry from the stored first answer; false when the key
// is new.
func (q *Requests) replay(w http.ResponseWriter, r *http.Request, caller, key string, sum []byte) bool {
	a, err := store.RequestAnswerFor(r.Context(), q.Store.Pool, caller, key)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error"})
		q.Log.Error("request api", "caller", caller, "error", err)
		return true
	}
	if !bytes.Equal(a.BodySHA256, sum) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "this Idempotency-Key was used for another request: use a new key for a new request"})
		return true
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.Status)
	w.Write(a.Response) //nolint:errcheck
	return true
}

// apiStatus says where a request is: received, or its outcome and ticket.
// A client sees only its own requests.
func (q *Requests) apiStatus(w http.ResponseWriter, r *http.Request) {
	who, _ := PrincipalFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	st, err := q.status(r.Context(), id)
	if err == nil && st.Source != flow.SourceAPI && st.Source != flow.SourceForm {
		err = store.ErrNotFound
	}
	if err == nil && st.Caller != who.Name && !who.Role.Allows(auth.Read) {
		err = store.ErrNotFound
	}
	if err != nil {
		writeJSON(w, errorStatus(err), map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// equipmentView is the equipment card of the ticket page.
type equipmentView struct {
	store.EquipmentCard
	Warranty string // under | expired | unknown
	History  []historyRow
}

type historyRow struct {
	store.EquipmentTicket
	When string
}

// SourceRU says where the serial number was found.
func (v equipmentView) SourceRU() string {
	switch s := v.Source; {
	case s == "subject":
		return "в теме письма"
	case s == "text":
		return "в тексте"
	case s == "table":
		return "в таблице письма"
	case s == "field":
		return "в поле заводского номера"
	case strings.HasPrefix(s, "attachment:"):
		return "во вложении " + strings.TrimPrefix(s, "attachment:")
	}
	return v.Source
}

// equipmentCard reads a ticket's equipment and its other tickets; nil when
// the ticket names none.
func (q *Requests) equipmentCard(ctx context.Context, ticketID int64) *equipmentView {
	if q == nil {
		return nil
	}
	c, err := store.TicketEquipmentCard(ctx, q.Store.Pool, ticketID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			q.Log.Error("equipment card", "ticket", ticketID, "error", err)
		}
		return nil
	}
	v := &equipmentView{EquipmentCard: *c, Warranty: WarrantyStatus(c.WarrantyUntil, q.Now(), q.Location)}
	hist, err := store.EquipmentHistory(ctx, q.Store.Pool, c.Client, c.Serial, ticketID, 20)
	if err != nil {
		q.Log.Error("equipment history", "ticket", ticketID, "error", err)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, h := range hist {
		v.History = append(v.History, historyRow{EquipmentTicket: h, When: h.CreatedAt.In(loc).Format("02.01.2006")})
	}
	return v
}

// WarrantyStatus is "under" while the warranty runs (its last day
// included), "expired" after it, "unknown" without a date.
func WarrantyStatus(until string, now time.Time, loc *time.Location) string {
	switch {
	case until == "":
		return "unknown"
	case routing.Equipment{WarrantyUntil: until}.UnderWarranty(now, loc):
		return "under"
	}
	return "expired"
}

// api is the card as the tickets API gives it: the equipment with its
// warranty status and the earlier tickets.
func (v *equipmentView) api() any {
	c := v.EquipmentCard
	c.Warranty = v.Warranty
	hist := make([]store.EquipmentTicket, len(v.History))
	for i, h := range v.History {
		hist[i] = h.EquipmentTicket
	}
	return struct {
		store.EquipmentCard
		History []store.EquipmentTicket `json:"history"`
	}{c, hist}
}

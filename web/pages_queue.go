package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// The unmatched queue (/ui/): items for which no store was found. A
// dispatcher searches stores by code, name or address (routing's
// Directory.SearchObjects; GET /api/v1/objects/search gives the same as
// JSON for suggestions while typing), then resolves items one by one or
// several at once, or ignores them with a reason.
//
// Bulk resolve has two modes: "store" makes a ticket for every selected item
// on the one store chosen (a search result or a typed client and code);
// "top" makes each selected item's ticket on its own top candidate (the
// first store its card offers) and leaves items without one in the queue.

// searchShown is how many stores a search shows.
const searchShown = 10

// callView is what a dispatcher needs of a call: who, when, which way and
// how long.
type callView struct {
	store.Call
	Duration string // "1:05", "" when unknown
}

// DirectionRU is the call's direction in words.
func (c callView) DirectionRU() string {
	switch c.Direction {
	case "in":
		return "входящий"
	case "out":
		return "исходящий"
	}
	return "направление неизвестно"
}

// StatusRU is how the call went.
func (c callView) StatusRU() string {
	switch c.Status {
	case store.CallMissed:
		return "пропущенный"
	case store.CallAnswered:
		return "принятый"
	case store.CallEnded:
		return "без ответа"
	case store.CallRinging:
		return "идёт"
	}
	return c.Status
}

// When is when the call began (else ended).
func (c callView) When() *time.Time { return cmp.Or(c.StartedAt, c.EndedAt) }

func newCallView(c store.Call) *callView {
	v := &callView{Call: c}
	if c.StartedAt != nil && c.EndedAt != nil && !c.EndedAt.Before(*c.StartedAt) {
		d := c.EndedAt.Sub(*c.StartedAt).Round(time.Second)
		v.Duration = fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	}
	return v
}

// queueItem is one card of the queue.
type queueItem struct {
	itemView
	Call *callView
	// Stores are the candidates the card offers: matching's, or for a call
	// the stores earlier calls from the number led to.
	Stores  []routing.Found
	Checked bool
	Search  string // what "find a store" starts from: the address found
	// Category is the category found, by its name.
	Category string
}

// Title is the card's heading.
func (q queueItem) Title() string {
	switch {
	case q.Call != nil && q.Call.Phone != "":
		return "Звонок с номера " + q.Call.Phone
	case q.Call != nil:
		return "Звонок с неизвестного номера"
	case q.P.Subject != "":
		return q.P.Subject
	case q.Source == flow.SourceCall:
		return "Звонок"
	}
	return "(без темы)"
}

// PriorityRU is the priority found, in words.
func (q queueItem) PriorityRU() string {
	return cmp.Or(priorityNames[q.P.Fields.Priority], q.P.Fields.Priority)
}

// From is who sent it: the caller's phone for calls.
func (q queueItem) From() string {
	if q.Call != nil {
		return cmp.Or(q.Call.Phone, "номер скрыт")
	}
	return q.Sender()
}

type queueView struct {
	page
	Items    []queueItem
	Count    int
	Q        string // the store search
	Client   string
	Searched bool
	Found    []routing.Found
	Clients  []option
	// From is the item whose card started the search (0 when none): each
	// result then offers to make its ticket at once.
	From int64
	// Next links to older items when the page is full.
	Next string
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	limit := min(max(queryInt(r, "limit", 100), 1), 1000)
	items, err := s.Store.ListItems(ctx, store.ItemFilter{Outcome: store.OutcomeUnmatched, Limit: limit, AfterID: int64(queryInt(r, "before", 0))})
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	dir, err := s.directory(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	q := r.URL.Query()
	v := queueView{Count: len(items), Q: strings.TrimSpace(q.Get("q")), Client: strings.ToUpper(strings.TrimSpace(q.Get("client")))}
	for _, c := range dir.Clients() {
		v.Clients = append(v.Clients, option{c.Code, c.Code + " — " + c.Name})
	}
	if v.Q != "" {
		v.Searched, v.Found = true, dir.SearchObjects(v.Client, v.Q, searchShown)
	}
	checked := map[string]bool{}
	for _, id := range q["item"] {
		checked[id] = true
	}
	if len(q["item"]) == 1 {
		v.From, _ = strconv.ParseInt(q.Get("item"), 10, 64)
	}
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	calls, err := s.Store.CallsOfItems(ctx, ids)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	var phones []string
	for _, c := range calls {
		phones = append(phones, c.Phone)
	}
	earlier, err := s.Store.StoresOfPhones(ctx, phones)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for _, it := range items {
		qi := queueItem{itemView: newItemView(it), Checked: checked[strconv.FormatInt(it.ID, 10)]}
		qi.Search = qi.P.Fields.Address
		if v.From == it.ID {
			qi.Search = v.Q
		}
		qi.Category = cmp.Or(qi.P.Fields.Category, qi.P.Fields.CategoryRaw)
		if c := dir.Category(qi.P.Fields.Category); c != nil {
			qi.Category = c.Name
		}
		for _, c := range qi.Candidates() {
			f := routing.Found{Client: c.Client, Code: c.Code, Address: c.Address, Score: c.Score, By: "address"}
			if o := dir.Object(c.Client, c.Code); o != nil {
				f.Name = o.Name
			}
			qi.Stores = append(qi.Stores, f)
		}
		if c, ok := calls[it.ID]; ok {
			qi.Call = newCallView(c)
			for _, ref := range earlier[c.Phone] {
				f := routing.Found{Client: ref.Client, Code: ref.Object, By: "call"}
				if o := dir.Object(ref.Client, ref.Object); o != nil {
					f.Name, f.Address = o.Name, o.Address
				}
				qi.Stores = append(qi.Stores, f)
			}
		}
		v.Items = append(v.Items, qi)
	}
	if len(items) == limit {
		next := url.Values{"before": {strconv.FormatInt(items[len(items)-1].ID, 10)}}
		if limit != 100 {
			next.Set("limit", strconv.Itoa(limit))
		}
		v.Next = "/ui/?" + next.Encode()
	}
	p.Title, p.Nav = "Несопоставленные", "queue"
	p.Flash, p.FlashBad = queueFlash(q)
	v.page = p
	s.render(w, r, http.StatusOK, "queue", v)
}

// queueFlash reports what the last bulk action did, from the redirect's
// query.
func queueFlash(q url.Values) (string, bool) {
	var parts []string
	bad := false
	if v := q.Get("resolved"); v != "" {
		var nums []string
		for _, id := range strings.Split(v, ",") {
			nums = append(nums, "INT-"+id)
		}
		parts = append(parts, "Созданы заявки: "+strings.Join(nums, ", ")+".")
	}
	if v := q.Get("ignored"); v != "" {
		parts = append(parts, "Пропущено сообщений: "+v+".")
	}
	if v := q.Get("nocand"); v != "" {
		parts, bad = append(parts, "Остались в очереди (нет кандидатов): № "+strings.ReplaceAll(v, ",", ", № ")+"."), true
	}
	if v := q.Get("failed"); v != "" {
		parts, bad = append(parts, "Не удалось: № "+strings.ReplaceAll(v, ",", ", № ")+" (подробности в журнале сервера)."), true
	}
	return strings.Join(parts, " "), bad
}

// formIDs reads the selected items' ids.
func formIDs(r *http.Request) ([]int64, error) {
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, badRequest{fmt.Errorf("номер сообщения %q неверен", v)}
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, badRequest{errString("отметьте сообщения в очереди")}
	}
	return ids, nil
}

// ignoreItemsPage ignores the selected items with the reason given.
func (s *Server) ignoreItemsPage(w http.ResponseWriter, r *http.Request, p page) {
	ids, err := formIDs(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		s.pageError(w, r, p, badRequest{errString("укажите причину, по которой сообщения пропускаются")})
		return
	}
	reason = clipText(reason, 500)
	done, err := s.Store.IgnoreUnmatched(r.Context(), ids, reason, p.by())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.Log.Info("unmatched items ignored", "ids", done, "by", p.by(), "reason", reason)
	http.Redirect(w, r, "/ui/?ignored="+strconv.Itoa(len(done)), http.StatusSeeOther)
}

// resolveItemsPage makes tickets for the selected items: on one store
// (mode "store") or each on its top candidate (mode "top").
func (s *Server) resolveItemsPage(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	ids, err := formIDs(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if s.Resolve == nil {
		s.pageError(w, r, p, unprocessable{errString("создание заявок недоступно на этом сервере")})
		return
	}
	mode := r.PostForm.Get("mode")
	var client, object string
	switch mode {
	case "store":
		client, object = storeChoice(r)
		if client == "" || object == "" {
			s.pageError(w, r, p, badRequest{errString("выберите магазин в результатах поиска или укажите клиента и код магазина")})
			return
		}
		dir, err := s.directory(ctx)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		o := dir.Object(client, object)
		if o == nil {
			s.pageError(w, r, p, badRequest{fmt.Errorf("магазина %s/%s нет в справочнике: найдите его поиском", client, object)})
			return
		}
		client, object = o.Client, o.Code
	case "top":
	default:
		s.pageError(w, r, p, badRequest{fmt.Errorf("неизвестное действие %q", mode)})
		return
	}
	var tops map[int64]routing.Found
	if mode == "top" {
		if tops, err = s.topCandidates(r, ids); err != nil {
			s.pageError(w, r, p, err)
			return
		}
	}
	var resolved, nocand, failed []string
	for _, id := range ids {
		cl, ob := client, object
		if mode == "top" {
			top, ok := tops[id]
			if !ok {
				nocand = append(nocand, strconv.FormatInt(id, 10))
				continue
			}
			cl, ob = top.Client, top.Code
		}
		tid, err := s.Resolve(ctx, id, cl, ob, p.by())
		if err != nil {
			s.Log.Error("bulk resolve", "item", id, "client", cl, "object", ob, "by", p.by(), "error", err)
			failed = append(failed, strconv.FormatInt(id, 10))
			continue
		}
		s.audit(r, "item.resolve", strconv.FormatInt(id, 10), map[string]any{"client": cl, "object": ob, "ticket": tid, "bulk": mode})
		resolved = append(resolved, strconv.FormatInt(tid, 10))
	}
	q := url.Values{}
	for k, v := range map[string][]string{"resolved": resolved, "nocand": nocand, "failed": failed} {
		if len(v) > 0 {
			q.Set(k, strings.Join(v, ","))
		}
	}
	http.Redirect(w, r, "/ui/?"+q.Encode(), http.StatusSeeOther)
}

// storeChoice is the store the bulk form names: a search result
// ("PU/0135") or the typed client and code.
func storeChoice(r *http.Request) (client, object string) {
	if c, o, ok := strings.Cut(r.PostForm.Get("store"), "/"); ok {
		return strings.ToUpper(strings.TrimSpace(c)), strings.TrimSpace(o)
	}
	return strings.ToUpper(strings.TrimSpace(r.PostForm.Get("client"))), strings.TrimSpace(r.PostForm.Get("object"))
}

// topCandidates are the first stores the items' cards offer.
func (s *Server) topCandidates(r *http.Request, ids []int64) (map[int64]routing.Found, error) {
	ctx := r.Context()
	out := map[int64]routing.Found{}
	calls, err := s.Store.CallsOfItems(ctx, ids)
	if err != nil {
		return nil, err
	}
	var phones []string
	for _, c := range calls {
		phones = append(phones, c.Phone)
	}
	earlier, err := s.Store.StoresOfPhones(ctx, phones)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		it, err := s.Store.GetItem(ctx, id)
		if err != nil {
			return nil, err
		}
		v := newItemView(*it)
		if cs := v.Candidates(); len(cs) > 0 {
			out[id] = routing.Found{Client: cs[0].Client, Code: cs[0].Code}
		} else if c, ok := calls[id]; ok && len(earlier[c.Phone]) > 0 {
			out[id] = routing.Found{Client: earlier[c.Phone][0].Client, Code: earlier[c.Phone][0].Object}
		}
	}
	return out, nil
}

// searchObjects is GET /api/v1/objects/search?q=Ленина 12&client=PU&limit=N:
// the stores a dispatcher may mean, best first, for suggestions as they type.
func (s *Server) searchObjects(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len([]rune(q)) > 200 {
		s.writeError(w, r, badRequest{errString("q is longer than 200 characters")})
		return
	}
	dir, err := s.directory(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	found := dir.SearchObjects(strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("client"))), q, min(max(queryInt(r, "limit", searchShown), 1), 50))
	if found == nil {
		found = []routing.Found{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"objects": found})
}

package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// The message catalogue: the Russian for every code and reason Intake
// writes (ticket and task states, priorities, categories, history event
// kinds, routing's and the lifecycle's reasons, offer and approval states,
// SLA standings). The pages show codes through it only: templates call
// {{label "state" .State}} and {{reasonRU .Reason}}. catalogue_test.go
// enumerates the codes the packages list and fails on any without Russian,
// so a new reason cannot ship untranslated.

// Label kinds.
const (
	LabelState    = "state"
	LabelPriority = "priority"
	LabelCategory = "category"
	LabelEvent    = "event"
	LabelAction   = "action"
	LabelReject   = "reject"
	LabelMethod   = "method"
	// LabelRole and LabelPermission name users' roles and what they allow
	// (the "access denied" page).
	LabelRole       = "role"
	LabelPermission = "permission"
	LabelOffer      = "offer"
	LabelApproval   = "approval"
	LabelSLA        = "sla"
	LabelMode       = "mode"
	LabelPart       = "part"
	LabelDataKey    = "data"
	LabelValue      = "value"
)

var actionNames = map[string]string{
	string(lifecycle.ActRequestApproval): "отправлена на согласование", string(lifecycle.ActApprove): "согласована",
	string(lifecycle.ActDecline): "отклонена согласующим", string(lifecycle.ActAssign): "назначена",
	string(lifecycle.ActOffer): "предложена", string(lifecycle.ActAccept): "принята", string(lifecycle.ActReject): "отказ",
	string(lifecycle.ActPostpone): "отложена", string(lifecycle.ActResume): "возобновлена", string(lifecycle.ActStart): "начата работа",
	string(lifecycle.ActComplete): "работа выполнена", string(lifecycle.ActClose): "закрыта", string(lifecycle.ActCancel): "отменена",
}

var approvalNames = map[string]string{
	lifecycle.ApprovalWaiting: "ждёт очереди", lifecycle.ApprovalPending: "ждёт решения", lifecycle.ApprovalApproved: "согласовано",
	lifecycle.ApprovalDeclined: "отклонено", lifecycle.ApprovalSkipped: "пропущено",
}

// eventNames are the history kinds; task_<action> and approval_<state>
// are added from actionNames and approvalNames.
var eventNames = func() map[string]string {
	m := map[string]string{
		lifecycle.KindState: "смена состояния", lifecycle.KindCreated: "заявка создана", lifecycle.KindNoEngineer: "нет инженера",
		lifecycle.KindOfferMoved: "предложение передано дальше", lifecycle.KindOfferDeclined: "отказ от предложения",
		lifecycle.KindAttachment: "файл", lifecycle.KindEscalation: "эскалация", lifecycle.KindQCCreated: "создан контроль качества",
		lifecycle.KindApprovalRequested: "запрошено согласование", lifecycle.KindApprovalSkipped: "согласование пропущено",
		lifecycle.KindComment: "комментарий", pipeline.EventFollowUp: "дополнение", pipeline.EventResolved: "магазин выбран вручную",
		pipeline.EventReprocessed: "повторная обработка", pipeline.EventMerged: "заявки объединены",
		webhook.EventCall: "звонок",
	}
	for a, ru := range actionNames {
		m[a] = ru
		m["task_"+a] = "задача: " + ru
	}
	for s, ru := range approvalNames {
		m["approval_"+s] = "согласование: " + ru
	}
	return m
}()

var catalogueLabels = map[string]map[string]string{
	LabelRole: {
		string(auth.Client): "клиент (система заказчика)", string(auth.Dispatcher): "диспетчер",
		string(auth.Operations): "операции", string(auth.Admin): "администратор",
	},
	LabelPermission: {
		auth.Read.String(): "просмотр", auth.Work.String(): "работа с заявками и очередями",
		auth.Configure.String(): "настройка правил, форматов и справочников", auth.Audit.String(): "журнал действий",
		auth.Manage.String(): "пользователи и токены", auth.Submit.String(): "подача заявок",
	},
	LabelState: stateNames,
	LabelPriority: {
		"critical": "критический", "high": "высокий", "normal": "обычный", "low": "низкий",
	},
	// Categories: the reference data's names come first (see
	// ticketView.Category); these are the standard codes' names for when
	// the reference data is not at hand.
	LabelCategory: {
		"refrigeration": "Холодильное оборудование", "electrical": "Электрика", "lighting": "Освещение", "plumbing": "Сантехника",
		"hvac": "Вентиляция и кондиционирование", "pos_it": "Кассовое оборудование и ИТ", "doors": "Входная группа и двери",
		"construction": "Ремонт помещений", "security": "Охранные системы",
	},
	LabelEvent:  eventNames,
	LabelAction: actionNames,
	LabelReject: {
		routing.RejectInactive: "не активен", routing.RejectBlacklisted: "нежелателен для магазина",
		routing.RejectCompetence: "нет компетенции", routing.RejectArea: "вне зоны обслуживания",
		routing.RejectCapacity: "перегрузка", routing.RejectExcluded: "отказ ранее",
	},
	LabelMethod: {
		routing.MethodCode: "по коду магазина", routing.MethodContact: "по отправителю", routing.MethodPhone: "по телефону",
		routing.MethodAddress: "по адресу", routing.MethodName: "по названию",
	},
	LabelOffer: {
		lifecycle.OfferPending: "ждёт ответа", lifecycle.OfferAccepted: "принял", lifecycle.OfferDeclined: "отказался",
		lifecycle.OfferExpired: "не ответил вовремя", lifecycle.OfferWithdrawn: "отозвано",
	},
	LabelApproval: approvalNames,
	LabelSLA: {
		string(lifecycle.SLAOnTime): "в срок", string(lifecycle.SLAAtRisk): "под угрозой", string(lifecycle.SLAOverdue): "просрочена",
	},
	LabelMode: {lifecycle.ModeDirect: "назначение", lifecycle.ModeOffer: "предложение"},
	LabelPart: {
		routing.PartStreet: "улица", routing.PartStreetType: "тип улицы другой", routing.PartLetter: "литера дома другая",
		routing.PartHouse: "дом", routing.PartKorpus: "корпус/строение другие", routing.PartCity: "город",
		routing.PartOtherCity: "назван другой город", routing.PartPostcode: "индекс",
	},
	LabelDataKey: {
		"task": "задача", "engineer": "инженер", "reason": "причина", "note": "примечание", "offer": "предложено",
		"round": "круг", "withdrawn": "отозвано у", "until": "до", "problem_found": "найдено", "work_done": "сделано",
		"attachment": "файл", "name": "имя", "size": "байт", "timer": "таймер", "sla_due": "срок SLA", "approval": "согласование",
		"additional": "дополнительная", "reassigned": "переназначение", "category": "категория", "priority": "приоритет",
		"object": "магазин", "client": "клиент", "status": "статус", "direction": "направление", "phone": "телефон",
		"contact": "контакт", "duration": "длительность", "by": "кто", "item": "сообщение",
		"due": "срок сети", "event": "событие", "via": "найдено по", "text": "текст",
	},
	// The values of a follow-up's data: what the chain's message announced
	// and how it was tied to the ticket.
	LabelValue: {
		"new": "новая", "update": "изменение", "closed": "закрыта", "cancelled": "отменена", "comment": "комментарий",
		"external_id": "номеру сети", "our_number": "нашему номеру", "thread": "переписке", "pending_item": "ожидающему сообщению",
		"in": "входящий", "out": "исходящий",
	},
}

// Label is the Russian for code of kind, or code itself when the
// catalogue has none (a category of new reference data, say).
func Label(kind, code string) string {
	if ru, ok := catalogueLabels[kind][code]; ok {
		return ru
	}
	return code
}

// reasonNames are routing's, the lifecycle's, the pipeline's and calls'
// reason formats and their Russian, with the same verbs in the same order
// (any verb may be %s in the Russian: arguments are put in as text,
// translated themselves when they are known words).
var reasonNames = map[string]string{
	routing.ReasonNoStore:       "магазин не определён: отправлять некому",
	routing.ReasonForced:        "назначен правилом: %s",
	routing.ReasonRuleNotElig:   "; инженер из правила %s не подходит (%s)",
	routing.ReasonOffered:       "предложено %s из %s подходящих",
	routing.ReasonFixed:         "закреплённый за магазином инженер",
	routing.ReasonPreferred:     "предпочтён правилом",
	routing.ReasonNearest:       "ближайший из подходящих (%s км, загрузка %s, рейтинг %s), всего подходящих %s",
	routing.ReasonFixedNot:      "; закреплённый инженер %s: %s",
	routing.ReasonNobodyCovers:  "нет подходящего инженера: никто не обслуживает ОКТМО %s и не базируется рядом с %s/%s",
	routing.ReasonNoneEligible:  "нет подходящего инженера: рассмотрено %s — %s",
	routing.ReasonRejectedCount: "%s инж. %s",
	routing.ReasonWithout:       "без компетенции «%s»",
	routing.ReasonEligible:      "подходит",
	routing.ReasonUnknownEng:    "неизвестный инженер",
	routing.ReasonCode:          "код магазина %s",
	routing.ReasonCodeInText:    "код магазина в тексте %s",
	routing.ReasonAsStoreNumber: "%s как номер магазина",
	routing.ReasonSender:        "отправитель %s — контакт магазина",
	routing.ReasonPhone:         "телефон %s — контакт магазина",
	routing.ReasonAddress:       "адрес (%s): %s",
	routing.ReasonAddressUnsure: "адрес (%s) не наверняка: %s",
	routing.ReasonName:          "упомянуто название магазина",
	routing.ReasonNoAddress:     "нет кода магазина, известного отправителя или телефона; адрес магазина не найден",
	routing.ReasonNothing:       "нет кода магазина, известного отправителя, телефона или адреса",
	routing.ReasonAddrField:     "поле адреса",
	routing.ReasonAddrText:      "текст письма",
	routing.ReasonNoStreet:      "нет магазина с такой улицей и домом",
	routing.ReasonContradicts:   "улица и дом найдены, но остальное не сходится",
	routing.ReasonSeveral:       "несколько магазинов подходят почти одинаково (%s)",
	routing.ReasonOnlyStore:     ", единственный магазин клиента с этой улицей и домом",

	lifecycle.ReasonChosenBy:            "выбран: %s",
	lifecycle.ReasonNobodyAccepted:      "никто не принял предложение (%s)",
	lifecycle.ReasonNobodyTook:          "никто не принял предложение",
	lifecycle.ReasonAllDeclined:         "все инженеры круга отказались",
	lifecycle.ReasonOfferTimedOut:       "время на ответ истекло",
	lifecycle.ReasonContract:            "инженер по договору",
	lifecycle.ReasonChainEnded:          "сеть: заявка %s",
	lifecycle.ReasonDeclinedBy:          "отклонено: %s",
	lifecycle.ReasonNoApprover:          "нет контакта с ролью %s",
	lifecycle.EscalationAtRisk:          "срок SLA на исходе",
	lifecycle.EscalationBreached:        "SLA нарушен",
	lifecycle.EscalationRejected:        "все инженеры отказались",
	lifecycle.EscalationNoEngineer:      "нет подходящего инженера",
	lifecycle.EscalationDeclined:        "отклонено при согласовании",
	lifecycle.EscalationApprovalSkipped: "некому согласовать",

	pipeline.ReasonNoDirectory: "справочники не загружены",
	pipeline.ReasonNoCategory:  "магазин или категория не определены: решает диспетчер",
	pipeline.ReasonSameOrder:   "тот же заказ получен повторно",
	pipeline.ReasonResolved:    "магазин выбран диспетчером",

	webhook.ReasonCall:     "%s звонок: %s (%s)",
	webhook.ReasonIncoming: "входящий",
	webhook.ReasonOutgoing: "исходящий",
}

// reasonPattern is one reason format as a regular expression.
type reasonPattern struct {
	re *regexp.Regexp
	ru string
}

var reasonVerbRE = regexp.MustCompile(`%(\.\d+)?[sdqfv]`)

// reasonPatterns are the formats with arguments, the longest literal text
// first (the most specific wins).
var reasonPatterns = func() []reasonPattern {
	var out []reasonPattern
	type lit struct {
		format string
		n      int
	}
	var formats []lit
	for f := range reasonNames {
		if reasonVerbRE.MatchString(f) {
			formats = append(formats, lit{f, len(reasonVerbRE.ReplaceAllString(f, ""))})
		}
	}
	slices.SortFunc(formats, func(a, b lit) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.format, b.format)
	})
	for _, f := range formats {
		var re strings.Builder
		re.WriteString("^")
		last := 0
		for _, loc := range reasonVerbRE.FindAllStringIndex(f.format, -1) {
			re.WriteString(regexp.QuoteMeta(f.format[last:loc[0]]))
			switch f.format[loc[1]-1] {
			case 'd':
				re.WriteString(`(-?\d+)`)
			case 'f':
				re.WriteString(`(-?[\d.]+)`)
			case 'q':
				re.WriteString(`("(?:[^"\\]|\\.)*")`)
			default:
				re.WriteString(`(.+?)`)
			}
			last = loc[1]
		}
		re.WriteString(regexp.QuoteMeta(f.format[last:]) + "$")
		out = append(out, reasonPattern{regexp.MustCompile(re.String()), reasonVerbRE.ReplaceAllString(reasonNames[f.format], "%s")})
	}
	return out
}()

// ReasonRU translates a reason written by Intake into Russian, argument
// by argument; text a person wrote (in Russian) and what the catalogue
// does not know stay as they are.
func ReasonRU(s string) string {
	if ru, ok := translateReason(s, 0); ok {
		return ru
	}
	return s
}

// translateReason reports whether s was fully understood: a known reason, a
// known word, a format with understood (or opaque) arguments, or known
// reasons joined by "; ", ", " or "+".
func translateReason(s string, depth int) (string, bool) {
	if s == "" {
		return "", true
	}
	if depth > 6 {
		return s, false
	}
	if ru, ok := reasonNames[s]; ok && !reasonVerbRE.MatchString(s) {
		return ru, true
	}
	for _, kind := range []string{LabelReject, LabelState, LabelCategory, LabelPart, LabelMethod} {
		if ru, ok := catalogueLabels[kind][s]; ok {
			return ru, true
		}
	}
	if ru, ok := actorRU(s); ok {
		return ru, true
	}
	if isRussianText(s) {
		return s, true
	}
	for _, sep := range []string{"; ", ", ", "+"} {
		for i := strings.Index(s, sep); i > 0; {
			head, tail := s[:i], s[i:]
			h, okh := translateReason(head, depth+1)
			if okh {
				if t, okt := translateReason(tail, depth+1); okt {
					return h + t, true
				}
				if sep != "; " {
					if t, okt := translateReason(tail[len(sep):], depth+1); okt {
						return h + sep + t, true
					}
				}
			}
			j := strings.Index(s[i+len(sep):], sep)
			if j < 0 {
				break
			}
			i += len(sep) + j
		}
	}
	for _, p := range reasonPatterns {
		m := p.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		whole := true
		for i, a := range m[1:] {
			ru, ok := translateReason(a, depth+1)
			// An argument not understood is a code, a number, an address:
			// shown as it is, unless it holds a list (then the match took
			// too much, and the list is split below).
			if !ok && strings.ContainsAny(a, ",;") {
				whole = false
				break
			}
			args[i] = ru
		}
		if whole {
			return fmt.Sprintf(p.ru, args...), true
		}
	}
	return s, false
}

// isRussianText reports whether s is text a person wrote: it has Cyrillic.
func isRussianText(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) >= 0
}

// actorRU is who did something, as the history records him
// ("dispatcher:anna", "engineer:ENG-1", "link:rd@x", "intake").
func actorRU(s string) (string, bool) {
	switch s {
	case lifecycle.ActorIntake:
		return "Intake", true
	case lifecycle.ActorScheduler:
		return "планировщик", true
	}
	for _, p := range []struct{ prefix, ru string }{{"dispatcher:", "диспетчер"}, {"engineer:", "инженер"}, {"link:", "по ссылке"}} {
		if who, ok := strings.CutPrefix(s, p.prefix); ok && who != "" {
			return who + " (" + p.ru + ")", true
		}
	}
	return s, false
}

// SLAOf is where ticket t stands against its deadline at now: the SLA
// deadline, else the chain's due date (lifecycle.SLAOf decides).
func SLAOf(t *store.Ticket, now time.Time) lifecycle.SLA {
	due := t.SLADue
	if due == nil {
		due = t.Due
	}
	return lifecycle.SLAOf(lifecycle.State(t.State), due, now)
}

// catalogueFuncs are the catalogue's template functions: label, reasonRU,
// actorRU.
var catalogueFuncs = map[string]any{
	"label":    Label,
	"reasonRU": ReasonRU,
	"actorRU": func(s string) string {
		ru, _ := actorRU(s)
		return ru
	},
}

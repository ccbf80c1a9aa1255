package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The dispatchers' views: the counts of the home page, the ticket list with
// its filters and pages, and the unmatched queue's calls and bulk actions.

// SLAWindow is the rule that places a ticket against its deadline
// (lifecycle.SLAOf), given by the caller so that the rule has one owner: a
// ticket in one of the Open states whose deadline (sla_due, else due) has
// passed at Now is overdue; one whose deadline is at most AtRisk away is at
// risk.
type SLAWindow struct {
	Open   []string
	AtRisk time.Duration
	Now    time.Time
}

// The SLA standings a ticket filter selects.
const (
	SLAOverdue = "overdue"
	SLAAtRisk  = "at_risk"
)

// slaSQL is SLAWindow's rule over tickets aliased t: $open is the open
// states, $now the instant and $risk the at-risk span in seconds.
func slaSQL(standing, open, now, risk string) string {
	deadline := "coalesce(t.sla_due, t.due)"
	switch standing {
	case SLAOverdue:
		return "(t.state = ANY(" + open + ") AND " + deadline + " < " + now + ")"
	case SLAAtRisk:
		return "(t.state = ANY(" + open + ") AND " + deadline + " >= " + now + " AND " + deadline + " <= " + now +
			" + make_interval(secs => " + risk + "))"
	}
	panic("unknown SLA standing " + standing)
}

// DispatchCounts are the numbers of the dispatcher's home page.
type DispatchCounts struct {
	Unmatched        int // items waiting for a dispatcher to choose the store
	Failed           int // items that failed
	DeadOutbox       int // notifications that will not be delivered
	Overdue          int // open tickets past their deadline
	AtRisk           int // open tickets within AtRisk of it
	AwaitingApproval int // tickets waiting for the client's approval
	Unassigned       int // open tickets without an engineer
}

// CountDispatch counts what waits for dispatchers.
func (s *Store) CountDispatch(ctx context.Context, w SLAWindow) (DispatchCounts, error) {
	var c DispatchCounts
	err := s.Pool.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM inbound_items WHERE outcome = 'unmatched'),
			(SELECT count(*) FROM inbound_items WHERE outcome = 'failed'),
			(SELECT count(*) FROM outbox WHERE state = 'dead'),
			count(*) FILTER (WHERE `+slaSQL(SLAOverdue, "$1", "$2", "$3")+`),
			count(*) FILTER (WHERE `+slaSQL(SLAAtRisk, "$1", "$2", "$3")+`),
			count(*) FILTER (WHERE t.state = 'awaiting_approval'),
			count(*) FILTER (WHERE t.state = ANY($1) AND t.engineer IS NULL)
		FROM tickets t`, w.Open, w.Now, w.AtRisk.Seconds()).Scan(
		&c.Unmatched, &c.Failed, &c.DeadOutbox, &c.Overdue, &c.AtRisk, &c.AwaitingApproval, &c.Unassigned)
	if err != nil {
		return c, fmt.Errorf("counting the dispatchers' work: %w", err)
	}
	return c, nil
}

// NoEngineer as TicketFilter.Engineer selects tickets without one.
const NoEngineer = "-"

// TicketFilter selects a page of tickets, newest first.
type TicketFilter struct {
	States      []string // any of these; all when empty
	Client      string
	Object      string
	Engineer    string // an engineer's code, or NoEngineer
	SLA         string // SLAOverdue | SLAAtRisk | ""
	Window      SLAWindow
	CreatedFrom *time.Time // inclusive
	CreatedTo   *time.Time // exclusive
	// Before pages towards older tickets (ids below it), After towards
	// newer ones (ids above it); at most one is set.
	Before, After int64
	Limit         int
}

// TicketRow is a ticket with the names of its client and engineer.
type TicketRow struct {
	Ticket
	ClientName   string `db:"client_name"`
	EngineerName string `db:"engineer_name"`
}

// TicketPage returns one page of the tickets f selects, newest first, and
// whether there are more beyond it in the direction of travel (older ones,
// or newer ones when f.After is set).
func (s *Store) TicketPage(ctx context.Context, f TicketFilter) ([]TicketRow, bool, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if f.SLA != "" && f.SLA != SLAOverdue && f.SLA != SLAAtRisk {
		return nil, false, fmt.Errorf("unknown SLA standing %q", f.SLA)
	}
	if f.States == nil {
		f.States = []string{}
	}
	if f.Window.Open == nil {
		f.Window.Open = []string{}
	}
	order := "DESC"
	if f.After > 0 {
		order = "ASC"
	}
	cols := make([]string, 0, 20)
	for _, c := range strings.Split(ticketColumns, ",") {
		cols = append(cols, "t."+strings.TrimSpace(c))
	}
	args := []any{f.States, f.Client, f.Object, f.Engineer, f.CreatedFrom, f.CreatedTo, f.Before, f.After}
	sla := "true"
	if f.SLA != "" {
		sla = slaSQL(f.SLA, "$9", "$10", "$11")
		args = append(args, f.Window.Open, f.Window.Now)
		if f.SLA == SLAAtRisk {
			args = append(args, f.Window.AtRisk.Seconds())
		}
	}
	args = append(args, f.Limit+1)
	rows, err := s.Pool.Query(ctx, `
		SELECT `+strings.Join(cols, ", ")+`, coalesce(c.name, '') AS client_name, coalesce(e.name, '') AS engineer_name
		FROM tickets t
		LEFT JOIN clients c ON c.code = t.client
		LEFT JOIN engineers e ON e.code = t.engineer
		WHERE (cardinality($1::text[]) = 0 OR t.state = ANY($1))
			AND ($2 = '' OR t.client = $2) AND ($3 = '' OR t.object = $3)
			AND ($4 = '' OR ($4 = '`+NoEngineer+`' AND t.engineer IS NULL) OR t.engineer = $4)
			AND ($5::timestamptz IS NULL OR t.created_at >= $5) AND ($6::timestamptz IS NULL OR t.created_at < $6)
			AND ($7 = 0 OR t.id < $7) AND ($8 = 0 OR t.id > $8)
			AND `+sla+`
		ORDER BY t.id `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, fmt.Errorf("listing tickets: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[TicketRow])
	if err != nil {
		return nil, false, fmt.Errorf("listing tickets: %w", err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	if f.After > 0 {
		slices.Reverse(out)
	}
	return out, more, nil
}

// ItemCall is the call an inbound item (one webhook request) belongs to.
type ItemCall struct {
	Call
	ItemID int64 `db:"item_id"`
}

// CallsOfItems returns the calls of the items that are call events, by item
// id.
func (s *Store) CallsOfItems(ctx context.Context, items []int64) (map[int64]Call, error) {
	cols := make([]string, 0, 20)
	for _, c := range strings.Split(callColumns, ",") {
		cols = append(cols, "c."+strings.TrimSpace(c))
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+strings.Join(cols, ", ")+`, e.item_id
		FROM call_events e JOIN calls c ON c.id = e.call WHERE e.item_id = ANY($1)`, items)
	if err != nil {
		return nil, fmt.Errorf("reading the items' calls: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByName[ItemCall])
	if err != nil {
		return nil, fmt.Errorf("reading the items' calls: %w", err)
	}
	out := make(map[int64]Call, len(list))
	for _, c := range list {
		out[c.ItemID] = c.Call
	}
	return out, nil
}

// StoreRef names one store.
type StoreRef struct {
	Client string `db:"client" json:"client"`
	Object string `db:"object" json:"object"`
}

// StoresOfPhones returns, for each phone, the stores of the tickets earlier
// calls from it led to (a dispatcher resolved them, or a call-back ticket
// was made), most recent first.
func (s *Store) StoresOfPhones(ctx context.Context, phones []string) (map[string][]StoreRef, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT c.phone, t.client, t.object, max(t.id) AS last
		FROM calls c JOIN tickets t ON t.id = c.ticket_id
		WHERE c.phone = ANY($1) AND c.phone <> ''
		GROUP BY c.phone, t.client, t.object
		ORDER BY last DESC`, phones)
	if err != nil {
		return nil, fmt.Errorf("reading the stores of earlier calls: %w", err)
	}
	defer rows.Close()
	out := map[string][]StoreRef{}
	for rows.Next() {
		var phone string
		var r StoreRef
		var last int64
		if err := rows.Scan(&phone, &r.Client, &r.Object, &last); err != nil {
			return nil, err
		}
		out[phone] = append(out[phone], r)
	}
	return out, rows.Err()
}

// IgnoreUnmatched finishes unmatched items with the outcome "ignored" and
// the reason a dispatcher gave, recording the action under by in the audit
// log, in one transaction. It returns the ids it ignored: items no longer
// unmatched (resolved or ignored meanwhile) are left alone.
func (s *Store) IgnoreUnmatched(ctx context.Context, ids []int64, reason, by string) ([]int64, error) {
	var done []int64
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE inbound_items SET outcome = 'ignored', reason = $2, updated_at = now()
			WHERE id = ANY($1) AND outcome = 'unmatched'
			RETURNING id`, ids, SafeText(reason))
		if err != nil {
			return err
		}
		if done, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		slices.Sort(done)
		for _, id := range done {
			if err := audit(ctx, tx, by, "item.ignore", strconv.FormatInt(id, 10), map[string]any{"reason": reason}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ignoring items: %w", err)
	}
	return done, nil
}

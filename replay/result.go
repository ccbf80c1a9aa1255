package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// Result is what a message became, in the corpus label schema plus what
// routing added. It is a line of `intake try --json`: the field names are a
// contract, scripts depend on them. Unknown values are null.
type Result struct {
	File       string   `json:"file"`
	MessageID  *string  `json:"message_id"`
	Kind       string   `json:"kind"`
	Client     *string  `json:"client"`
	ExternalID *string  `json:"external_id"`
	Object     *string  `json:"object"`
	Category   *string  `json:"category"`
	Priority   *string  `json:"priority"`
	Due        *string  `json:"due"`
	Engineer   *string  `json:"engineer"`
	Ticket     *string  `json:"ticket"`
	Follows    *string  `json:"follows"`
	Rules      []string `json:"rules"`
	Reason     *string  `json:"reason"`
	SLADue     *string  `json:"sla_due"`
	// Stored is the item already holding a tried message (try only).
	Stored *Stored `json:"stored,omitempty"`
}

// ResultOf makes the Result of file from its outcome. Times are given in
// loc (UTC when nil).
func ResultOf(file string, o *pipeline.Outcome, follows *string, loc *time.Location) Result {
	r := Result{
		File: file, Kind: o.Kind, Client: o.Client, ExternalID: o.ExternalID, Object: o.Object,
		Category: o.Category, Priority: o.Priority, Due: rfc3339(o.Due, loc), SLADue: rfc3339(o.SLADue, loc), Engineer: o.Engineer,
		Ticket: o.Ticket, Follows: follows, Rules: o.Rules, Reason: o.Reason,
	}
	if o.MessageID != "" {
		m := o.MessageID
		r.MessageID = &m
	}
	if r.Rules == nil {
		r.Rules = []string{}
	}
	return r
}

// rfc3339 formats t in loc (the configured zone, so that due times read as
// the chains write them).
func rfc3339(t *time.Time, loc *time.Location) *string {
	if t == nil {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	s := t.In(loc).Format(time.RFC3339)
	return &s
}

// followsName names the item that created the order: a file of this run
// (fileOf), else the item's source reference.
func followsName(ctx context.Context, q pipeline.Querier, o *pipeline.Outcome, fileOf map[int64]string) *string {
	if o.FollowsItem == nil {
		return nil
	}
	if f, ok := fileOf[*o.FollowsItem]; ok {
		return &f
	}
	ref, err := store.ItemSourceRef(ctx, q, *o.FollowsItem)
	if err != nil {
		s := fmt.Sprintf("item %d", *o.FollowsItem)
		return &s
	}
	return &ref
}

// WaitDone waits until the pipeline has given item id its outcome.
func WaitDone(ctx context.Context, st *store.Store, id int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		stage, err := st.ItemStage(ctx, id)
		if err != nil {
			return err
		}
		if stage == store.StageDone {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("item %d still at stage %s after %s", id, stage, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Millisecond):
		}
	}
}

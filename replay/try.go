package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// Message is one raw message to replay. Name is how it is shown (a path as
// given); its base name is the file of its Result.
type Message struct {
	Name string
	Raw  []byte
}

// Tried is what one message of a Try became.
type Tried struct {
	Message Message
	Outcome *pipeline.Outcome
	// Follows names the item that created the order the message follows:
	// a message of the same run, else the stored item's source reference.
	Follows *string
}

// Result is t as a line of `intake try --json`, with times in loc.
func (t Tried) Result(loc *time.Location) Result {
	return ResultOf(filepath.Base(t.Message.Name), t.Outcome, t.Follows, loc)
}

// Try runs msgs through the stages of proc, in the order given, and calls
// each with what every one became. All run in one transaction on st that is
// rolled back, so nothing is written; a follow-up still finds the ticket an
// earlier message created. A message already stored (the same bytes or
// Message-ID) is reported as a duplicate of the stored item unless asNew,
// which runs it as if it had never been seen.
func Try(ctx context.Context, st *store.Store, proc *pipeline.Processor, msgs []Message, asNew bool, each func(Tried) error) error {
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	fileOf := map[int64]string{}
	stamp := clock.Wall().UnixNano()
	for i, m := range msgs {
		base := filepath.Base(m.Name)
		key, _ := ingest.MailKeys(m.Raw)
		if asNew {
			key = fmt.Sprintf("try:%d:%d:%s", stamp, i, key)
		}
		res, err := ingest.PutTx(ctx, tx, ingest.Item{
			Source: flow.SourceMail, SourceRef: fmt.Sprintf("try/%d/%d/%s", stamp, i, base),
			DedupKey: key, Raw: m.Raw,
		}, clock.Wall())
		if err != nil {
			return err
		}
		if res.Status == ingest.StatusNew {
			if err := proc.RunInline(ctx, tx, res.ID); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		fileOf[res.ID] = base
		o, err := pipeline.ReadOutcome(ctx, tx, res.ID)
		if err != nil {
			return err
		}
		if res.Status == ingest.StatusKnown {
			o.Kind = store.OutcomeDuplicate
			msg := fmt.Sprintf("already stored as item %d", res.ID)
			o.Reason = &msg
			o.FollowsItem = &res.ID
		}
		if err := each(Tried{Message: m, Outcome: o, Follows: followsName(ctx, tx, o, fileOf)}); err != nil {
			return err
		}
	}
	return nil
}

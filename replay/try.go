package replay

import (
	"context"
	"errors"
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
	// Stored is the item that already holds this message (the same bytes
	// or Message-ID), nil when the message is new to Intake.
	Stored *Stored
}

// Stored is the stored item a tried message is already: its id and what it
// became.
type Stored struct {
	Item    int64   `json:"item"`
	Outcome string  `json:"outcome"`
	Ticket  *string `json:"ticket,omitempty"`
}

// Result is t as a line of `intake try --json`, with times in loc.
func (t Tried) Result(loc *time.Location) Result {
	r := ResultOf(filepath.Base(t.Message.Name), t.Outcome, t.Follows, loc)
	r.Stored = t.Stored
	return r
}

// Try runs msgs through the stages of proc, in the order given, and calls
// each with what every one became. All run in one transaction on st that is
// rolled back, so nothing is written, and no ticket number is used up (a new
// ticket shows the number it would get); a follow-up still finds the ticket
// an earlier message created.
//
// A message already stored (the same bytes or Message-ID) is run as it
// first arrived, so that the rules are tried on it: the ticket it created is
// set aside (store.SetAsideForDryRun) rather than followed, and
// Tried.Stored names the stored item and what it became. With dedup, it is treated as the pipeline would treat
// it arriving again: a duplicate of the stored item. A message given twice
// in one run is a duplicate of the first either way.
func Try(ctx context.Context, st *store.Store, proc *pipeline.Processor, msgs []Message, dedup bool, each func(Tried) error) error {
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := store.BeginDryRun(ctx, tx); err != nil {
		return err
	}
	fileOf := map[int64]string{}
	stamp := clock.Wall().UnixNano()
	for i, m := range msgs {
		base := filepath.Base(m.Name)
		key, _ := ingest.MailKeys(m.Raw)
		var stored *Stored
		orig, _, err := store.OriginalByDedupKey(ctx, tx, flow.SourceMail, key)
		switch {
		case err == nil:
			so, err := pipeline.ReadOutcome(ctx, tx, orig)
			if err != nil {
				return err
			}
			stored = &Stored{Item: orig, Outcome: so.Kind, Ticket: so.Ticket}
			if !dedup {
				// Tried as it first arrived: not a follow-up of the
				// ticket it made itself.
				if err := store.SetAsideForDryRun(ctx, tx, orig); err != nil {
					return err
				}
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if !dedup {
			// Apart from what is stored; the same message twice in this
			// run still meets its first copy.
			key = fmt.Sprintf("try:%d:%s", stamp, key)
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
		if err := each(Tried{Message: m, Outcome: o, Follows: followsName(ctx, tx, o, fileOf), Stored: stored}); err != nil {
			return err
		}
	}
	return nil
}

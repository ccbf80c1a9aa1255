package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/fault"
)

// Topics. Events carry an item id, never a payload: each stage reads what it
// needs from the database.
const (
	TopicReceived = "intake_received"
	TopicParsed   = "intake_parsed"
	TopicRouted   = "intake_routed"
	TopicPoison   = "intake_poison"
)

// Topics lists the pipeline's topics.
var Topics = []string{TopicReceived, TopicParsed, TopicRouted, TopicPoison}

// ItemsReady is the payload of every pipeline message: the items that are ready
// (ItemID alone in events of earlier versions).
type ItemsReady struct {
	ItemID  int64   `json:"item_id,omitempty"`
	ItemIDs []int64 `json:"item_ids,omitempty"`
}

// maxEventItems bounds the items one event names.
const maxEventItems = 256

func newEventMessage(ids []int64) (*message.Message, error) {
	payload, err := json.Marshal(ItemsReady{ItemIDs: ids})
	if err != nil {
		return nil, err
	}
	msg := message.NewMessage(watermill.NewUUID(), payload)
	middleware.SetCorrelationID("item-"+strconv.FormatInt(ids[0], 10), msg)
	return msg, nil
}

func decodeEvent(msg *message.Message) ([]int64, error) {
	var e ItemsReady
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return nil, fault.Permanent(fmt.Errorf("bad event payload %q", msg.Payload))
	}
	ids := e.ItemIDs
	if e.ItemID > 0 {
		ids = append(ids, e.ItemID)
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return id <= 0 })
	if len(ids) == 0 {
		return nil, fault.Permanent(fmt.Errorf("event names no item: %q", msg.Payload))
	}
	return ids, nil
}

var sqlSchema = wsql.DefaultPostgreSQLSchema{}

// sqlTxPublisher publishes into PostgreSQL topics inside tx, so that an event
// exists exactly when the state change that caused it is committed.
func sqlTxPublisher(tx pgx.Tx, logger watermill.LoggerAdapter) (message.Publisher, error) {
	return wsql.NewPublisher(wsql.TxFromPgx(tx), wsql.PublisherConfig{SchemaAdapter: sqlSchema}, logger)
}

// newSQLSubscriber reads PostgreSQL topics for the consumer group "intake":
// with several replicas each event is handled by one of them.
//
// An event in hand is acknowledged within ackDeadline or handed to the next
// consumer: long enough for a handler's budget plus one batch's parse and
// commit, each bounded by cfg.Timeout.
func newSQLSubscriber(pool *pgxpool.Pool, cfg Config, logger watermill.LoggerAdapter) (message.Subscriber, error) {
	ackDeadline := max(30*time.Second, handleBudget+2*cfg.Timeout)
	return wsql.NewSubscriber(wsql.BeginnerFromPgx(pool), wsql.SubscriberConfig{
		ConsumerGroup:    "intake",
		AckDeadline:      &ackDeadline,
		PollInterval:     cfg.PollInterval,
		ResendInterval:   cfg.PollInterval,
		RetryInterval:    cfg.PollInterval * 5,
		SchemaAdapter:    sqlSchema,
		OffsetsAdapter:   wsql.DefaultPostgreSQLOffsetsAdapter{},
		InitializeSchema: true,
	}, logger)
}

// InitSchema creates the bus tables for every topic, so that publishing in a
// transaction never has to create them.
func InitSchema(ctx context.Context, pool *pgxpool.Pool, logger watermill.LoggerAdapter) error {
	sub, err := newSQLSubscriber(pool, Config{PollInterval: defaultPoll}, logger)
	if err != nil {
		return err
	}
	defer sub.Close()
	for _, t := range append(Topics, TopicOutbox) {
		if err := sub.(message.SubscribeInitializer).SubscribeInitialize(t); err != nil {
			return fmt.Errorf("initialising topic %s: %w", t, err)
		}
	}
	return nil
}

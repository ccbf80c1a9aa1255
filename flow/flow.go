// Package flow holds what passes between Intake's stages: where an item came
// from, what parsing found in it (Parsed), what routing decided (Decision),
// the outcomes an item can end with, and the runtime snapshot of reference
// data and rules the stages decide with. It is types only: sources
// (ingest/*, connectors) and the pipeline both import it, and neither
// imports the other.
package flow

import (
	"time"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
)

// Sources of inbound items.
const (
	SourceMail      = "mail"
	SourceCall      = "call"
	SourceConnector = "connector"
	SourceForm      = "form" // the request form for store staff (/form/)
	SourceAPI       = "api"  // the request API for clients' systems (POST /api/v1/requests)
)

// Stages an item passes through; done once it has its outcome.
const (
	StageReceived = "received"
	StageParsed   = "parsed"
	StageRouted   = "routed"
	StageDone     = "done"
)

// Outcomes: every item ends with exactly one.
const (
	OutcomeTicket    = "ticket"
	OutcomeFollowUp  = "follow_up"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeUnmatched = "unmatched"
	OutcomeFailed    = "failed"
)

// Runtime is what the stages decide with: the directory of reference data
// and the rule set in force. Both are immutable snapshots swapped atomically
// when an import or a rules apply changes them.
type Runtime struct {
	Directory    *routing.Directory
	DirVersion   int64
	Rules        *rules.Set
	RulesVersion int64
	Categories   *parsers.CategoryMatcher
}

// Parsed is what the parse stage saves on the item.
type Parsed struct {
	MessageID   string               `json:"message_id"`
	InReplyTo   []string             `json:"in_reply_to,omitempty"`
	References  []string             `json:"references,omitempty"`
	From        string               `json:"from"`
	FromName    string               `json:"from_name,omitempty"`
	Subject     string               `json:"subject"`
	Date        time.Time            `json:"date"`
	NewText     string               `json:"new_text"`
	Signature   string               `json:"signature,omitempty"`
	Attachments []parsers.Attachment `json:"attachments,omitempty"`
	Warnings    []string             `json:"warnings,omitempty"`
	Fields      parsers.Fields       `json:"fields"`
	Forwarded   bool                 `json:"forwarded,omitempty"`
	Trace       []rules.TraceEntry   `json:"trace,omitempty"`
}

// Decision is what routing decided for an item.
type Decision struct {
	Kind       string         `json:"kind"` // ticket | follow_up
	Ticket     int64          `json:"ticket,omitempty"`
	Client     string         `json:"client"`
	Object     string         `json:"object,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
	Category   string         `json:"category,omitempty"`
	Priority   string         `json:"priority,omitempty"`
	Due        *time.Time     `json:"due,omitempty"`
	SLADue     *time.Time     `json:"sla_due,omitempty"`
	Team       string         `json:"team,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Engineer   string         `json:"engineer,omitempty"`
	Event      string         `json:"event,omitempty"`
	Status     string         `json:"status,omitempty"`
	Via        string         `json:"via,omitempty"`        // how a follow-up was recognized
	AwaitItem  int64          `json:"await_item,omitempty"` // follow-up of an item whose ticket was not created yet
	Match      *routing.Match `json:"match,omitempty"`
	// Equipment is the equipment a serial number in the message named (or
	// the serials that named none); EquipmentConflict says, for the
	// dispatcher, that it is registered at another store than the ticket's.
	Equipment         *routing.EquipmentMatch `json:"equipment,omitempty"`
	EquipmentConflict string                  `json:"equipment_conflict,omitempty"`
	Assignment        *routing.Assignment     `json:"assignment,omitempty"`
	Trace             []rules.TraceEntry      `json:"trace,omitempty"`
	Rules             []string                `json:"rules,omitempty"` // names of the rules that fired, all stages
}

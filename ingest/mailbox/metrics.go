package mailbox

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	fetched     *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	fetchTime   *prometheus.HistogramVec
	commitTime  *prometheus.HistogramVec
	idleWakeups *prometheus.CounterVec
	reconnects  *prometheus.CounterVec
	errors      *prometheus.CounterVec
	uidValidity *prometheus.CounterVec
	backlog     *prometheus.GaugeVec
	connected   *prometheus.GaugeVec
	leaseHeld   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	mb := []string{"mailbox"}
	m := &metrics{
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_messages_fetched_total",
			Help: "Messages fetched from IMAP and committed to the inbox, by result (new, duplicate, known: already stored or recognised in a re-read folder, failed).",
		}, []string{"mailbox", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_fetched_bytes_total",
			Help: "Raw message bytes fetched from IMAP.",
		}, mb),
		fetchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intake_mailbox_fetch_seconds",
			Help:    "Time to fetch one group of messages (one UID FETCH of bodies).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, mb),
		commitTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intake_mailbox_commit_seconds",
			Help:    "Time to commit one group of messages and its checkpoint to PostgreSQL.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, mb),
		idleWakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_idle_wakeups_total",
			Help: "IDLE ended by the server announcing new messages.",
		}, mb),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_reconnects_total",
			Help: "IMAP connections made after a failed or lost one.",
		}, mb),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_errors_total",
			Help: "Errors by kind: connect, auth, fetch, store, ack, lease.",
		}, []string{"mailbox", "kind"}),
		uidValidity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_mailbox_uidvalidity_changes_total",
			Help: "Folders found with a new UIDVALIDITY and re-scanned.",
		}, mb),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "intake_mailbox_backlog",
			Help: "Messages past the checkpoint not yet committed, as of the last check.",
		}, mb),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "intake_mailbox_connected",
			Help: "1 while this replica has a logged-in IMAP connection for the mailbox.",
		}, mb),
		leaseHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "intake_mailbox_lease_held",
			Help: "1 while this replica holds the mailbox's lease.",
		}, mb),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fetched, m.bytes, m.fetchTime, m.commitTime, m.idleWakeups,
		m.reconnects, m.errors, m.uidValidity, m.backlog, m.connected, m.leaseHeld} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering mailbox metrics: %w", err)
		}
	}
	return m, nil
}

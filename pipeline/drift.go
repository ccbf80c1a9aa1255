package pipeline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/intakehq/intake/drift"
	"github.com/intakehq/intake/store"
)

var (
	driftShare = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "intake_format_missing_share",
		Help: "Share of a format's (or a chain domain's without a format) recent messages in which a required field was not found.",
	}, []string{"kind", "format"})
	driftAlarm = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "intake_format_drift_alarm",
		Help: "1 while a format's (or a chain domain's) missing share is at or above the threshold: the chain may have changed its template.",
	}, []string{"kind", "format"})
	driftAlarms = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "intake_format_drift_alarms", Help: "Formats and chain domains with the drift alarm raised.",
	})
)

// DriftMonitor keeps the format drift report: it counts, from the stored
// parse results, the fields found in each format's recent mail, and decides
// (package drift) which formats alarm. Refresh runs one window query; pages
// read the report it keeps, so a page load costs no query. The pipeline
// itself does nothing for it: the only cost on the write path is the
// upkeep of one partial index.
type DriftMonitor struct {
	st   *store.Store
	proc *Processor
	cfg  drift.Config
	now  func() time.Time
	rep  atomic.Pointer[drift.Report]
}

// NewDriftMonitor returns a monitor over st with the formats of proc's rule
// set in force.
func NewDriftMonitor(st *store.Store, proc *Processor, cfg drift.Config, now func() time.Time) *DriftMonitor {
	return &DriftMonitor{st: st, proc: proc, cfg: cfg.WithDefaults(), now: now}
}

// Report is the last report (nil before the first Refresh).
func (m *DriftMonitor) Report() *drift.Report { return m.rep.Load() }

// Refresh counts and decides again, and updates the metrics.
func (m *DriftMonitor) Refresh(ctx context.Context) (*drift.Report, error) {
	now := m.now()
	groups, err := store.FieldPresence(ctx, m.st.Pool, now.Add(-m.cfg.Period), m.cfg.Window)
	if err != nil {
		return nil, err
	}
	required := map[string][]string{}
	if rt := m.proc.Runtime(); rt != nil && rt.Rules != nil {
		for _, f := range rt.Rules.Formats() {
			required[f.Name] = drift.Required(f.Format.Spec())
		}
	}
	in := make([]drift.Group, len(groups))
	for i, g := range groups {
		in[i] = drift.Group{Kind: g.Kind, Key: g.Key, HasExternal: g.HasExternal, HasStore: g.HasStore, Messages: g.Messages, Examples: g.Examples}
	}
	rep := drift.Evaluate(in, required, m.cfg, now)
	m.rep.Store(rep)
	driftShare.Reset()
	driftAlarm.Reset()
	alarms := 0
	for _, s := range rep.Shares {
		driftShare.WithLabelValues(s.Kind, s.Key).Set(s.Share)
		v := 0.0
		if s.Alarm {
			v, alarms = 1, alarms+1
		}
		driftAlarm.WithLabelValues(s.Kind, s.Key).Set(v)
	}
	driftAlarms.Set(float64(alarms))
	return rep, nil
}

// Run refreshes every interval until ctx ends; an error is logged and the
// last report kept.
func (m *DriftMonitor) Run(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			log.Warn("format drift", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

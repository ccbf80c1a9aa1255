package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	stageSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "intake_stage_duration_seconds", Help: "Time a pipeline stage takes per item, including its transaction.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"stage"})
	stageErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "intake_stage_errors_total", Help: "Stage attempts that returned an error (before retries).",
	}, []string{"stage"})
	deferrals = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "intake_stage_deferrals_total", Help: "Items put back at the end of a stage's topic to wait for an earlier item they refer to.",
	}, []string{"stage"})
	outcomes = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "intake_item_outcomes_total", Help: "Items that reached an outcome, by outcome.",
	}, []string{"outcome"})
)

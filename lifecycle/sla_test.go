package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/lifecycle"
)

func TestSLAOf(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, c := range []struct {
		state lifecycle.State
		due   *time.Time
		want  lifecycle.SLA
	}{
		{lifecycle.New, nil, lifecycle.SLANone},
		{lifecycle.New, at(-time.Minute), lifecycle.SLAOverdue},
		{lifecycle.InProgress, at(lifecycle.AtRisk), lifecycle.SLAAtRisk},
		{lifecycle.Assigned, at(lifecycle.AtRisk + time.Minute), lifecycle.SLAOnTime},
		{lifecycle.Done, at(-time.Hour), lifecycle.SLANone},
		{lifecycle.Cancelled, at(-time.Hour), lifecycle.SLANone},
	} {
		assert.Equal(t, c.want, lifecycle.SLAOf(c.state, c.due, now), "%s due %v", c.state, c.due)
	}
}

package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// ApproverRoles are the contact roles asked, in order, for a ticket at a
// store in region: a step by region asks "Role:<region>".
func ApproverRoles(steps []ApprovalStep, region string) []string {
	roles := make([]string, len(steps))
	for i, s := range steps {
		roles[i] = s.Role
		if s.ByRegion {
			roles[i] = s.Role + ":" + region
		}
	}
	return roles
}

// Decide checks an approver's decision on a and records it there: only a
// pending approval, only by its approver (by, an email, in any case), and a
// decline needs a reason.
func Decide(a *Approval, approve bool, by, reason string, now time.Time) error {
	if a.State != ApprovalPending {
		return fmt.Errorf("approval %d is %s: %w", a.ID, a.State, ErrApprovalClosed)
	}
	if !strings.EqualFold(by, a.ContactEmail) {
		return fmt.Errorf("approval %d is asked of %s: %w", a.ID, a.ContactEmail, ErrNotAssignee)
	}
	if !approve && strings.TrimSpace(reason) == "" {
		return fmt.Errorf("decline: %w", ErrReasonRequired)
	}
	a.State = ApprovalApproved
	if !approve {
		a.State = ApprovalDeclined
	}
	a.DecidedBy, a.Reason, a.DecidedAt = by, reason, &now
	return nil
}

// SkipApproval marks a step that has nobody to ask as skipped.
func SkipApproval(a *Approval, now time.Time) {
	a.State, a.Reason, a.DecidedAt = ApprovalSkipped, fmt.Sprintf(ReasonNoApprover, a.Role), &now
}

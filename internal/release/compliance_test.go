package release_test

import (
	"slices"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
)

// In the target environment every incoming artifact lacks the decision for
// the pipeline's own control until the release is approved: that one reason
// awaits the release; any other blocks (issue 15, part 1).
func TestOnlyTheOwnControlsMissingDecisionAwaitsTheRelease(t *testing.T) {
	own := "prod-policy: missing required decision for control 'release-approved'"
	other := "prod-policy: missing required decision for control 'security-signoff'"
	snyk := "flow web-ci, trail ed1878b: attestation 'snyk' (type: snyk) is non-compliant"
	tests := []struct {
		name     string
		in       release.Compliance
		control  string
		pending  bool
		failures []string
	}{
		{"only the own decision", release.Compliance{Failures: []string{own}, Awaiting: []string{"release-approved"}}, "release-approved", true, []string{}},
		{"the own decision and a failing scan", release.Compliance{Failures: []string{own, snyk}, Awaiting: []string{"release-approved"}}, "release-approved", false, []string{snyk}},
		{"another control's decision", release.Compliance{Failures: []string{other}, Awaiting: []string{"security-signoff"}}, "release-approved", false, []string{other}},
		{"no control configured", release.Compliance{Failures: []string{own}, Awaiting: []string{"release-approved"}}, "", false, []string{own}},
		{"unknown to Kosli", release.Compliance{Unknown: true}, "release-approved", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			c.MarkOwnControl(tt.control)
			if c.Pending != tt.pending || !slices.Equal(c.Failures, tt.failures) && len(c.Failures)+len(tt.failures) > 0 {
				t.Errorf("pending %v failures %q, want %v %q", c.Pending, c.Failures, tt.pending, tt.failures)
			}
			if c.Blocks() == tt.pending {
				t.Errorf("Blocks() = %v with pending %v", c.Blocks(), c.Pending)
			}
		})
	}
}

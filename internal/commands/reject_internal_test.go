package commands

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
)

// TestRejectDialogLimitsTheReason: Slack itself stops the reason at
// maxReason characters.
func TestRejectDialogLimitsTheReason(t *testing.T) {
	v := rejectDialog(&release.Release{ID: "prod-2026-11-24-1", ManifestDigest: "sha256:" + strings.Repeat("0", 64)})
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"max_length":2000`) {
		t.Errorf("reason input has no max_length 2000: %s", raw)
	}
}

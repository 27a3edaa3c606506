// Package release is the domain of release-bot: it turns an environment diff
// into a plan of promotions, freezes a plan into a manifest, and decides who
// may approve what. It does no I/O; adapters bring data in and carry results out.
package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Diff is Kosli's comparison of two environment snapshots, as returned by
// GET /api/v2/env-diff and by `kosli diff snapshots --output json`.
type Diff struct {
	// Source (snappish1) holds what runs only in the environment we promote from: the incoming artifacts.
	Source Side `json:"snappish1"`
	// Target (snappish2) holds what runs only in the environment we promote to: the outgoing artifacts.
	Target Side `json:"snappish2"`
	// Changed holds fingerprints running in both with a different instance count.
	Changed Group `json:"changed"`
	// NotChanged holds fingerprints running identically in both.
	NotChanged Group `json:"not-changed"`
}

// Side is one snapshot's own artifacts in a Diff.
type Side struct {
	SnapshotID string     `json:"snapshot_id"`
	Artifacts  []Artifact `json:"artifacts"`
}

// Group is a list of artifacts common to both snapshots.
type Group struct {
	Artifacts []Artifact `json:"artifacts"`
}

// Artifact is one running artifact as the diff reports it. Flow and CommitURL
// are empty when Kosli knows no provenance for the artifact.
type Artifact struct {
	Fingerprint string `json:"fingerprint"`
	Name        string `json:"name"`
	// MostRecentTimestamp is the newest instance start, in Unix seconds (0 when unknown).
	MostRecentTimestamp Timestamp `json:"most_recent_timestamp"`
	Flow                string    `json:"flow"`
	CommitURL           string    `json:"commit_url"`
	InstanceCount       int       `json:"instance_count"`
}

// HasProvenance reports whether Kosli knows where the artifact came from.
// Without a flow and a commit an artifact cannot be promoted.
func (a Artifact) HasProvenance() bool {
	return !blank(a.Flow) && !blank(a.CommitURL)
}

// blank reports whether s is empty or only white space, without TrimSpace's
// cost on the common case of a name that starts with a letter.
func blank(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; c > ' ' && c < 0x80 {
		return false
	}
	return strings.TrimSpace(s) == ""
}

// Timestamp is Unix seconds that decodes from an integer, a float or null.
type Timestamp int64

// UnmarshalJSON accepts 1740904271, 1740904271.5 and null.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = 0
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("most_recent_timestamp: want seconds, got %.40s", b)
	}
	*t = Timestamp(int64(f))
	return nil
}

// ErrMalformedDiff is wrapped by every DecodeDiff error.
var ErrMalformedDiff = errors.New("malformed environment diff")

// DecodeDiff reads one diff document and checks that every key the planner
// relies on is present: a diff missing "snappish2" is an error, not an empty plan.
func DecodeDiff(r io.Reader) (Diff, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Diff{}, fmt.Errorf("%w: %v", ErrMalformedDiff, err)
	}
	return ParseDiff(data)
}

// ParseDiff is DecodeDiff for bytes already in memory. The strings of the
// result share one copy of data.
func ParseDiff(data []byte) (Diff, error) { return ParseDiffString(string(data)) }

// ParseDiffString is ParseDiff without the copy: the strings of the result
// are slices of data.
func ParseDiffString(data string) (Diff, error) {
	trimmed := strings.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return Diff{}, fmt.Errorf("%w: empty input", ErrMalformedDiff)
	}
	if trimmed[0] != '{' {
		return Diff{}, fmt.Errorf("%w: want a JSON object, got %s", ErrMalformedDiff, describeStart(trimmed))
	}
	parts, err := scanDiff(data)
	if err != nil {
		return Diff{}, fmt.Errorf("%w: %v", ErrMalformedDiff, err)
	}
	names := [4]string{"snappish1", "snappish2", "changed", "not-changed"}
	var missing []string
	for i, p := range parts {
		if !p.present {
			missing = append(missing, `"`+names[i]+`"`)
		}
	}
	if len(missing) > 0 {
		return Diff{}, fmt.Errorf("%w: missing key %s", ErrMalformedDiff, strings.Join(missing, ", "))
	}
	for i, p := range parts {
		if i < 2 && !p.idSet {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q", ErrMalformedDiff, "snapshot_id", names[i])
		}
		if !p.artifactsSet {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q (or null)", ErrMalformedDiff, "artifacts", names[i])
		}
	}
	d := Diff{
		Source:     Side{SnapshotID: parts[0].id, Artifacts: parts[0].artifacts},
		Target:     Side{SnapshotID: parts[1].id, Artifacts: parts[1].artifacts},
		Changed:    Group{Artifacts: parts[2].artifacts},
		NotChanged: Group{Artifacts: parts[3].artifacts},
	}
	if err := d.validate(); err != nil {
		return Diff{}, err
	}
	return d, nil
}

func (d Diff) validate() error {
	for _, g := range []struct {
		name string
		arts []Artifact
	}{{"snappish1", d.Source.Artifacts}, {"snappish2", d.Target.Artifacts}, {"changed", d.Changed.Artifacts}, {"not-changed", d.NotChanged.Artifacts}} {
		for i, a := range g.arts {
			if a.Fingerprint == "" {
				return fmt.Errorf("%w: %s.artifacts[%d] has no fingerprint", ErrMalformedDiff, g.name, i)
			}
		}
	}
	return nil
}

func describeStart(data string) string {
	switch data[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '<':
		return "what looks like HTML"
	}
	return fmt.Sprintf("%q", data[:min(len(data), 20)])
}

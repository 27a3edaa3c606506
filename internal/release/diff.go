// Package release is the domain of release-bot: it turns an environment diff
// into a plan of promotions, freezes a plan into a manifest, and decides who
// may approve what. It does no I/O; adapters bring data in and carry results out.
package release

import (
	"bytes"
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
	return strings.TrimSpace(a.Flow) != "" && strings.TrimSpace(a.CommitURL) != ""
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

// ParseDiff is DecodeDiff for bytes already in memory.
func ParseDiff(data []byte) (Diff, error) {
	var probe struct {
		Source     *rawSide  `json:"snappish1"`
		Target     *rawSide  `json:"snappish2"`
		Changed    *rawGroup `json:"changed"`
		NotChanged *rawGroup `json:"not-changed"`
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return Diff{}, fmt.Errorf("%w: empty input", ErrMalformedDiff)
	}
	if data[0] != '{' {
		return Diff{}, fmt.Errorf("%w: want a JSON object, got %s", ErrMalformedDiff, describeStart(data))
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Diff{}, fmt.Errorf("%w: %s", ErrMalformedDiff, jsonProblem(err))
	}
	var missing []string
	for _, k := range []struct {
		name string
		ok   bool
	}{
		{"snappish1", probe.Source != nil}, {"snappish2", probe.Target != nil},
		{"changed", probe.Changed != nil}, {"not-changed", probe.NotChanged != nil},
	} {
		if !k.ok {
			missing = append(missing, `"`+k.name+`"`)
		}
	}
	if len(missing) > 0 {
		return Diff{}, fmt.Errorf("%w: missing key %s", ErrMalformedDiff, strings.Join(missing, ", "))
	}
	for _, s := range []struct {
		name string
		side *rawSide
	}{{"snappish1", probe.Source}, {"snappish2", probe.Target}} {
		if s.side.SnapshotID == nil {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q", ErrMalformedDiff, "snapshot_id", s.name)
		}
		if s.side.Artifacts == nil {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q", ErrMalformedDiff, "artifacts", s.name)
		}
	}
	for _, g := range []struct {
		name  string
		group *rawGroup
	}{{"changed", probe.Changed}, {"not-changed", probe.NotChanged}} {
		if g.group.Artifacts == nil {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q", ErrMalformedDiff, "artifacts", g.name)
		}
	}
	d := Diff{
		Source:     Side{SnapshotID: *probe.Source.SnapshotID, Artifacts: *probe.Source.Artifacts},
		Target:     Side{SnapshotID: *probe.Target.SnapshotID, Artifacts: *probe.Target.Artifacts},
		Changed:    Group{Artifacts: *probe.Changed.Artifacts},
		NotChanged: Group{Artifacts: *probe.NotChanged.Artifacts},
	}
	if err := d.validate(); err != nil {
		return Diff{}, err
	}
	return d, nil
}

type rawSide struct {
	SnapshotID *string     `json:"snapshot_id"`
	Artifacts  *[]Artifact `json:"artifacts"`
}

type rawGroup struct {
	Artifacts *[]Artifact `json:"artifacts"`
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

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "document"
		}
		return fmt.Sprintf("%s: want %s, got JSON %s", field, typ.Type, typ.Value)
	}
	return err.Error()
}

func describeStart(data []byte) string {
	switch data[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '<':
		return "what looks like HTML"
	}
	return fmt.Sprintf("%q", string(data[:min(len(data), 20)]))
}

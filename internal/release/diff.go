// Package release is the domain of release-bot: it turns an environment diff
// into a plan of promotions, freezes a plan into a manifest, and decides who
// may approve what. It does no I/O; adapters bring data in and carry results out.
package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// UnmarshalJSON accepts 1740904271, 1740904271.5 and null. b is one valid
// JSON value, so a number's text is one strconv.ParseFloat accepts.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = 0
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("most_recent_timestamp: want seconds, got %.40s", b)
	}
	*t = Timestamp(int64(f))
	return nil
}

// UnmarshalJSONFrom is UnmarshalJSON in the interface json/v2 prefers.
func (t *Timestamp) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return t.UnmarshalJSON(v)
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

// rawSide and rawGroup tell an absent or null key (nil) from an empty one.
type rawSide struct {
	SnapshotID *string     `json:"snapshot_id"`
	Artifacts  *[]Artifact `json:"artifacts"`
}

type rawGroup struct {
	Artifacts *[]Artifact `json:"artifacts"`
}

// ParseDiff is DecodeDiff for bytes already in memory.
func ParseDiff(data []byte) (Diff, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return Diff{}, fmt.Errorf("%w: empty input", ErrMalformedDiff)
	}
	if trimmed[0] != '{' {
		return Diff{}, fmt.Errorf("%w: want a JSON object, got %s", ErrMalformedDiff, describeStart(trimmed))
	}
	var raw struct {
		Source     *rawSide  `json:"snappish1"`
		Target     *rawSide  `json:"snappish2"`
		Changed    *rawGroup `json:"changed"`
		NotChanged *rawGroup `json:"not-changed"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		// A wrong type can be met before the input turns out not to be
		// JSON at all (cut short, say): the latter is what to report.
		var syntax *jsontext.SyntacticError
		if errors.As(err, &syntax) {
			return Diff{}, fmt.Errorf("%w: invalid JSON: %v", ErrMalformedDiff, err)
		}
		if serr := jsontext.NewDecoder(bytes.NewReader(data)).SkipValue(); serr != nil {
			return Diff{}, fmt.Errorf("%w: invalid JSON: %v", ErrMalformedDiff, serr)
		}
		return Diff{}, fmt.Errorf("%w: %v", ErrMalformedDiff, err)
	}
	names := [4]string{"snappish1", "snappish2", "changed", "not-changed"}
	var missing []string
	for i, present := range []bool{raw.Source != nil, raw.Target != nil, raw.Changed != nil, raw.NotChanged != nil} {
		if !present {
			missing = append(missing, `"`+names[i]+`"`)
		}
	}
	if len(missing) > 0 {
		return Diff{}, fmt.Errorf("%w: missing key %s", ErrMalformedDiff, strings.Join(missing, ", "))
	}
	for i, s := range []*rawSide{raw.Source, raw.Target} {
		if s.SnapshotID == nil {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q", ErrMalformedDiff, "snapshot_id", names[i])
		}
	}
	for i, a := range []*[]Artifact{raw.Source.Artifacts, raw.Target.Artifacts, raw.Changed.Artifacts, raw.NotChanged.Artifacts} {
		if a == nil {
			return Diff{}, fmt.Errorf("%w: missing key %q in %q (or null)", ErrMalformedDiff, "artifacts", names[i])
		}
	}
	d := Diff{
		Source:     Side{SnapshotID: *raw.Source.SnapshotID, Artifacts: *raw.Source.Artifacts},
		Target:     Side{SnapshotID: *raw.Target.SnapshotID, Artifacts: *raw.Target.Artifacts},
		Changed:    Group{Artifacts: *raw.Changed.Artifacts},
		NotChanged: Group{Artifacts: *raw.NotChanged.Artifacts},
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

func describeStart(data []byte) string {
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

package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MatrixStyle is how the promotions input describes each artifact.
type MatrixStyle string

// Matrix styles, as the pipeline configuration spells them.
const (
	// MatrixDefault sends what a deploy needs per artifact: see schema/promotion.schema.json.
	MatrixDefault MatrixStyle = "default"
	// MatrixCyberDojo sends the 19-key items of `bot plan --output matrix`, so
	// that a workflow written for cyber-dojo's promotion script works unchanged.
	MatrixCyberDojo MatrixStyle = "cyber-dojo"
)

// GitHub's limits on a workflow_dispatch and the matrix it feeds.
const (
	MaxWorkflowInputs     = 25
	MaxWorkflowInputsSize = 65535
	MaxMatrixLegs         = 256
)

// TooLargeError.Reason values: which of GitHub's limits a release exceeds.
const (
	TooManyLegs   = "matrix legs"
	TooManyInputs = "inputs"
	InputsTooLong = "inputs size"
)

// TooLargeError says a release cannot be dispatched as one workflow run.
// It is found at propose time so that an approved release never fails at
// dispatch; its text tells the proposer what to do.
type TooLargeError struct {
	// Reason is TooManyLegs, TooManyInputs or InputsTooLong.
	Reason string
	// Size is what the release needs; Limit is what GitHub accepts.
	Size, Limit int
}

// Error says which limit the release exceeds and what to do, for the proposer.
func (e *TooLargeError) Error() string {
	switch e.Reason {
	case TooManyLegs:
		return fmt.Sprintf("this release has %s artifacts; a GitHub matrix runs at most %s — propose fewer services",
			thousands(e.Size), thousands(e.Limit))
	case InputsTooLong:
		return fmt.Sprintf("this release's workflow inputs take %s characters; GitHub accepts at most %s — propose fewer services",
			thousands(e.Size), thousands(e.Limit))
	}
	return fmt.Sprintf("this release needs %s workflow inputs; GitHub accepts at most %s",
		thousands(e.Size), thousands(e.Limit))
}

// DefaultPromotion is one item of the promotions input in the default style:
// one leg of the deploy matrix. Every value is a string.
type DefaultPromotion struct {
	Service string `json:"service"`
	// Image is the artifact's uri: the image by digest.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	// Commit is the commit sha, "" when unknown.
	Commit     string `json:"commit"`
	CompareURL string `json:"compare_url"`
	// OutgoingDigest is the digest being replaced, "" for a new service.
	OutgoingDigest string `json:"outgoing_digest"`
}

// WorkflowInputs is what dispatching a sealed manifest sends to its
// promotion workflow: release_id, manifest_digest, and promotions, a compact
// JSON array for strategy.matrix.include in the given style. The cyber-dojo
// style is built from the plan the manifest was made from (p may be nil for
// the default style). A release beyond GitHub's limits gets a *TooLargeError.
func WorkflowInputs(m *Manifest, p *Plan, style MatrixStyle) (map[string]string, error) {
	if m == nil || m.SealedDigest == "" {
		return nil, errors.New("workflow inputs: the manifest is not sealed")
	}
	if n := len(m.Artifacts); n > MaxMatrixLegs {
		return nil, &TooLargeError{Reason: TooManyLegs, Size: n, Limit: MaxMatrixLegs}
	}
	var promotions []byte
	switch style {
	case MatrixDefault:
		items := make([]DefaultPromotion, len(m.Artifacts))
		for i := range m.Artifacts {
			items[i] = defaultPromotion(&m.Artifacts[i])
		}
		promotions = compactJSON(items)
	case MatrixCyberDojo:
		if err := planMatches(m, p); err != nil {
			return nil, fmt.Errorf("workflow inputs: %w", err)
		}
		promotions = AppendMatrix(nil, p.Promotions, false)
	default:
		return nil, fmt.Errorf("workflow inputs: matrix style must be %q or %q, not %q", MatrixDefault, MatrixCyberDojo, style)
	}
	inputs := map[string]string{
		"release_id":      m.ReleaseID,
		"manifest_digest": m.SealedDigest,
		"promotions":      string(promotions),
	}
	if n := len(inputs); n > MaxWorkflowInputs {
		return nil, &TooLargeError{Reason: TooManyInputs, Size: n, Limit: MaxWorkflowInputs}
	}
	if n := InputsSize(inputs); n > MaxWorkflowInputsSize {
		return nil, &TooLargeError{Reason: InputsTooLong, Size: n, Limit: MaxWorkflowInputsSize}
	}
	return inputs, nil
}

func defaultPromotion(a *ManifestArtifact) DefaultPromotion {
	d := DefaultPromotion{
		Service: a.Service, Image: a.URI, Digest: a.Digest,
		Commit: a.Commit.SHA, CompareURL: a.CompareURL,
	}
	if a.Replaces != nil {
		d.OutgoingDigest = a.Replaces.Digest
	}
	return d
}

// planMatches checks that p is the plan m was made from: the same services
// with the same incoming fingerprints, in the same order.
func planMatches(m *Manifest, p *Plan) error {
	if p == nil {
		return errors.New("the cyber-dojo matrix style needs the plan the manifest was made from")
	}
	if len(p.Promotions) != len(m.Artifacts) {
		return fmt.Errorf("the plan has %d promotions, the manifest %d artifacts", len(p.Promotions), len(m.Artifacts))
	}
	for i := range p.Promotions {
		pr, a := &p.Promotions[i], &m.Artifacts[i]
		if pr.Service != a.Service || "sha256:"+pr.Incoming.Fingerprint != a.Digest {
			return fmt.Errorf("the plan's promotion %d (%s %s) is not the manifest's artifact %d (%s %s)",
				i, pr.Service, shortFP(pr.Incoming.Fingerprint), i, a.Service, a.Digest)
		}
	}
	return nil
}

// InputsSize is the length of the inputs object as compact JSON, counted
// the way that gives the largest figure any JSON encoder could produce
// (every non-ASCII character as a \uXXXX escape, HTML characters escaped),
// so that inputs that fit here fit GitHub's 65,535 characters however they
// are sent.
func InputsSize(inputs map[string]string) int {
	data, _ := json.Marshal(inputs) // a map of strings always marshals
	n := 0
	for _, r := range string(data) {
		switch {
		case r < utf8.RuneSelf:
			n++
		case r <= 0xffff:
			n += len(`\u0000`)
		default:
			n += len(`\ud800\udc00`)
		}
	}
	return n
}

// compactJSON marshals v without HTML escaping, as a workflow reads it back.
func compactJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // slices of string-only structs always marshal
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// thousands writes n with comma separators: 65535 → "65,535".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Package schema holds release-bot's JSON Schemas (2020-12) and validates
// documents against them: the release manifest, and one promotion of the
// default workflow matrix. The schemas are embedded, compiled once, and
// assert formats (date-time, uri), so what passes here passes any validator
// that asserts formats.
//
// It validates with its own code, not a general-purpose validator: the one
// we used, github.com/santhosh-tekuri/jsonschema, compiles every draft's
// meta-schema in its package init, which every start of the bot would pay
// for. Our two schemas are fixed and ours, so a small validator for the
// keywords they use is enough; compiling refuses any other keyword, so a
// schema edit cannot silently weaken validation, and a differential test
// against santhosh-tekuri/jsonschema keeps the verdicts and the messages
// honest.
package schema

import (
	"bytes"
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// The schemas' $id, under which they are published.
const (
	ReleaseManifestID = "https://raw.githubusercontent.com/release-bot/release-bot/main/schema/release-manifest.schema.json"
	PromotionID       = "https://raw.githubusercontent.com/release-bot/release-bot/main/schema/promotion.schema.json"
)

var (
	//go:embed release-manifest.schema.json
	releaseManifest []byte
	//go:embed promotion.schema.json
	promotion []byte
)

// ReleaseManifestJSON returns the release manifest schema as written.
func ReleaseManifestJSON() []byte { return bytes.Clone(releaseManifest) }

// PromotionJSON returns the promotion schema as written.
func PromotionJSON() []byte { return bytes.Clone(promotion) }

// Each schema is compiled on first use, so a process that validates nothing
// pays nothing; the compiled tree is read-only and safe for concurrent use.
var (
	compiledReleaseManifest = sync.OnceValues(func() (*node, error) { return compile(ReleaseManifestID, releaseManifest) })
	compiledPromotion       = sync.OnceValues(func() (*node, error) { return compile(PromotionID, promotion) })
)

// ValidateReleaseManifest checks a decoded JSON document (maps, slices,
// strings, json.Number or float64, bools, nil) against the release manifest
// schema. A document that breaks it gets a *ValidationError.
func ValidateReleaseManifest(doc any) error {
	return validate(ReleaseManifestID, compiledReleaseManifest, doc)
}

// ValidatePromotion checks one decoded matrix item against the promotion
// schema. An item that breaks it gets a *ValidationError.
func ValidatePromotion(doc any) error { return validate(PromotionID, compiledPromotion, doc) }

func validate(id string, compiled func() (*node, error), doc any) error {
	root, err := compiled()
	if err != nil {
		return err
	}
	problems := root.check(doc, "", nil)
	if len(problems) == 0 {
		return nil
	}
	slices.SortFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return &ValidationError{Schema: id, Problems: slices.Compact(problems)}
}

// Problem is one way a document breaks a schema.
type Problem struct {
	// Pointer is the JSON pointer (RFC 6901) to the value at fault; "" is the whole document.
	Pointer string
	// Message says what is wrong with it.
	Message string
}

// String is the problem in one line: "/artifacts/0/digest: …".
func (p Problem) String() string {
	ptr := p.Pointer
	if ptr == "" {
		ptr = "(document)"
	}
	return ptr + ": " + p.Message
}

// ValidationError lists every way a document breaks a schema, sorted by
// where in the document each problem is.
type ValidationError struct {
	// Schema is the $id of the schema the document breaks.
	Schema   string
	Problems []Problem
}

// Error lists the problems on one line, each with its JSON pointer.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "does not follow " + e.Schema[strings.LastIndexByte(e.Schema, '/')+1:] + ": " + strings.Join(lines, "; ")
}

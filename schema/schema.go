// Package schema holds release-bot's JSON Schemas (2020-12) and validates
// documents against them: the release manifest, and one promotion of the
// default workflow matrix. The schemas are embedded, compiled once on first
// use by github.com/santhosh-tekuri/jsonschema, and assert formats
// (date-time, uri), so what passes here passes any validator that asserts
// formats.
package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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
// pays nothing; a compiled schema is safe for concurrent use.
var (
	compiledReleaseManifest = sync.OnceValues(func() (*jsonschema.Schema, error) { return compile(ReleaseManifestID, releaseManifest) })
	compiledPromotion       = sync.OnceValues(func() (*jsonschema.Schema, error) { return compile(PromotionID, promotion) })
)

// compile compiles the schema src, published as id, asserting formats.
func compile(id string, src []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", id, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", id, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", id, err)
	}
	return sch, nil
}

// ValidateReleaseManifest checks a decoded JSON document (maps, slices,
// strings, json.Number or float64, bools, nil) against the release manifest
// schema. A document that breaks it gets a *ValidationError.
func ValidateReleaseManifest(doc any) error {
	return validate(ReleaseManifestID, compiledReleaseManifest, doc)
}

// ValidatePromotion checks one decoded matrix item against the promotion
// schema. An item that breaks it gets a *ValidationError.
func ValidatePromotion(doc any) error { return validate(PromotionID, compiledPromotion, doc) }

func validate(id string, compiled func() (*jsonschema.Schema, error), doc any) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var invalid *jsonschema.ValidationError
	if !errors.As(err, &invalid) {
		return err
	}
	problems := leaves(invalid, nil)
	slices.SortFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return &ValidationError{Schema: id, Problems: slices.Compact(problems)}
}

// english prints the library's messages; a Printer is safe for concurrent use.
var english = message.NewPrinter(language.English)

// leaves appends the causes at the bottom of e's tree, each at its JSON
// pointer: the "allOf failed" and "if-then failed" above them say nothing
// a person can act on.
func leaves(e *jsonschema.ValidationError, out []Problem) []Problem {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			out = leaves(c, out)
		}
		return out
	}
	if extra, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		// Listed in map order otherwise: sorted, the message is the same every time.
		slices.Sort(extra.Properties)
	}
	var ptr strings.Builder
	for _, tok := range e.InstanceLocation {
		ptr.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return append(out, Problem{Pointer: ptr.String(), Message: e.ErrorKind.LocalizedString(english)})
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

// Package schema holds release-bot's JSON Schemas (2020-12) and validates
// documents against them: the release manifest, and one promotion of the
// default workflow matrix. The schemas are embedded, compiled once, and
// assert formats (date-time, uri), so what passes here passes any validator
// that asserts formats.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

// compiled holds both schemas, compiled on first use: compiling is the
// expensive part, validating is cheap and safe for concurrent use.
var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, s := range []struct {
		id  string
		src []byte
	}{{ReleaseManifestID, releaseManifest}, {PromotionID, promotion}} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.src))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", s.id, err)
		}
		if err := c.AddResource(s.id, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", s.id, err)
		}
	}
	for _, id := range []string{ReleaseManifestID, PromotionID} {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", id, err)
		}
		out[id] = sch
	}
	return out, nil
})

// ValidateReleaseManifest checks a decoded JSON document (maps, slices,
// strings, json.Number or float64, bools, nil) against the release manifest
// schema. A document that breaks it gets a *ValidationError.
func ValidateReleaseManifest(doc any) error { return validate(ReleaseManifestID, doc) }

// ValidatePromotion checks one decoded matrix item against the promotion
// schema. An item that breaks it gets a *ValidationError.
func ValidatePromotion(doc any) error { return validate(PromotionID, doc) }

func validate(id string, doc any) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	err = schemas[id].Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err
	}
	return &ValidationError{Schema: id, Problems: problems(ve)}
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

// problems flattens the validator's tree of causes into its leaves: the
// inner nodes ("allOf failed", "$ref failed") say nothing a person can act on.
func problems(root *jsonschema.ValidationError) []Problem {
	p := message.NewPrinter(language.English)
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Problem{Pointer: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(p)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(root)
	slices.SortFunc(out, func(a, b Problem) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(out)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointer writes path segments as a JSON pointer, escaping "~" and "/".
func pointer(path []string) string {
	var b strings.Builder
	for _, tok := range path {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(tok))
	}
	return b.String()
}

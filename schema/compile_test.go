package schema

import (
	"strings"
	"testing"
)

func TestEmbeddedSchemasCompile(t *testing.T) {
	for id, src := range map[string][]byte{ReleaseManifestID: releaseManifest, PromotionID: promotion} {
		if _, err := compile(id, src); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

// TestCompileRefusesWhatItDoesNotImplement: a schema edit that uses a
// keyword, format or value the validator does not check fails to compile,
// naming what and where, rather than validating less than it says.
func TestCompileRefusesWhatItDoesNotImplement(t *testing.T) {
	const id = "https://example.com/s.json"
	cases := []struct {
		name, schema, want string
	}{
		{"unknown keyword", `"properties": {"a": {"type": "string", "maxLength": 3}}`,
			`/properties/a/maxLength: keyword "maxLength" not implemented`},
		{"unknown keyword in a definition", `"$defs": {"d": {"enum": ["x"]}}`,
			`/$defs/d/enum: keyword "enum" not implemented`},
		{"unknown keyword in anyOf", `"anyOf": [{"type": "null"}, {"oneOf": []}]`,
			`/anyOf/1/oneOf: keyword "oneOf" not implemented`},
		{"format", `"format": "email"`, `/format: format email not implemented`},
		{"additional properties schema", `"additionalProperties": {"type": "string"}`,
			`/additionalProperties: only false is implemented`},
		{"numeric const", `"const": 3`, `/const: only a string, a boolean or null is implemented`},
		{"remote $ref", `"$ref": "https://example.com/other.json"`, `/$ref: $ref "https://example.com/other.json": only references within the schema`},
		{"dangling $ref", `"$ref": "#/$defs/none"`, `/$ref: $ref "#/$defs/none": no such schema`},
		{"unknown type", `"type": "int"`, `/type: unknown type int`},
		{"bad pattern", `"pattern": "(["`, `/pattern: error parsing regexp`},
		{"negative minLength", `"minLength": -1`, `/minLength: not a non-negative integer`},
		{"then without if", `"then": {"type": "null"}`, `(root): then or else without if`},
		{"$id below the root", `"items": {"$id": "x"}`, `/items/$id: only at the root`},
		{"boolean schema", `"items": true`, `/items: a schema must be an object`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "` + id + `", ` + c.schema + `}`
			_, err := compile(id, []byte(src))
			if err == nil || !strings.Contains(err.Error(), "schema "+id+": "+c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

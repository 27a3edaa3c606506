package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/release-bot/release-bot/schema"
)

func decode(t *testing.T, data []byte) any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSchemasDeclareThemselves(t *testing.T) {
	for id, src := range map[string][]byte{
		schema.ReleaseManifestID: schema.ReleaseManifestJSON(),
		schema.PromotionID:       schema.PromotionJSON(),
	} {
		var s struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		if err := json.Unmarshal(src, &s); err != nil {
			t.Fatal(err)
		}
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.ID != id {
			t.Errorf("%s: $schema %q, $id %q", id, s.Schema, s.ID)
		}
	}
}

// TestEveryFieldDescribedAndClosed walks both schemas: every property has a
// description and every object schema refuses properties it does not name.
func TestEveryFieldDescribedAndClosed(t *testing.T) {
	for name, src := range map[string][]byte{"release manifest": schema.ReleaseManifestJSON(), "promotion": schema.PromotionJSON()} {
		var root map[string]any
		if err := json.Unmarshal(src, &root); err != nil {
			t.Fatal(err)
		}
		var properties, objects int
		var walk func(v any, at string)
		walk = func(v any, at string) {
			switch v := v.(type) {
			case []any:
				for _, e := range v {
					walk(e, at)
				}
			case map[string]any:
				if v["type"] == "object" && v["properties"] != nil {
					objects++
					if v["additionalProperties"] != false {
						t.Errorf("%s %s: object without additionalProperties: false", name, at)
					}
				}
				if props, ok := v["properties"].(map[string]any); ok && at != "if" && at != "then" && at != "else" {
					for p, s := range props {
						properties++
						if d, _ := s.(map[string]any)["description"].(string); d == "" {
							t.Errorf("%s %s.%s: no description", name, at, p)
						}
					}
				}
				for k, e := range v {
					key := k
					if k != "if" && k != "then" && k != "else" {
						key = at + "." + k
					}
					walk(e, key)
				}
			}
		}
		walk(root, "")
		if properties < 6 || objects < 1 {
			t.Errorf("%s: walked %d properties in %d objects: the walk is broken", name, properties, objects)
		}
	}
}

func example(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../internal/release/testdata/manifest/example.json")
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, data).(map[string]any)
}

func TestReleaseManifest(t *testing.T) {
	if err := schema.ValidateReleaseManifest(example(t)); err != nil {
		t.Fatalf("the example manifest: %v", err)
	}
	cases := []struct {
		name   string
		change func(doc map[string]any)
		want   []string // "pointer: start of message"
	}{
		// The pattern allows it; only an asserted date-time format refuses it.
		{"no 30 February", func(doc map[string]any) { doc["createdAt"] = "2025-02-30T08:15:00Z" },
			[]string{"/createdAt: '2025-02-30T08:15:00Z' is not valid date-time"}},
		{"uri format", func(doc map[string]any) { doc["evidence"].(map[string]any)["trailUrl"] = "/relative" },
			[]string{"/evidence/trailUrl: '/relative' is not valid uri"}},
		{"rollbackOf is a release id", func(doc map[string]any) { doc["rollbackOf"] = "prod 1" },
			[]string{"/rollbackOf: 'prod 1' does not match pattern"}},
		{"several, sorted by pointer", func(doc map[string]any) {
			doc["releaseId"] = "-"
			doc["digest"] = "sha256:ABC"
			delete(doc, "pipeline")
		}, []string{
			"(document): missing property 'pipeline'",
			"/digest: 'sha256:ABC' does not match pattern",
			"/releaseId: '-' does not match pattern",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := example(t)
			c.change(doc)
			err := schema.ValidateReleaseManifest(doc)
			var invalid *schema.ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if invalid.Schema != schema.ReleaseManifestID || len(invalid.Problems) != len(c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			for i, p := range invalid.Problems {
				if !strings.HasPrefix(p.String(), c.want[i]) {
					t.Errorf("problem %d: %q, want %q…", i, p, c.want[i])
				}
			}
			if !strings.HasPrefix(err.Error(), "does not follow release-manifest.schema.json: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestPromotion(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"service": "saver", "image": "ghcr.io/o/saver@sha256:" + strings.Repeat("a", 64),
			"digest": "sha256:" + strings.Repeat("a", 64), "commit": "abcdef1",
			"compare_url": "https://github.com/o/saver/commit/abcdef1", "outgoing_digest": "",
		}
	}
	if err := schema.ValidatePromotion(good()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(p map[string]any)
		want   []string
	}{
		{"tag, not digest", func(p map[string]any) { p["image"] = "ghcr.io/o/saver:latest" }, []string{"/image"}},
		{"not a string", func(p map[string]any) { p["commit"] = json.Number("1234567") }, []string{"/commit"}},
		{"missing", func(p map[string]any) { delete(p, "outgoing_digest") }, []string{""}},
		{"extra", func(p map[string]any) { p["replicas"] = "3" }, []string{""}},
		{"outgoing digest", func(p map[string]any) { p["outgoing_digest"] = "sha256:" }, []string{"/outgoing_digest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good()
			c.change(p)
			var invalid *schema.ValidationError
			if err := schema.ValidatePromotion(p); !errors.As(err, &invalid) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			var got []string
			for _, pr := range invalid.Problems {
				got = append(got, pr.Pointer)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("problems at %q, want %q: %v", got, c.want, invalid)
			}
		})
	}
}

package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Our validator is checked against santhosh-tekuri/jsonschema, a complete
// 2020-12 implementation that asserts formats: on every document below, both
// give the same verdict, problems at the same JSON pointers and the same
// messages. The one accepted difference: we list additional properties in
// sorted order, santhosh in map order.

// compileReference compiles src, published as id, with santhosh-tekuri/jsonschema.
func compileReference(id string, src []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
}

var (
	referenceReleaseManifest = sync.OnceValues(func() (*jsonschema.Schema, error) { return compileReference(ReleaseManifestID, releaseManifest) })
	referencePromotion       = sync.OnceValues(func() (*jsonschema.Schema, error) { return compileReference(PromotionID, promotion) })
)

// agree fails the test unless our validator and santhosh's agree on doc
// against the embedded schema id.
func agree(t testing.TB, name, id string, doc any) {
	t.Helper()
	ours, theirs := compiledReleaseManifest, referenceReleaseManifest
	if id == PromotionID {
		ours, theirs = compiledPromotion, referencePromotion
	}
	reference, err := theirs()
	if err != nil {
		t.Fatal(err)
	}
	agreeWith(t, name, id, ours, reference, doc)
}

// agreeWith compares the problems ours and theirs find in doc.
func agreeWith(t testing.TB, name, id string, ours func() (*node, error), theirs *jsonschema.Schema, doc any) {
	t.Helper()
	var got []Problem
	if err := validate(id, ours, doc); err != nil {
		var invalid *ValidationError
		if !errors.As(err, &invalid) {
			t.Fatalf("%s: %v", name, err)
		}
		got = invalid.Problems
	}
	if g, w := normalized(got), normalized(referenceProblems(t, theirs, doc)); !slices.Equal(g, w) {
		t.Errorf("%s:\n ours:     %q\n santhosh: %q", name, g, w)
	}
}

// referenceProblems is santhosh's verdict as our problems: the leaves of
// its tree of causes, at their instance locations.
func referenceProblems(t testing.TB, sch *jsonschema.Schema, doc any) []Problem {
	t.Helper()
	err := sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("santhosh: %v", err)
	}
	p := message.NewPrinter(language.English)
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			var ptr strings.Builder
			for _, tok := range e.InstanceLocation {
				ptr.WriteString("/" + escape(tok))
			}
			out = append(out, Problem{Pointer: ptr.String(), Message: e.ErrorKind.LocalizedString(p)})
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// normalized writes problems so that ours and santhosh's can be compared:
// sorted, each once, with additional properties listed in sorted order.
func normalized(problems []Problem) []string {
	var out []string
	for _, p := range problems {
		msg := p.Message
		if names, ok := strings.CutPrefix(msg, "additional properties "); ok {
			list := strings.Split(strings.TrimSuffix(names, " not allowed"), ", ")
			slices.Sort(list)
			msg = "additional properties " + strings.Join(list, ", ") + " not allowed"
		}
		out = append(out, p.Pointer+": "+msg)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// path locates a value in a document: object names and array indices.
type path []any

func (p path) String() string {
	var b strings.Builder
	for _, tok := range p {
		fmt.Fprintf(&b, "/%v", tok)
	}
	return b.String()
}

// paths lists the path of every value in v, v's own first.
func paths(v any, at path) []path {
	out := []path{at}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, paths(v[k], append(slices.Clone(at), k))...)
		}
	case []any:
		for i, e := range v {
			out = append(out, paths(e, append(slices.Clone(at), i))...)
		}
	}
	return out
}

// change returns a copy of v whose value at p is f of it, or without that
// value when f says not to keep it. v itself is left alone.
func change(v any, p path, f func(any) (any, bool)) (any, bool) {
	if len(p) == 0 {
		return f(v)
	}
	switch v := v.(type) {
	case map[string]any:
		out, k := maps.Clone(v), p[0].(string)
		if e, keep := change(v[k], p[1:], f); keep {
			out[k] = e
		} else {
			delete(out, k)
		}
		return out, true
	case []any:
		out, i := slices.Clone(v), p[0].(int)
		if e, keep := change(v[i], p[1:], f); keep {
			out[i] = e
		} else {
			out = slices.Delete(out, i, i+1)
		}
		return out, true
	}
	panic(fmt.Sprintf("no %v in %T", p, v))
}

func set(doc any, p path, value any) any {
	out, _ := change(doc, p, func(any) (any, bool) { return value, true })
	return out
}

var (
	hex64     = strings.Repeat("a", 64)
	dateTimes = []string{
		"2025-03-02T08:15:00Z", "2025-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2025-02-30T08:15:00Z",
		"2025-04-31T00:00:00Z", "2025-12-31T23:59:60Z", "2025-12-31T22:59:60-01:00", "2025-12-31T23:59:60+01:00",
		"2025-03-02T00:59:60+01:00", "2025-03-02t08:15:00z", "2025-03-02T08:15:00.123Z", "2025-03-02T08:15:00.Z",
		"2025-03-02T24:00:00Z", "2025-03-02T08:60:00Z", "2025-03-02T08:15:61Z", "2025-03-02T08:15:00+0100",
		"2025-03-02T08:15:00+24:00", "2025-03-02T08:15:00+01:60", "2025-03-02T08:15:00*01:00", "2025-03-02 08:15:00Z",
		"2025-3-02T08:15:00Z", "2025-03-02T+8:15:00Z", "2025-03-02T08:15:00", "2025-03-02T08:15:00+-1:00",
		"2025-03-02T08-15:00Z", "0000-01-01T00:00:00Z", "2025-13-01T00:00:00Z", "2025-03-02T08:15:00.5+01:00",
		"2025-03-02T08:15:00+01::0", "2025-03-02T-1:15:00Z", "2025-03-02T08:-1:00Z", "2025-03-02T08:15:-1Z",
		"2025-03-02T08:15:00Zjunk", "2025-03-02T08:15:00+01:0a", "2025-03-02T08:1é:00Z",
	}
	uris = []string{
		"https://app.kosli.com/x", "/relative", "relative", "mailto:a@b", "urn:isbn:1", "https://[::1]/",
		"https://[fe80::1%25eth0]/", "https://::1/", "http://[::1", "http://exa mple.com", "https://example.com/%zz",
		"HTTPS://X", ":nope", "a:b", "https://example.com:port/", "git+ssh://x", "https://[1.2.3.4]/", "https://[::g]/",
		"http://[::1]:80/", "https://a b", "ht tp://x", "1http://x", "https://x/\x7f", "#frag", "//host/path",
	}
	// values replace every value of a document in turn: every JSON type,
	// and strings that break or pass our patterns, formats and lengths.
	values = []any{
		nil, true, false, json.Number("1"), json.Number("1.5"), json.Number("-0"), 2.0, int(3), math.NaN(),
		"", " ", "x", "-", "ü", []any{}, []any{"x"}, []any{nil}, map[string]any{}, map[string]any{"x": "y"},
		"sha256:ABC", "sha256:" + hex64, "sha256:" + hex64 + "\n", "r/x@sha256:" + hex64, "r/x:tag",
		"abcdef1", "ABCDEF1", "abcde", "1.0.0", "1.2.3\n", "U0123ABCDEF", "U0", "docker-image", "prod", "aws-beta#1",
		"2025-03-02T08:15:00Z", "2025-02-30T08:15:00Z", "/relative", "https://example.com/x",
	}
)

// mutations yields doc changed in one place at a time: each value deleted,
// replaced by each of values, and each object given an unknown name.
func mutations(doc any, yield func(name string, doc any)) {
	for _, p := range paths(doc, nil) {
		if len(p) > 0 {
			d, _ := change(doc, p, func(any) (any, bool) { return nil, false })
			yield("delete "+p.String(), d)
		}
		for _, v := range values {
			yield(fmt.Sprintf("%s = %#v", p, v), set(doc, p, v))
		}
		d, _ := change(doc, p, func(v any) (any, bool) {
			if obj, ok := v.(map[string]any); ok {
				obj = maps.Clone(obj)
				obj["unexpected"] = "x"
				return obj, true
			}
			return v, true
		})
		yield("unknown name in "+p.String(), d)
	}
}

func exampleManifest(t testing.TB) any {
	data, err := os.ReadFile("../internal/release/testdata/manifest/example.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestReleaseManifestAgreesWithReference(t *testing.T) {
	example := exampleManifest(t)
	n := 0
	check := func(name string, doc any) { n++; agree(t, name, ReleaseManifestID, doc) }
	check("example", example)
	mutations(example, check)
	for _, s := range dateTimes {
		check("createdAt "+s, set(example, path{"createdAt"}, s))
	}
	for _, s := range uris {
		for _, p := range []path{{"evidence", "trailUrl"}, {"source", "snapshotUrl"}, {"artifacts", 1, "commit", "repoUrl"}, {"artifacts", 2, "snapshotUrl"}} {
			check(fmt.Sprintf("%s = %s", p, s), set(example, p, s))
		}
	}
	// if newService then replaces is null, else an object.
	replaced := example.(map[string]any)["artifacts"].([]any)[0].(map[string]any)["replaces"]
	for _, newService := range []any{true, false, "true", nil, "(absent)"} {
		for _, replaces := range []any{nil, replaced, map[string]any{}, "x", "(absent)"} {
			doc := example
			for field, v := range map[string]any{"newService": newService, "replaces": replaces} {
				doc, _ = change(doc, path{"artifacts", 0, field}, func(any) (any, bool) { return v, v != "(absent)" })
			}
			check(fmt.Sprintf("newService %v, replaces %v", newService, replaces), doc)
		}
	}
	check("no artifacts", set(example, path{"artifacts"}, []any{}))
	check("not an object", []any{example})
	check("nothing", map[string]any{})
	t.Logf("%d documents", n)
}

func TestPromotionAgreesWithReference(t *testing.T) {
	good := map[string]any{
		"service": "saver", "image": "ghcr.io/o/saver@sha256:" + hex64, "digest": "sha256:" + hex64,
		"commit": "abcdef1", "compare_url": "https://github.com/o/saver/commit/abcdef1", "outgoing_digest": "",
	}
	n := 0
	check := func(name string, doc any) { n++; agree(t, name, PromotionID, doc) }
	check("good", good)
	mutations(good, check)
	check("nothing", map[string]any{})
	check("a list", []any{good})
	t.Logf("%d documents", n)
}

// TestKeywordsAgreeWithReference covers what the validator implements but
// our two schemas do not use today: integer, type lists, a null or boolean
// const, minLength in code points, and a schema that refers to itself.
func TestKeywordsAgreeWithReference(t *testing.T) {
	const id = "https://example.com/keywords.json"
	src := []byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "` + id + `",
		"type": "object", "additionalProperties": false, "required": ["i", "s"],
		"properties": {
			"i": {"type": "integer"},
			"s": {"type": ["string", "null"], "minLength": 2, "pattern": "b"},
			"n": {"const": null}, "f": {"anyOf": [{"const": false}, {"type": "array", "minItems": 2}]},
			"tree": {"$ref": "#/$defs/tree"}
		},
		"$defs": {"tree": {"type": "object", "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}}}
	}`)
	ours := sync.OnceValues(func() (*node, error) { return compile(id, src) })
	theirs, err := compileReference(id, src)
	if err != nil {
		t.Fatal(err)
	}
	docs := []any{
		map[string]any{"i": json.Number("1"), "s": "ab"},
		map[string]any{"i": json.Number("1.0"), "s": nil},
		map[string]any{"i": json.Number("1e2"), "s": "üb"},
		map[string]any{"i": json.Number("1.5"), "s": "ü"},
		map[string]any{"i": 2.0, "s": "b"},
		map[string]any{"i": 2.5, "s": json.Number("2")},
		map[string]any{"i": int(3), "s": "bb", "n": nil, "f": false},
		map[string]any{"i": "1", "s": "xx", "n": false, "f": true},
		map[string]any{"i": nil, "n": "", "f": []any{}},
		map[string]any{"f": []any{1, 2}, "x/y~": 1, "a": 2},
		map[string]any{"i": json.Number("0"), "s": "bb", "tree": map[string]any{"label": "a", "children": []any{
			map[string]any{"label": "b", "children": []any{map[string]any{"label": 3}, "leaf"}},
		}}},
		[]any{}, "x", json.Number("1"), nil,
	}
	for i, doc := range docs {
		agreeWith(t, fmt.Sprintf("doc %d", i), id, ours, theirs, doc)
	}
}

// FuzzValidateAgainstReference: whatever JSON the fuzzer makes of the
// example manifest or a promotion, our validator agrees with santhosh's.
func FuzzValidateAgainstReference(f *testing.F) {
	example, err := os.ReadFile("../internal/release/testdata/manifest/example.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(`{"service": "saver", "image": "ghcr.io/o/saver@sha256:` + hex64 + `", "digest": "sha256:` + hex64 +
		`", "commit": "abcdef1", "compare_url": "https://github.com/o/saver/commit/abcdef1", "outgoing_digest": ""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		agree(t, "manifest", ReleaseManifestID, doc)
		agree(t, "promotion", PromotionID, doc)
	})
}

package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every document below is the example manifest (or a good promotion)
// changed in one place, and its verdict, each problem with its JSON
// pointer, is kept in testdata/*.verdicts: a schema edit that lets a
// broken document pass, or refuses a good one, changes a verdict and fails
// here. After an intended edit, rewrite them with -update and read the diff.

var update = flag.Bool("update", false, "rewrite testdata/*.verdicts")

// verdicts collects one line per document: its name, then "ok" or each problem.
type verdicts struct{ lines []string }

func (v *verdicts) add(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		v.lines = append(v.lines, name+"\n\tok")
		return
	}
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("%s: %v", name, err)
	}
	line := name
	for _, p := range invalid.Problems {
		line += "\n\t" + p.String()
	}
	v.lines = append(v.lines, line)
}

func (v *verdicts) compare(t *testing.T, file string) {
	t.Helper()
	got := strings.Join(v.lines, "\n") + "\n"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Fatalf("%s differs at line %d (%d documents):\n got  %q\n want %q\n(rerun with -update after an intended schema change)", file, i+1, len(v.lines), g[i], w[i])
		}
	}
	t.Fatalf("%s: %d lines, want %d (rerun with -update after an intended schema change)", file, len(g), len(w))
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

func TestReleaseManifestVerdicts(t *testing.T) {
	example := exampleManifest(t)
	v := &verdicts{}
	check := func(name string, doc any) { v.add(t, name, ValidateReleaseManifest(doc)) }
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
	v.compare(t, "testdata/release-manifest.verdicts")
}

func TestPromotionVerdicts(t *testing.T) {
	good := map[string]any{
		"service": "saver", "image": "ghcr.io/o/saver@sha256:" + hex64, "digest": "sha256:" + hex64,
		"commit": "abcdef1", "compare_url": "https://github.com/o/saver/commit/abcdef1", "outgoing_digest": "",
	}
	v := &verdicts{}
	check := func(name string, doc any) { v.add(t, name, ValidatePromotion(doc)) }
	check("good", good)
	mutations(good, check)
	check("nothing", map[string]any{})
	check("a list", []any{good})
	v.compare(t, "testdata/promotion.verdicts")
}

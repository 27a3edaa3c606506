package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/release-bot/release-bot/schema"
)

var update = flag.Bool("update", false, "rewrite the example manifests in testdata/manifest")

const (
	exampleManifest  = "testdata/manifest/example.json"
	tamperedManifest = "testdata/manifest/tampered.json"
)

var exampleLinks = Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}

// exampleMeta is the proposal of the example manifest.
func exampleMeta() ManifestMeta {
	return ManifestMeta{
		ReleaseID: "prod-2025-03-02-1", Pipeline: "prod",
		CreatedAt:  time.Date(2025, 3, 2, 9, 15, 0, 0, time.FixedZone("CET", 3600)),
		ProposerID: "U024BE7LH", ProposerName: "Ada Lovelace",
		Evidence: Evidence{Flow: "production-promotion", Trail: "prod-2025-03-02-1",
			URL: exampleLinks.Trail("production-promotion", "prod-2025-03-02-1")},
	}
}

// fixturePlan plans a cyber-dojo conformance fixture.
func fixturePlan(t *testing.T, name string) *Plan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/cyber-dojo-promotions/diff-snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	p := Compute(&d, PlanOptions{Links: exampleLinks, Now: time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)})
	return &p
}

// mustValidate checks a manifest against the schema with the real
// validator, decoding its JSON the validator's own way rather than ours.
func mustValidate(t *testing.T, m *Manifest) []byte {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateReleaseManifest(doc); err != nil {
		t.Fatalf("the manifest breaks the schema: %v\n%s", err, data)
	}
	return data
}

// TestExampleManifest builds the example manifest from cyber-dojo fixture 4
// and compares it byte for byte with testdata (go test -update rewrites it
// and its tampered copy).
func TestExampleManifest(t *testing.T) {
	m, err := NewManifest(fixturePlan(t, "4.json"), exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	got := mustValidate(t, m)
	tampered := tamper(t, got)
	if *update {
		for name, data := range map[string][]byte{exampleManifest: got, tamperedManifest: tampered} {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := os.ReadFile(exampleManifest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the example manifest changed (go test -update rewrites it):\n%s", got)
	}
	if want, _ := os.ReadFile(tamperedManifest); !bytes.Equal(tampered, want) {
		t.Fatalf("%s is not the example with one artifact digest changed (go test -update rewrites it)", tamperedManifest)
	}

	// What the fixture says, spelled out once beside the golden file.
	if m.CreatedAt.Format(time.RFC3339) != "2025-03-02T08:15:00Z" {
		t.Errorf("createdAt %s, want UTC", m.CreatedAt.Format(time.RFC3339))
	}
	if m.Source != (EnvironmentSnapshot{"aws-beta", "aws-beta#4754", "https://app.kosli.com/cyber-dojo/environments/aws-beta/snapshots/4754"}) ||
		m.Target != (EnvironmentSnapshot{"aws-prod", "aws-prod#3548", "https://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/3548"}) {
		t.Errorf("environments %+v → %+v", m.Source, m.Target)
	}
	const fp = "0fd1eae4a2ab75d4d08106f86af3945a9e95b60693a4b9e4e44b59cc5887fdd1"
	nginx := m.Artifacts[0]
	if len(m.Artifacts) != 4 || nginx.Service != "nginx" || nginx.Type != "docker-image" ||
		nginx.Digest != "sha256:"+fp ||
		nginx.URI != "244531986313.dkr.ecr.eu-central-1.amazonaws.com/nginx@sha256:"+fp ||
		nginx.Replaces == nil || nginx.Replaces.CommitSHA != "e92d83d1bf0b1de46205d5e19131f1cee2b6b3da" || nginx.NewService {
		t.Errorf("artifacts %+v", m.Artifacts)
	}

	v, err := VerifyManifest(want)
	if err != nil {
		t.Fatal(err)
	}
	if v.SealedDigest != m.SealedDigest || v.ReleaseID != "prod-2025-03-02-1" {
		t.Errorf("verified %s %s, want %s", v.ReleaseID, v.SealedDigest, m.SealedDigest)
	}
}

// tamper changes the first artifact's digest after sealing, as someone
// editing the file by hand would, and nothing else.
func tamper(t *testing.T, sealed []byte) []byte {
	t.Helper()
	const old = `"digest": "sha256:0fd1eae4a2ab75d4d08106f86af3945a9e95b60693a4b9e4e44b59cc5887fdd1"`
	if bytes.Count(sealed, []byte(old)) != 1 {
		t.Fatalf("the example has no single %s", old)
	}
	return bytes.Replace(sealed, []byte(old), []byte(`"digest": "sha256:`+strings.Repeat("e", 64)+`"`), 1)
}

func TestVerifyTamperedManifest(t *testing.T) {
	example, _ := os.ReadFile(exampleManifest)
	data, err := os.ReadFile(tamperedManifest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := lineDiff(example, data); diff != 1 {
		t.Fatalf("the tampered copy differs from the example in %d lines, want 1", diff)
	}
	if _, err := ParseManifest(data); err != nil {
		t.Fatalf("a tampered manifest still parses: %v", err)
	}
	_, err = VerifyManifest(data)
	var mismatch *DigestMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("got %v, want a digest mismatch", err)
	}
	good, _ := VerifyManifest(example)
	if mismatch.Sealed != good.SealedDigest || mismatch.Content == good.SealedDigest || !strings.HasPrefix(mismatch.Content, "sha256:") {
		t.Errorf("mismatch %+v", mismatch)
	}
	want := "digest mismatch: file says " + good.SealedDigest + ", content hashes to " + mismatch.Content
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func lineDiff(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(la) != len(lb) {
		return -1
	}
	n := 0
	for i := range la {
		if la[i] != lb[i] {
			n++
		}
	}
	return n
}

// TestDigestIgnoresLayout: the digest is of the content, so re-indenting or
// reordering the keys of a sealed manifest keeps it valid.
func TestDigestIgnoresLayout(t *testing.T) {
	example, _ := os.ReadFile(exampleManifest)
	var compact bytes.Buffer
	if err := json.Compact(&compact, example); err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(example, &generic); err != nil {
		t.Fatal(err)
	}
	sortedKeys, _ := json.MarshalIndent(generic, "", "\t") // Go sorts map keys: another order than the struct's
	for name, data := range map[string][]byte{"compact": compact.Bytes(), "keys sorted, tabs": sortedKeys} {
		if bytes.Equal(data, example) {
			t.Fatalf("%s: same bytes as the example", name)
		}
		if _, err := VerifyManifest(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDigestKnownAnswer pins the canonical form by hand: keys sorted, no
// white space, and strings as RFC 8785 writes them (HTML characters,
// non-ASCII and U+2028 as they are; control characters escaped).
func TestDigestKnownAnswer(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	m := &Manifest{
		SchemaVersion: "1.0.0", ReleaseID: "r-1", Pipeline: "prod",
		Source:    EnvironmentSnapshot{"beta", "beta#1", "https://k/o/environments/beta/snapshots/1"},
		Target:    EnvironmentSnapshot{"prod", "prod#2", "https://k/o/environments/prod/snapshots/2"},
		CreatedAt: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
		Proposer:  Proposer{"U1", "Zoë <ops> & \u2028\t"},
		Artifacts: []ManifestArtifact{{
			Service: "s", Flow: "s-ci", Name: "r/s:1", Type: "docker-image", Digest: "sha256:" + fp, URI: "r/s@sha256:" + fp,
			Commit: ManifestCommit{"abcdef1", "", "u"}, CompareURL: "c?a=1&b=2", SnapshotURL: "x", NewService: true,
		}},
		Evidence:     ManifestEvidence{"f", "t", "https://k/t"},
		SealedDigest: "sha256:ignored-by-the-digest",
	}
	canonical := `{"artifacts":[{"commit":{"repoUrl":"","sha":"abcdef1","url":"u"},"compareUrl":"c?a=1&b=2",` +
		`"digest":"sha256:` + fp + `","flow":"s-ci","name":"r/s:1","newService":true,"replaces":null,"service":"s",` +
		`"snapshotUrl":"x","type":"docker-image","uri":"r/s@sha256:` + fp + `"}],"createdAt":"2026-11-24T09:00:00Z",` +
		`"evidence":{"kosliFlow":"f","kosliTrail":"t","trailUrl":"https://k/t"},"pipeline":"prod",` +
		`"proposer":{"name":"Zoë <ops> & ` + "\u2028" + `\t","slackUserId":"U1"},"releaseId":"r-1","schemaVersion":"1.0.0",` +
		`"source":{"environment":"beta","snapshotId":"beta#1","snapshotUrl":"https://k/o/environments/beta/snapshots/1"},` +
		`"target":{"environment":"prod","snapshotId":"prod#2","snapshotUrl":"https://k/o/environments/prod/snapshots/2"}}`
	sum := sha256.Sum256([]byte(canonical))
	got, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:" + hex.EncodeToString(sum[:]); got != want {
		tree, _ := m.tree()
		content := tree.(map[string]any)
		delete(content, "digest")
		c, _ := appendCanonical(nil, content)
		t.Fatalf("digest %s, want %s\ncanonical:\n%s\nwant:\n%s", got, want, c, canonical)
	}
}

// TestCanonicalJSON checks the encoder against RFC 8785's own examples.
func TestCanonicalJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		// RFC 8785 §3.2.3: sorting by UTF-16 code units puts U+1F600 (a
		// surrogate pair, 0xD83D…) before U+FB33, unlike code point order.
		{"sorting", `{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",` +
			`"1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			`{"\r":"Carriage Return","1":"One","` + "\u0080" + `":"Control","ö":"Latin Small Letter O With Diaeresis",` +
				`"€":"Euro Sign","😀":"Emoji: Grinning Face","` + "\ufb33" + `":"Hebrew Letter Dalet With Dagesh"}`},
		// RFC 8785 §3.2.2.2: strings.
		{"strings", `["\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"]`, `["€$\u000f\nA'B\"\\\\\"/"]`},
		{"literals and nesting", ` { "b" : [ true , false , null , { } , [ ] ] , "a" : "" } `, `{"a":"","b":[true,false,null,{},[]]}`},
		{"integers", `[0, -0, 1e2, -9007199254740992, 123]`, `[0,0,100,-9007199254740992,123]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := parseJSON([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendCanonical(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	for _, n := range []string{"1.5", "18014398509481984", "1e400"} {
		v, err := parseJSON([]byte(n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := appendCanonical(nil, v); err == nil {
			t.Errorf("%s: hashed a number JCS would write differently", n)
		}
	}
}

func TestNewManifestNewServiceOnly(t *testing.T) {
	fp := strings.Repeat("1", 64)
	d := &Diff{
		Source: Side{SnapshotID: "aws-beta#10", Artifacts: []Artifact{{
			Fingerprint: fp, Name: "registry.example:5000/team/web:v2", Flow: "web",
			CommitURL: "https://gitlab.example/team/web/-/commit/abcdef1234567", MostRecentTimestamp: 1740904271,
		}}},
		Target: Side{SnapshotID: "aws-prod#7"},
	}
	p := Compute(d, PlanOptions{Links: Links{Host: "https://kosli.example/", Org: "team one"}})
	m, err := NewManifest(&p, exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, m)
	a := m.Artifacts[0]
	if !a.NewService || a.Replaces != nil || a.URI != "registry.example:5000/team/web@sha256:"+fp ||
		a.Commit != (ManifestCommit{"abcdef1234567", "https://gitlab.example/team/web", "https://gitlab.example/team/web/-/commit/abcdef1234567"}) ||
		a.CompareURL != "https://gitlab.example/team/web/commit/abcdef1234567" {
		t.Errorf("artifact %+v", a)
	}
	// No artifact links into the target: its page comes from the source's host and org.
	if m.Target.SnapshotURL != "https://kosli.example/team%20one/environments/aws-prod/snapshots/7" ||
		m.Source.SnapshotURL != "https://kosli.example/team%20one/environments/aws-beta/snapshots/10" {
		t.Errorf("snapshot pages %s, %s", m.Source.SnapshotURL, m.Target.SnapshotURL)
	}
	data, _ := m.Marshal()
	if !bytes.Contains(data, []byte(`"replaces": null,`)) || !bytes.Contains(data, []byte(`"newService": true`)) {
		t.Errorf("a new service is written without replaces: null:\n%s", data)
	}
}

func TestImageRepository(t *testing.T) {
	for in, want := range map[string]string{
		"244531986313.dkr.ecr.eu-central-1.amazonaws.com/nginx:fa32058@sha256:0fd1": "244531986313.dkr.ecr.eu-central-1.amazonaws.com/nginx",
		"localhost:5000/team/app:1.2":    "localhost:5000/team/app",
		"localhost:5000/team/app":        "localhost:5000/team/app",
		"ghcr.io/o/app@sha256:abc":       "ghcr.io/o/app",
		"app":                            "app",
		"app:latest":                     "app",
		":tag":                           "",
		"@sha256:0fd1":                   "",
		"registry:443/app:v1@sha256:aaa": "registry:443/app",
	} {
		if got := imageRepository(in); got != want {
			t.Errorf("imageRepository(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewManifestRefuses(t *testing.T) {
	good := fixturePlan(t, "4.json")
	with := func(change func(p *Plan)) *Plan {
		p := *good
		p.Promotions = append([]Promotion(nil), good.Promotions...)
		change(&p)
		return &p
	}
	meta := func(change func(m *ManifestMeta)) ManifestMeta {
		m := exampleMeta()
		change(&m)
		return m
	}
	cases := []struct {
		name string
		plan *Plan
		meta ManifestMeta
		want string
	}{
		{"no plan", nil, exampleMeta(), "no plan"},
		{"refused", fixturePlan(t, "blue-green-aws-prod.json"), exampleMeta(), "the plan is refused: a deployment is in progress in aws-prod#"},
		{"empty", with(func(p *Plan) { p.Promotions = nil }), exampleMeta(), "nothing to promote"},
		{"no time", good, meta(func(m *ManifestMeta) { m.CreatedAt = time.Time{} }), "no creation time"},
		{"fingerprint not a sha256", with(func(p *Plan) { p.Promotions[1].Incoming.Fingerprint = "f1" }), exampleMeta(),
			`service web: fingerprint "f1" is not a sha256`},
		{"outgoing fingerprint upper case", with(func(p *Plan) {
			o := *p.Promotions[0].Outgoing
			o.Fingerprint = strings.ToUpper(o.Fingerprint)
			p.Promotions[0].Outgoing = &o
		}), exampleMeta(), "service nginx (outgoing): fingerprint"},
		{"no image name", with(func(p *Plan) { p.Promotions[0].Incoming.ImageName = "@sha256:00" }), exampleMeta(), "names no image"},
		{"two flows, one service", with(func(p *Plan) { p.Promotions[2].Service = "web" }), exampleMeta(),
			`/artifacts/2/service: service "web" is also /artifacts/1`},
		{"release id", good, meta(func(m *ManifestMeta) { m.ReleaseID = "prod 1" }), "/releaseId: 'prod 1' does not match pattern"},
		{"proposer", good, meta(func(m *ManifestMeta) { m.ProposerID = "" }), "/proposer/slackUserId"},
		{"evidence", good, meta(func(m *ManifestMeta) { m.Evidence.URL = "" }), "/evidence/trailUrl"},
		{"unknown host", with(func(p *Plan) { p.Promotions[0].Incoming.SnapshotURL = "" }), exampleMeta(), "cannot read Kosli's host and org"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewManifest(c.plan, c.meta)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if m != nil {
				t.Errorf("a manifest came with the error")
			}
		})
	}
}

func TestSealAndMarshal(t *testing.T) {
	m, err := NewManifest(fixturePlan(t, "4.json"), exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	sealed := m.SealedDigest
	m.Artifacts[3].CompareURL += "#changed"
	_, err = m.Marshal()
	var mismatch *DigestMismatchError
	if !errors.As(err, &mismatch) || mismatch.Sealed != sealed || mismatch.Content == sealed {
		t.Fatalf("marshalling a changed manifest: %v", err)
	}
	if err := m.Seal(); err != nil || m.SealedDigest == sealed {
		t.Fatalf("resealing: %v, digest %s", err, m.SealedDigest)
	}
	mustValidate(t, m)
	m.SealedDigest = ""
	if _, err := m.Marshal(); err == nil || !strings.Contains(err.Error(), "not sealed") {
		t.Fatalf("marshalling an unsealed manifest: %v", err)
	}
}

func TestParseManifestIsStrict(t *testing.T) {
	example, err := os.ReadFile(exampleManifest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(example)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := m.Digest(); d != m.SealedDigest || len(m.Artifacts) != 4 {
		t.Fatalf("parsed manifest hashes to %s, says %s", d, m.SealedDigest)
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(example, []byte(old)) {
			t.Fatalf("the example has no %s", old)
		}
		return bytes.Replace(example, []byte(old), []byte(new), 1)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown field", edit(`"newService": false`, `"newService": false, "extra": 1`), "/artifacts/0/extra: unknown field"},
		{"name in the wrong case", edit(`"releaseId"`, `"ReleaseId"`), "/ReleaseId: unknown field"},
		{"null for a string", edit(`"pipeline": "prod"`, `"pipeline": null`), "/pipeline: want a string, got null"},
		{"missing field", edit(`"pipeline": "prod",`, ``), "/pipeline: missing"},
		{"time not as written", edit(`"2025-03-02T08:15:00Z"`, `"2025-03-02T08:15:00.000Z"`), `/createdAt: "2025-03-02T08:15:00.000Z" is not in the form`},
		{"name twice", edit(`"pipeline": "prod",`, `"pipeline": "prod", "pipeline": "prod",`), `name "pipeline" appears twice`},
		{"trailing data", append(bytes.Clone(example), "{}"...), "data after the top-level value"},
		{"not UTF-8", edit(`Ada`, "A\xffa"), "not UTF-8"},
		{"empty", nil, "empty input"},
		{"wrong type", edit(`"newService": false`, `"newService": "no"`), "cannot unmarshal string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseManifest(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestVerifyManifestSchemaProblems: each problem is reported at its JSON
// pointer, formats are asserted, and the schema's cross-field rules hold.
func TestVerifyManifestSchemaProblems(t *testing.T) {
	example, err := os.ReadFile(exampleManifest)
	if err != nil {
		t.Fatal(err)
	}
	web := "sha256:337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052"
	cases := []struct {
		name     string
		old, new string
		want     []string // pointers
	}{
		{"digest not a sha256", `"digest": "` + web + `"`, `"digest": "sha256:XYZ"`, []string{"/artifacts/1/digest"}},
		{"date that does not exist", `"2025-03-02T08:15:00Z"`, `"2025-02-30T08:15:00Z"`, []string{"/createdAt"}},
		{"not UTC", `"2025-03-02T08:15:00Z"`, `"2025-03-02T09:15:00+01:00"`, []string{"/createdAt"}},
		{"unknown field", `"schemaVersion": "1.0.0"`, `"schemaVersion": "1.0.0", "signed": true`, []string{""}},
		{"schema version", `"schemaVersion": "1.0.0"`, `"schemaVersion": "2.0.0"`, []string{"/schemaVersion"}},
		{"new service that replaces one", `"newService": false`, `"newService": true`, []string{"/artifacts/0/replaces"}},
		{"artifact type", `"type": "docker-image"`, `"type": "helm-chart"`, []string{"/artifacts/0/type"}},
		{"no artifacts", ``, ``, []string{"/artifacts"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := bytes.Replace(example, []byte(c.old), []byte(c.new), 1)
			if c.old == "" {
				var doc map[string]any
				_ = json.Unmarshal(example, &doc)
				doc["artifacts"] = []any{}
				data, _ = json.Marshal(doc)
			}
			if bytes.Equal(data, example) {
				t.Fatalf("the example has no %s", c.old)
			}
			_, err := VerifyManifest(data)
			var invalid *schema.ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("got %v, want schema problems", err)
			}
			var got []string // the problems' pointers, each once
			for _, p := range invalid.Problems {
				if len(got) == 0 || got[len(got)-1] != p.Pointer {
					got = append(got, p.Pointer)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("problems at %q, want %q: %v", got, c.want, invalid)
			}
		})
	}
}

// TestVerifyManifestRules: a manifest sealed by something other than
// NewManifest is held to the rules the schema states in words.
func TestVerifyManifestRules(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"uri of another digest", func(m *Manifest) { m.Artifacts[1].URI = "r/web@sha256:" + strings.Repeat("0", 64) },
			`/artifacts/1/uri: "r/web@sha256:000`},
		{"a service twice", func(m *Manifest) { m.Artifacts[3].Service = "nginx" },
			`/artifacts/3/service: service "nginx" is also /artifacts/0: one artifact per service`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewManifest(fixturePlan(t, "4.json"), exampleMeta())
			if err != nil {
				t.Fatal(err)
			}
			c.change(m)
			if err := m.Seal(); err != nil {
				t.Fatal(err)
			}
			data, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = VerifyManifest(data)
			var invalid *schema.ValidationError
			if !errors.As(err, &invalid) || len(invalid.Problems) != 1 || !strings.HasPrefix(invalid.Problems[0].String(), c.want) {
				t.Fatalf("got %v, want one problem %q", err, c.want)
			}
		})
	}
}

// A break-glass release's manifest records why, who and the review's due
// time; it follows the schema and its digest covers them.
func TestManifestRecordsBreakGlass(t *testing.T) {
	meta := exampleMeta()
	meta.BreakGlass = &ManifestBreakGlass{Reason: "login is down", RequestedBy: "U0ALICE0001", ReviewDue: meta.CreatedAt.Add(24*time.Hour + 500*time.Millisecond)}
	m, err := NewManifest(fixturePlan(t, "4.json"), meta)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyManifest(data)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, data)
	}
	if got.BreakGlass == nil || got.BreakGlass.Reason != "login is down" || !got.BreakGlass.ReviewDue.Equal(meta.CreatedAt.Add(24*time.Hour).UTC().Truncate(time.Second)) {
		t.Errorf("break glass %+v", got.BreakGlass)
	}
	plain, err := NewManifest(fixturePlan(t, "4.json"), exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	if plain.SealedDigest == m.SealedDigest || strings.Contains(string(mustMarshal(t, plain)), "breakGlass") {
		t.Error("the break-glass record is not part of the sealed content, or appears on a normal release")
	}
	tampered := strings.Replace(string(data), "login is down", "routine", 1)
	if _, err := VerifyManifest([]byte(tampered)); err == nil {
		t.Error("a changed reason verifies")
	}
}

func mustMarshal(t *testing.T, m *Manifest) []byte {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A release's change ticket is in its manifest, follows the schema, and is
// covered by the digest; a manifest without one has no changeTicket key.
func TestManifestRecordsTheChangeTicket(t *testing.T) {
	meta := exampleMeta()
	meta.ChangeTicket = &ChangeTicket{ID: "CHG123", URL: "https://tickets.example/browse/CHG123"}
	m, err := NewManifest(fixturePlan(t, "4.json"), meta)
	if err != nil {
		t.Fatal(err)
	}
	data := mustMarshal(t, m)
	got, err := VerifyManifest(data)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, data)
	}
	if got.ChangeTicket == nil || *got.ChangeTicket != *meta.ChangeTicket {
		t.Errorf("change ticket %+v", got.ChangeTicket)
	}
	plain, err := NewManifest(fixturePlan(t, "4.json"), exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	if plain.SealedDigest == m.SealedDigest || strings.Contains(string(mustMarshal(t, plain)), "changeTicket") {
		t.Error("the ticket is not part of the sealed content, or appears on a release without one")
	}
	if _, err := VerifyManifest([]byte(strings.Replace(string(data), `"CHG123"`, `"CHG124"`, 1))); err == nil {
		t.Error("a changed ticket verifies")
	}
	for name, bad := range map[string]*ChangeTicket{
		"empty id":       {ID: ""},
		"plain http url": {ID: "CHG1", URL: "http://tickets.example/CHG1"},
	} {
		meta := exampleMeta()
		meta.ChangeTicket = bad
		if _, err := NewManifest(fixturePlan(t, "4.json"), meta); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/release-bot/release-bot/schema"
)

// ManifestSchemaVersion is the version of schema/release-manifest.schema.json
// that NewManifest writes.
const ManifestSchemaVersion = "1.0.0"

// ArtifactTypeDockerImage is the only artifact type release-bot promotes.
const ArtifactTypeDockerImage = "docker-image"

// Manifest is a release frozen when it is proposed: which artifacts, by
// digest, go from one environment to another, and what each replaces. Its
// digest covers everything else in it; approvals bind to that digest, so what
// was approved is exactly what ships. The JSON form is described by
// schema/release-manifest.schema.json.
type Manifest struct {
	SchemaVersion string `json:"schemaVersion"`
	ReleaseID     string `json:"releaseId"`
	// RollbackOf is, on a rollback only, the release it rolls back; its
	// Source is then the target's snapshot that release was planned against.
	RollbackOf string              `json:"rollbackOf,omitempty"`
	Pipeline   string              `json:"pipeline"`
	Source     EnvironmentSnapshot `json:"source"`
	Target     EnvironmentSnapshot `json:"target"`
	// CreatedAt is when the release was proposed, UTC, whole seconds.
	CreatedAt time.Time          `json:"createdAt"`
	Proposer  Proposer           `json:"proposer"`
	Artifacts []ManifestArtifact `json:"artifacts"`
	Evidence  ManifestEvidence   `json:"evidence"`
	// BreakGlass is set on an emergency release, for whoever audits it.
	BreakGlass *ManifestBreakGlass `json:"breakGlass,omitempty"`
	// ChangeTicket is the change ticket the release was proposed under, if any.
	ChangeTicket *ChangeTicket `json:"changeTicket,omitempty"`
	// SealedDigest is the digest Seal recorded: "sha256:" and hex. It is
	// written as "digest" and left out of what it hashes.
	SealedDigest string `json:"digest"`
}

// ManifestBreakGlass records that a release was a break-glass one: why,
// who asked for it, and when its review after the fact is due.
type ManifestBreakGlass struct {
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requestedBy"`
	ReviewDue   time.Time `json:"reviewDue"`
}

// ChangeTicket is a release's change ticket (/release propose --ticket):
// its id as typed, and its page when the pipeline links tickets.
type ChangeTicket struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
}

// EnvironmentSnapshot is one environment as Kosli saw it at proposal time.
type EnvironmentSnapshot struct {
	Environment string `json:"environment"`
	SnapshotID  string `json:"snapshotId"`
	SnapshotURL string `json:"snapshotUrl"`
}

// Proposer is the Slack user who proposed a release.
type Proposer struct {
	SlackUserID string `json:"slackUserId"`
	Name        string `json:"name"`
}

// ManifestArtifact is one artifact to promote. Name, Type, Digest and URI are
// the fields of a build-once-promote-many release manifest; the rest is what
// a many-service release adds.
type ManifestArtifact struct {
	Service string `json:"service"`
	Flow    string `json:"flow"`
	// Name is the image name as Kosli reports it (it may carry a tag and a digest).
	Name string `json:"name"`
	Type string `json:"type"`
	// Digest is "sha256:" and the Kosli fingerprint.
	Digest string `json:"digest"`
	// URI is the image by digest: Name without tag or digest, "@", Digest.
	URI         string         `json:"uri"`
	Commit      ManifestCommit `json:"commit"`
	CompareURL  string         `json:"compareUrl"`
	SnapshotURL string         `json:"snapshotUrl"`
	// Replaces is the artifact running in the target now; nil for a new service.
	Replaces   *ReplacedArtifact `json:"replaces"`
	NewService bool              `json:"newService"`
}

// ManifestCommit is the commit an artifact was built from.
type ManifestCommit struct {
	SHA     string `json:"sha"`
	RepoURL string `json:"repoUrl"`
	URL     string `json:"url"`
}

// ReplacedArtifact is the artifact a promotion takes the place of.
type ReplacedArtifact struct {
	Name      string `json:"name"`
	Digest    string `json:"digest"`
	CommitSHA string `json:"commitSha"`
}

// ManifestEvidence is where a release's evidence is recorded in Kosli.
type ManifestEvidence struct {
	KosliFlow  string `json:"kosliFlow"`
	KosliTrail string `json:"kosliTrail"`
	TrailURL   string `json:"trailUrl"`
}

// ManifestMeta is what a manifest holds beside the plan.
type ManifestMeta struct {
	ReleaseID, Pipeline string
	// RollbackOf is the release a rollback rolls back, "" for any other release.
	RollbackOf               string
	CreatedAt                time.Time
	ProposerID, ProposerName string
	// Evidence is the release's trail: its Flow, Trail and URL go into the manifest.
	Evidence Evidence
	// BreakGlass is set for an emergency release.
	BreakGlass *ManifestBreakGlass
	// ChangeTicket is set when the release has a change ticket.
	ChangeTicket *ChangeTicket
}

// NewManifest freezes a plan into a sealed manifest that follows the schema.
// It refuses a refused plan, an empty one, and artifacts it could not name by
// digest (a fingerprint that is not a sha256) or tell apart (two flows for
// one service).
func NewManifest(p *Plan, meta ManifestMeta) (*Manifest, error) {
	switch {
	case p == nil:
		return nil, errors.New("release manifest: no plan")
	case p.Refused():
		return nil, fmt.Errorf("release manifest: the plan is refused: %s", p.Refusals()[0])
	case len(p.Promotions) == 0:
		return nil, errors.New("release manifest: the plan has nothing to promote")
	case meta.CreatedAt.IsZero():
		return nil, errors.New("release manifest: no creation time")
	}
	source, target, err := snapshotPages(p)
	if err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	m := &Manifest{
		SchemaVersion: ManifestSchemaVersion,
		ReleaseID:     meta.ReleaseID,
		RollbackOf:    meta.RollbackOf,
		Pipeline:      meta.Pipeline,
		Source:        EnvironmentSnapshot{Environment: p.Source.Environment, SnapshotID: p.Source.ID, SnapshotURL: source},
		Target:        EnvironmentSnapshot{Environment: p.Target.Environment, SnapshotID: p.Target.ID, SnapshotURL: target},
		CreatedAt:     meta.CreatedAt.UTC().Truncate(time.Second),
		Proposer:      Proposer{SlackUserID: meta.ProposerID, Name: meta.ProposerName},
		Artifacts:     make([]ManifestArtifact, 0, len(p.Promotions)),
		Evidence:      ManifestEvidence{KosliFlow: meta.Evidence.Flow, KosliTrail: meta.Evidence.Trail, TrailURL: meta.Evidence.URL},
	}
	if bg := meta.BreakGlass; bg != nil {
		m.BreakGlass = &ManifestBreakGlass{Reason: bg.Reason, RequestedBy: bg.RequestedBy, ReviewDue: bg.ReviewDue.UTC().Truncate(time.Second)}
	}
	if ct := meta.ChangeTicket; ct != nil {
		m.ChangeTicket = &ChangeTicket{ID: ct.ID, URL: ct.URL}
	}
	for i := range p.Promotions {
		a, err := manifestArtifact(&p.Promotions[i])
		if err != nil {
			return nil, fmt.Errorf("release manifest: %w", err)
		}
		m.Artifacts = append(m.Artifacts, a)
	}
	if err := m.Seal(); err != nil {
		return nil, err
	}
	tree, err := m.tree()
	if err != nil {
		return nil, err
	}
	if err := validateManifest(tree); err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	return m, nil
}

func manifestArtifact(pr *Promotion) (ManifestArtifact, error) {
	in := &pr.Incoming
	digest, err := fingerprintDigest(pr.Service, in.Fingerprint)
	if err != nil {
		return ManifestArtifact{}, err
	}
	repo := imageRepository(in.ImageName)
	if repo == "" {
		return ManifestArtifact{}, fmt.Errorf("service %s: image name %q names no image", pr.Service, in.ImageName)
	}
	a := ManifestArtifact{
		Service: pr.Service, Flow: in.Flow, Name: in.ImageName, Type: ArtifactTypeDockerImage,
		Digest: digest, URI: repo + "@" + digest,
		Commit:     ManifestCommit{SHA: in.Commit.SHA, RepoURL: in.Commit.RepoURL, URL: in.Commit.URL},
		CompareURL: pr.DiffURL, SnapshotURL: in.SnapshotURL,
		NewService: pr.New(),
	}
	if o := pr.Outgoing; o != nil {
		od, err := fingerprintDigest(pr.Service+" (outgoing)", o.Fingerprint)
		if err != nil {
			return ManifestArtifact{}, err
		}
		a.Replaces = &ReplacedArtifact{Name: o.ImageName, Digest: od, CommitSHA: o.Commit.SHA}
	}
	return a, nil
}

// fingerprintDigest is "sha256:" + a Kosli fingerprint, which must be a sha256.
func fingerprintDigest(service, fp string) (string, error) {
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return "", fmt.Errorf("service %s: fingerprint %q is not a sha256 (64 lower-case hex digits)", service, fp)
	}
	return "sha256:" + fp, nil
}

// imageRepository is an image reference without its tag or digest:
// "host:5000/a/b:v1@sha256:…" → "host:5000/a/b".
func imageRepository(name string) string {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return name
}

// snapshotPages finds the Kosli pages of the plan's two snapshots. The plan
// holds them only as artifact links (page + "?fingerprint=…"); the target's
// page is built from the source's host and org, since a release of new
// services only has no artifact link into the target.
func snapshotPages(p *Plan) (source, target string, err error) {
	link := p.Promotions[0].Incoming.SnapshotURL
	source, _, _ = strings.Cut(link, "?")
	suffix := "/environments/" + url.PathEscape(p.Source.Environment) + "/snapshots/" + url.PathEscape(p.Source.Index)
	base, ok := strings.CutSuffix(source, suffix)
	i := strings.LastIndexByte(base, '/')
	if !ok || i < 0 {
		return "", "", fmt.Errorf("cannot read Kosli's host and org from the snapshot link %q", link)
	}
	org, err := url.PathUnescape(base[i+1:])
	if err != nil {
		return "", "", fmt.Errorf("cannot read Kosli's org from the snapshot link %q", link)
	}
	return source, Links{Host: base[:i], Org: org}.Snapshot(p.Target), nil
}

// Digest is "sha256:" and the hex sha256 of the manifest's canonical JSON
// (RFC 8785) without its digest field.
func (m *Manifest) Digest() (string, error) {
	tree, err := m.tree()
	if err != nil {
		return "", err
	}
	return contentDigest(tree)
}

// Seal records the manifest's digest in it.
func (m *Manifest) Seal() error {
	d, err := m.Digest()
	if err != nil {
		return err
	}
	m.SealedDigest = d
	return nil
}

// Marshal writes the sealed manifest indented for people, with a final
// newline. A manifest that is not sealed, or changed since, is refused.
func (m *Manifest) Marshal() ([]byte, error) {
	d, err := m.Digest()
	if err != nil {
		return nil, err
	}
	if m.SealedDigest == "" {
		return nil, errors.New("release manifest: not sealed")
	}
	if d != m.SealedDigest {
		return nil, fmt.Errorf("release manifest: changed after sealing: %w", &DigestMismatchError{Sealed: m.SealedDigest, Content: d})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	return b.Bytes(), nil
}

// tree is the manifest as a decoded JSON document.
func (m *Manifest) tree() (any, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	return parseJSON(data)
}

// contentDigest hashes a manifest document without its top-level "digest".
func contentDigest(tree any) (string, error) {
	obj, ok := tree.(map[string]any)
	if !ok {
		return "", errors.New("release manifest: not a JSON object")
	}
	content := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "digest" {
			content[k] = v
		}
	}
	canon, err := appendCanonical(nil, content)
	if err != nil {
		return "", fmt.Errorf("release manifest: %w", err)
	}
	sum := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// DigestMismatchError says a manifest's content no longer hashes to the
// digest sealed in it: it was changed after it was sealed.
type DigestMismatchError struct {
	// Sealed is the digest the manifest states; Content is what its content hashes to.
	Sealed, Content string
}

// Error is "digest mismatch: file says …, content hashes to …".
func (e *DigestMismatchError) Error() string {
	return "digest mismatch: file says " + e.Sealed + ", content hashes to " + e.Content
}

// ParseManifest reads a manifest strictly: unknown, missing or mis-cased
// fields, nulls where a value belongs, duplicate names and trailing data are
// errors, so the Manifest holds exactly what the document says. It checks
// neither the schema nor the digest: see VerifyManifest.
func ParseManifest(data []byte) (*Manifest, error) {
	tree, err := parseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	return decodeManifest(data, tree)
}

// VerifyManifest checks that a manifest follows the schema (a
// *schema.ValidationError lists each problem with its JSON pointer) and that
// its content still hashes to its digest (a *DigestMismatchError otherwise:
// it was changed after it was sealed). Anything else, such as input that is
// not JSON, is a plain error.
func VerifyManifest(data []byte) (*Manifest, error) {
	tree, err := parseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	if err := schema.ValidateReleaseManifest(tree); err != nil {
		return nil, err
	}
	content, err := contentDigest(tree)
	if err != nil {
		return nil, err
	}
	if sealed := tree.(map[string]any)["digest"].(string); sealed != content {
		return nil, &DigestMismatchError{Sealed: sealed, Content: content}
	}
	if err := checkRules(tree); err != nil {
		return nil, err
	}
	return decodeManifest(data, tree)
}

func decodeManifest(data []byte, tree any) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	// encoding/json skips unknown names, matches names regardless of case
	// and lets null and absent fields pass: whatever does not come back out
	// the same way was not written as release-bot writes it.
	again, err := m.tree()
	if err != nil {
		return nil, err
	}
	if ptr, what := firstDifference(tree, again, ""); ptr != "" || what != "" {
		return nil, fmt.Errorf("release manifest: %s: %s", pointerOrDocument(ptr), what)
	}
	return &m, nil
}

// validateManifest checks the schema and the rules it states but cannot express.
func validateManifest(tree any) error {
	if err := schema.ValidateReleaseManifest(tree); err != nil {
		return err
	}
	return checkRules(tree)
}

// checkRules checks, in a document that follows the schema, the rules the
// schema states but cannot express: services are unique, and each uri
// references its artifact's digest.
func checkRules(tree any) error {
	var problems []schema.Problem
	seen := map[string]int{}
	for i, v := range tree.(map[string]any)["artifacts"].([]any) {
		a := v.(map[string]any)
		ptr := fmt.Sprintf("/artifacts/%d", i)
		service, digest, uri := a["service"].(string), a["digest"].(string), a["uri"].(string)
		if first, dup := seen[service]; dup {
			problems = append(problems, schema.Problem{Pointer: ptr + "/service", Message: fmt.Sprintf("service %q is also /artifacts/%d: one artifact per service", service, first)})
		} else {
			seen[service] = i
		}
		if !strings.HasSuffix(uri, "@"+digest) {
			problems = append(problems, schema.Problem{Pointer: ptr + "/uri", Message: fmt.Sprintf("%q does not reference the artifact's digest %s", uri, digest)})
		}
	}
	if len(problems) > 0 {
		return &schema.ValidationError{Schema: schema.ReleaseManifestID, Problems: problems}
	}
	return nil
}

func pointerOrDocument(ptr string) string {
	if ptr == "" {
		return "the document"
	}
	return ptr
}

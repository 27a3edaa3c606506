// Package evidence delivers each release's evidence outbox to Kosli: the
// trail, every artifact reported into it with its promotion, the manifest,
// the per-artifact decisions for the pipeline's control, and the outcomes.
//
// An item is written in the release's body by the same compare-and-set as
// the change that causes it (see release.EvidenceItem and the store's
// scripts), so nothing is lost when Kosli, Slack or this process fails. A
// worker on each replica looks for due releases; one at a time holds a
// release's lease and delivers its items in order, one request per step
// (the steps of different artifacts at once), marking each step in Redis as
// Kosli takes it. A step whose answer was lost
// is looked for in Kosli before it is sent again, so nothing is recorded
// twice. Failures are retried with backoff (Kosli's Retry-After wins); a
// refusal that no retry can change is given up, said, and counted.
package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"golang.org/x/sync/errgroup"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/metrics"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/store"
)

// Store is what delivery needs of the release store.
type Store interface {
	Get(ctx context.Context, id string) (*release.Release, error)
	Manifest(ctx context.Context, id string) ([]byte, error)
	Amend(ctx context.Context, id string, version int64, update func(*release.Release)) (*release.Release, error)
	DueEvidence(ctx context.Context, now time.Time, limit int) ([]string, error)
	PendingEvidence(ctx context.Context) (int64, error)
	ScheduleEvidence(ctx context.Context, id string, at time.Time) error
	EvidenceDelivered(ctx context.Context, id string, version int64) error
	EvidencePromotions(ctx context.Context, id string) (map[string]json.RawMessage, error)
	EvidenceMarks(ctx context.Context, id string) (map[string]bool, error)
	MarkEvidence(ctx context.Context, id, mark, owner string) (bool, error)
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) (bool, error)
}

var _ Store = (*store.Store)(nil)

// Kosli is what delivery writes to (and reads back from) Kosli.
type Kosli interface {
	EnsureFlow(ctx context.Context, name, description string) error
	BeginTrail(ctx context.Context, flow string, t kosli.Trail) error
	ReportArtifact(ctx context.Context, flow string, a kosli.Artifact) error
	EnsureAttestationType(ctx context.Context, name, description string, schema []byte) error
	AttestCustom(ctx context.Context, flow, trail string, a kosli.Attestation) error
	AttestGeneric(ctx context.Context, flow, trail string, a kosli.Attestation) error
	AttestDecision(ctx context.Context, flow, trail string, a kosli.Attestation) error
	TrailAttestations(ctx context.Context, flow, trail, name string) ([]kosli.RecordedAttestation, error)
}

var _ Kosli = (*kosli.Client)(nil)

// People says who approved: the decision records each approver's name and
// e-mail (users.info; the e-mail needs the users:read.email scope).
type People interface {
	User(ctx context.Context, id string) (*slack.User, error)
}

// PromotionType is the custom attestation type of each artifact's promotion.
const PromotionType = "promotion"

// Options configures a Worker.
type Options struct {
	Store  Store
	Kosli  Kosli
	People People // optional: without it the decision names approvers by id only
	Config *config.Config
	// PromotionSchema is the JSON Schema of the promotion type, for creating it.
	PromotionSchema []byte
	// Owner names this replica in the outbox leases.
	Owner string
	// OnChange is told of each item that was recorded, failed for the first
	// time, or was given up on, with the release as it is now. It runs on
	// the delivering goroutine.
	OnChange func(ctx context.Context, r *release.Release, it release.EvidenceItem)
	Metrics  *metrics.Metrics // optional
	Now      func() time.Time
	Logger   zerolog.Logger
	// Poll is how often due outboxes are looked for (default 2s); Wake looks at once.
	Poll time.Duration
	// LeaseTTL bounds how long a dead deliverer holds an outbox (default 15s;
	// it is renewed at every step, and a Redis failover can leave a lease
	// its owner could not release).
	LeaseTTL time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts (default 2s, 5m).
	MinBackoff, MaxBackoff time.Duration
	// Parallel bounds the artifacts of one item whose requests are sent at
	// once (default 64): a release's decisions, which its dispatch waits
	// for, take one round trip to Kosli rather than one per artifact, and
	// its report two rather than two per artifact.
	Parallel int
}

// Worker delivers evidence outboxes.
type Worker struct {
	o    Options
	wake chan struct{}
	// calls numbers each Deliver, so that two in one process (the worker
	// and a command delivering at once) are two lease owners, not one.
	calls atomic.Int64
}

// New applies defaults.
func New(o Options) *Worker {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, 2*time.Second)
	def(&o.LeaseTTL, 15*time.Second)
	def(&o.MinBackoff, 2*time.Second)
	def(&o.MaxBackoff, 5*time.Minute)
	if o.Parallel <= 0 {
		o.Parallel = 64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Worker{o: o, wake: make(chan struct{}, 1)}
}

// Wake makes the worker look for due outboxes now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers due outboxes until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Poll)
	defer t.Stop()
	for {
		w.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wake:
		}
	}
}

func (w *Worker) sweep(ctx context.Context) {
	ids, err := w.o.Store.DueEvidence(ctx, w.o.Now(), 50)
	if err != nil {
		if ctx.Err() == nil {
			w.o.Logger.Warn().Err(err).Msg("looking for evidence to deliver")
		}
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := w.Deliver(ctx, id); err != nil && ctx.Err() == nil {
			w.o.Logger.Warn().Err(err).Str("release_id", id).Msg("delivering evidence")
		}
	}
	if w.o.Metrics != nil {
		if n, err := w.o.Store.PendingEvidence(ctx); err == nil {
			w.o.Metrics.EvidencePending.Set(float64(n))
		}
	}
}

// Deliver sends release id's pending evidence now, if no other deliverer
// holds it, and returns the release as it is after. It stops at the first
// item that fails (later items depend on earlier ones: a decision on an
// artifact needs the artifact reported) and schedules the next attempt.
func (w *Worker) Deliver(ctx context.Context, id string) (*release.Release, error) {
	lease := store.EvidenceLease(id)
	owner := fmt.Sprintf("%s/%d", w.o.Owner, w.calls.Add(1))
	ok, err := w.o.Store.AcquireLease(ctx, lease, owner, w.o.LeaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		return w.o.Store.Get(ctx, id) // another replica delivers it
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_, _ = w.o.Store.ReleaseLease(rctx, lease, owner)
	}()
	r, err := w.o.Store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, w.o.Store.EvidenceDelivered(ctx, id, 1<<62) // outlived its retention
	} else if err != nil {
		return nil, err
	}
	d := &delivery{w: w, r: r, owner: owner, log: w.o.Logger.With().Str("release_id", id).Logger()}
	// The items as they are now, not as first read: a change made during
	// the pass (a rejection while the report is sent) adds its item to the
	// release this pass then records as delivered.
	for items := r.Evidence.PendingItems(); len(items) > 0; items = r.Evidence.PendingItems() {
		it := items[0]
		err := d.item(ctx, it)
		if errors.Is(err, errLostLease) {
			return r, nil
		}
		if r, err = w.settle(ctx, d, it, err); err != nil || r.Evidence.Item(it.ID).Status == release.EvidencePending {
			return r, err
		}
		d.r = r
	}
	return r, w.o.Store.EvidenceDelivered(ctx, id, r.Version)
}

// settle records what became of one item's delivery, tells OnChange, and
// schedules the next attempt of one that will be retried.
func (w *Worker) settle(ctx context.Context, d *delivery, it release.EvidenceItem, derr error) (*release.Release, error) {
	now := w.o.Now()
	permanent := derr != nil && !retryable(derr)
	var wait time.Duration
	first := false
	next, err := w.o.Store.Amend(ctx, d.r.ID, 0, func(x *release.Release) {
		if x.Evidence == nil {
			return
		}
		for i := range x.Evidence.Items {
			e := &x.Evidence.Items[i]
			if e.ID != it.ID || e.Status != release.EvidencePending {
				continue
			}
			switch {
			case derr == nil:
				e.Status, e.DoneAt, e.LastError = release.EvidenceRecorded, now, ""
			case permanent:
				e.Attempts++
				e.Status, e.DoneAt, e.LastError = release.EvidenceGaveUp, now, Problem(derr)
			default:
				e.Attempts++
				first = e.Attempts == 1
				e.LastError = Problem(derr)
				wait = w.backoff(e.Attempts, derr)
			}
		}
	})
	if err != nil {
		return d.r, err
	}
	cur := next.Evidence.Item(it.ID)
	switch {
	case derr == nil:
		d.log.Info().Str("item", it.ID).Msg("evidence recorded in Kosli")
	case permanent:
		d.log.Error().Err(derr).Str("item", it.ID).Msg("evidence refused by Kosli: given up")
		w.count(it.Kind, "given_up")
	default:
		d.log.Warn().Err(derr).Str("item", it.ID).Dur("retry_in", wait).Int("attempts", cur.Attempts).Msg("evidence not recorded: will retry")
		w.count(it.Kind, "retried")
		if err := w.o.Store.ScheduleEvidence(ctx, d.r.ID, now.Add(wait)); err != nil {
			return next, err
		}
	}
	if w.o.OnChange != nil && (derr == nil || permanent || first) {
		w.o.OnChange(ctx, next, cur)
	}
	return next, nil
}

func (w *Worker) count(kind release.EvidenceKind, result string) {
	if w.o.Metrics != nil {
		w.o.Metrics.EvidenceFailures.WithLabelValues(string(kind), result).Inc()
	}
}

// backoff is the wait before attempt n+1: what Kosli asked for, or doubling
// from MinBackoff up to MaxBackoff.
func (w *Worker) backoff(attempts int, err error) time.Duration {
	var api *kosli.APIError
	if errors.As(err, &api) && api.RetryAfter > 0 {
		return min(api.RetryAfter, w.o.MaxBackoff)
	}
	d := w.o.MinBackoff
	for i := 1; i < attempts && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.o.MaxBackoff)
}

// retryable says whether another attempt may succeed: Kosli unreachable,
// slow, locked (409), rate limiting or failing (5xx). Any other answer is a
// refusal of what was sent, and sending it again gets the same.
func retryable(err error) bool {
	var api *kosli.APIError
	var invalid *kosli.ValidationError
	switch {
	case errors.As(err, &invalid):
		return false
	case errors.As(err, &api):
		return api.Status == http.StatusConflict || api.Status == http.StatusTooManyRequests ||
			api.Status == http.StatusRequestTimeout || api.Status >= 500
	}
	return true
}

// Problem says in one line why Kosli did not take the evidence.
func Problem(err error) string {
	var api *kosli.APIError
	var unreachable *kosli.UnreachableError
	switch {
	case errors.As(err, &api):
		return fmt.Sprintf("Kosli answered HTTP %d: %s", api.Status, remote.ClipTo(api.Message, 200))
	case errors.As(err, &unreachable):
		return "Kosli could not be reached"
	case errors.Is(err, context.DeadlineExceeded):
		return "Kosli did not answer in time"
	}
	var invalid *kosli.ValidationError
	if errors.As(err, &invalid) {
		return invalid.Error()
	}
	return "the evidence could not be written"
}

var errLostLease = errors.New("another deliverer holds the outbox")

// delivery is one pass over one release's outbox.
type delivery struct {
	w     *Worker
	owner string // of the outbox's lease
	r     *release.Release
	log   zerolog.Logger
	m     *release.Manifest
	raw   []byte // the manifest as stored, which m was parsed from

	mu    sync.Mutex // guards marks: steps of one item run at once
	marks map[string]bool
}

// eachArtifact runs f for every artifact of the manifest, up to
// Options.Parallel at once: the artifacts' steps are independent of each
// other. After the first failure no more are started; it returns that one.
func (d *delivery) eachArtifact(m *release.Manifest, f func(a release.ManifestArtifact) error) error {
	var g errgroup.Group
	g.SetLimit(d.w.o.Parallel)
	var failed atomic.Bool
	for _, a := range m.Artifacts {
		if failed.Load() {
			break
		}
		g.Go(func() error {
			if failed.Load() {
				return nil
			}
			err := f(a)
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	return g.Wait()
}

func (d *delivery) marked(m string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.marks[m]
}

// step runs one request once: skipped when marked done; when an earlier
// attempt may have landed (marked tried), looked for first with found;
// marked tried before it is sent and done after Kosli took it.
func (d *delivery) step(ctx context.Context, name string, found func(context.Context) (bool, error), send func(context.Context) error) error {
	if err := d.loadMarks(ctx); err != nil {
		return err
	}
	if d.marked("done:" + name) {
		return nil
	}
	mark := func(m string) error {
		ok, err := d.w.o.Store.MarkEvidence(ctx, d.r.ID, m, d.owner)
		if err == nil && !ok {
			return errLostLease
		}
		d.mu.Lock()
		d.marks[m] = true
		d.mu.Unlock()
		return err
	}
	if d.marked("tried:"+name) && found != nil {
		ok, err := found(ctx)
		if err != nil {
			return err
		}
		if ok {
			d.log.Info().Str("step", name).Msg("evidence already in Kosli from an attempt whose answer was lost: not sent again")
			return mark("done:" + name)
		}
	}
	if ok, err := d.w.o.Store.RenewLease(ctx, store.EvidenceLease(d.r.ID), d.owner, d.w.o.LeaseTTL); err != nil {
		return err
	} else if !ok {
		return errLostLease
	}
	if found != nil {
		if err := mark("tried:" + name); err != nil {
			return err
		}
	}
	if err := send(ctx); err != nil {
		return err
	}
	return mark("done:" + name)
}

// loadMarks reads the steps already tried and done, once per delivery.
func (d *delivery) loadMarks(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.marks != nil {
		return nil
	}
	marks, err := d.w.o.Store.EvidenceMarks(ctx, d.r.ID)
	if err != nil {
		return err
	}
	d.marks = marks
	return nil
}

// marker is the user_data entry (outbox_id) that makes an attestation
// recognisable as this step's, for the look before a resend: Kosli returns
// an attestation's user_data, not its annotations.
func marker(r *release.Release, step string) string { return r.ID + "/" + step }

// foundAttestation looks on the trail for the attestation name carrying the
// step's marker; with step "", any attestation of that name will do (a name
// the release records once).
func (d *delivery) foundAttestation(name, step string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		got, err := d.w.o.Kosli.TrailAttestations(ctx, d.r.Evidence.Flow, d.r.Evidence.Trail, name)
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(got, func(a kosli.RecordedAttestation) bool {
			id, _ := a.UserData["outbox_id"].(string)
			return step == "" || id == marker(d.r, step)
		}), nil
	}
}

func (d *delivery) manifest(ctx context.Context) (*release.Manifest, error) {
	if d.m != nil {
		return d.m, nil
	}
	data, err := d.w.o.Store.Manifest(ctx, d.r.ID)
	if err != nil {
		return nil, err
	}
	m, err := release.ParseManifest(data)
	if err != nil {
		return nil, err
	}
	d.m, d.raw = m, data
	return m, nil
}

func (d *delivery) item(ctx context.Context, it release.EvidenceItem) error {
	switch it.Kind {
	case release.EvidenceReport:
		return d.report(ctx, it)
	case release.EvidenceDecision:
		return d.decision(ctx, it)
	case release.EvidenceOutcome:
		return d.outcome(ctx, it)
	}
	return &kosli.ValidationError{Field: "evidence item", Value: string(it.Kind), Rule: "unknown kind"}
}

func (d *delivery) pipeline() *config.Pipeline {
	if d.w.o.Config != nil {
		if p, ok := d.w.o.Config.Pipeline(d.r.Pipeline); ok {
			return p
		}
	}
	return &config.Pipeline{Name: d.r.Pipeline}
}

func fingerprint(a release.ManifestArtifact) string { return strings.TrimPrefix(a.Digest, "sha256:") }

// report begins the trail, reports every artifact into it with its
// promotion, and attests the manifest.
func (d *delivery) report(ctx context.Context, it release.EvidenceItem) error {
	k, ev, p := d.w.o.Kosli, d.r.Evidence, d.pipeline()
	m, err := d.manifest(ctx)
	if err != nil {
		return err
	}
	if err := d.step(ctx, "flow", nil, func(ctx context.Context) error {
		return k.EnsureFlow(ctx, ev.Flow, "Releases of pipeline "+p.Name+" ("+p.From+" → "+p.To+"), recorded by release-bot")
	}); err != nil {
		return err
	}
	if err := d.step(ctx, "trail", nil, func(ctx context.Context) error {
		return k.BeginTrail(ctx, ev.Flow, kosli.Trail{
			Name:        ev.Trail,
			Description: fmt.Sprintf("Release %s: %d artifact(s) from %s to %s", d.r.ID, len(m.Artifacts), m.Source.Environment, m.Target.Environment),
			UserData:    map[string]any{"pipeline": d.r.Pipeline, "manifest_digest": d.r.ManifestDigest, "proposer": d.r.Proposer},
		})
	}); err != nil {
		return err
	}
	proms, err := d.w.o.Store.EvidencePromotions(ctx, d.r.ID)
	if err != nil {
		return err
	}
	if len(proms) > 0 {
		if err := d.step(ctx, "type:"+PromotionType, nil, func(ctx context.Context) error {
			return k.EnsureAttestationType(ctx, PromotionType, "One artifact's promotion by release-bot: the entry its deploy is given", d.w.o.PromotionSchema)
		}); err != nil {
			return err
		}
	}
	if err := d.eachArtifact(m, func(a release.ManifestArtifact) error {
		fp := fingerprint(a)
		if err := d.step(ctx, "artifact:"+a.Service, nil, func(ctx context.Context) error {
			return k.ReportArtifact(ctx, ev.Flow, kosli.Artifact{
				Fingerprint: fp, Name: a.Name, GitCommit: a.Commit.SHA, CommitURL: a.Commit.URL,
				TemplateReferenceName: a.Service, TrailName: ev.Trail,
			})
		}); err != nil {
			return err
		}
		entry, ok := proms[a.Service]
		if !ok {
			return nil
		}
		var data map[string]any
		if err := json.Unmarshal(entry, &data); err != nil {
			return &kosli.ValidationError{Field: "promotion of " + a.Service, Value: string(entry), Rule: err.Error()}
		}
		step, name := "promotion:"+a.Service, a.Service+".promotion"
		ann := map[string]string{"release_id": d.r.ID}
		if diff, _ := data["deployment_diff_url"].(string); diff != "" {
			ann["deployment_diff_URL"] = diff
		} else if diff, _ := data["compare_url"].(string); diff != "" {
			ann["deployment_diff_URL"] = diff
		}
		return d.step(ctx, step, d.foundAttestation(name, step), func(ctx context.Context) error {
			return k.AttestCustom(ctx, ev.Flow, ev.Trail, kosli.Attestation{
				Name: name, TypeName: PromotionType, Data: data, ArtifactFingerprint: fp, Annotations: ann,
				UserData: map[string]any{"outbox_id": marker(d.r, step)},
			})
		})
	}); err != nil {
		return err
	}
	var doc map[string]any // the manifest as proposed, read once by d.manifest
	if err := json.Unmarshal(d.raw, &doc); err != nil {
		return err
	}
	passed := d.r.Gate == nil || d.r.Gate.Passed
	// The workflow's gate reads manifest_digest and promotions_sha256 back
	// (kosli get attestation); Kosli's answer carries user_data, so they are
	// there as well as in the annotations.
	ann := map[string]string{"manifest_digest": d.r.ManifestDigest, "pipeline": d.r.Pipeline}
	ud := map[string]any{"manifest_digest": d.r.ManifestDigest, "manifest": doc}
	if sum := promotionsSum(d.r); sum != "" {
		ann["promotions_sha256"], ud["promotions_sha256"] = sum, sum
	}
	if ct := m.ChangeTicket; ct != nil {
		ann["change_ticket"] = ct.ID
		ticket := map[string]any{"id": ct.ID}
		if ct.URL != "" {
			ann["change_ticket_url"], ticket["url"] = ct.URL, ct.URL
		}
		ud["change_ticket"] = ticket
	}
	return d.step(ctx, "manifest", d.foundAttestation("release-manifest", ""), func(ctx context.Context) error {
		return k.AttestGeneric(ctx, ev.Flow, ev.Trail, kosli.Attestation{
			Name: "release-manifest", Compliant: &passed, UserData: ud, Annotations: ann,
			Description: "The release manifest as proposed: what was approved is exactly what ships",
		})
	})
}

// promotionsSum is the sha256 of the promotions workflow input exactly as it
// is dispatched, for the workflow's gate to compare with what it was given.
func promotionsSum(r *release.Release) string {
	det, err := r.ReadDetails()
	if err != nil || det.Inputs["promotions"] == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(det.Inputs["promotions"]))
	return hex.EncodeToString(sum[:])
}

// decision records the release's verdict on every artifact, for the
// pipeline's control.
func (d *delivery) decision(ctx context.Context, it release.EvidenceItem) error {
	ev := d.r.Evidence
	if ev.Control == "" {
		return nil // the pipeline records no decisions
	}
	m, err := d.manifest(ctx)
	if err != nil {
		return err
	}
	data := map[string]any{
		"release_id": d.r.ID, "manifest_digest": d.r.ManifestDigest, "required": d.r.Required,
		"decision": string(it.Cause), "approvers": d.approvers(ctx),
	}
	if it.By != "" {
		data["by"] = it.By
	}
	if it.Note != "" {
		data["note"] = it.Note
	}
	if bg := d.r.BreakGlass; bg != nil {
		// A break-glass release's decision says its review: pending until
		// an approver gives it, then ok or not_ok (recorded non-compliant).
		review := "pending"
		if it.ID == "decision-review" && bg.Review != nil {
			review = map[bool]string{true: "ok", false: "not_ok"}[bg.Review.OK]
		}
		data["break_glass"] = map[string]any{"reason": bg.Reason, "by": bg.By, "review_due": bg.ReviewDue.UTC().Format(time.RFC3339), "review": review}
	}
	if err := d.loadMarks(ctx); err != nil {
		return err
	}
	return d.eachArtifact(m, func(a release.ManifestArtifact) error {
		step, name := it.ID+":"+a.Service, a.Service+".decision"
		compliant := it.Compliant
		ud := maps.Clone(data)
		ud["outbox_id"] = marker(d.r, step)
		return d.step(ctx, step, d.foundAttestation(name, step), func(ctx context.Context) error {
			return d.w.o.Kosli.AttestDecision(ctx, ev.Flow, ev.Trail, kosli.Attestation{
				Name: name, Control: ev.Control, Compliant: &compliant, ArtifactFingerprint: fingerprint(a), UserData: ud,
				Annotations: map[string]string{"release_id": d.r.ID, "manifest_digest": d.r.ManifestDigest},
			})
		})
	})
}

// approvers lists who approved, with their name and e-mail when Slack says.
func (d *delivery) approvers(ctx context.Context) []map[string]any {
	out := []map[string]any{}
	for _, a := range d.r.Approvals {
		p := map[string]any{"slack_id": a.UserID, "at": a.At.UTC().Format(time.RFC3339)}
		if d.w.o.People != nil {
			if u, err := d.w.o.People.User(ctx, a.UserID); err == nil && u != nil {
				if u.RealName != "" {
					p["name"] = u.RealName
				}
				if u.Profile.Email != "" {
					p["email"] = u.Profile.Email
				}
			} else if err != nil {
				d.log.Warn().Err(err).Str("user", a.UserID).Msg("approver's name not read from Slack; recorded by id")
			}
		}
		out = append(out, p)
	}
	return out
}

// outcome records a generic attestation on the trail.
func (d *delivery) outcome(ctx context.Context, it release.EvidenceItem) error {
	ev := d.r.Evidence
	step := "outcome:" + it.ID
	compliant := it.Compliant
	ud := maps.Clone(it.Data)
	if ud == nil {
		ud = map[string]any{}
	}
	ud["outbox_id"] = marker(d.r, step)
	return d.step(ctx, step, d.foundAttestation(it.Name, step), func(ctx context.Context) error {
		return d.w.o.Kosli.AttestGeneric(ctx, ev.Flow, ev.Trail, kosli.Attestation{
			Name: it.Name, Compliant: &compliant, UserData: ud,
			Annotations: map[string]string{"manifest_digest": d.r.ManifestDigest, "pipeline": d.r.Pipeline},
		})
	})
}

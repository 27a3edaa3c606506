package evidence_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/evidence"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/metrics"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
	"github.com/release-bot/release-bot/schema"
)

const (
	org     = "acme"
	control = "release-approved"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// env is a store on a real Redis, the fake Kosli, and a release of n
// artifacts proposed on them.
type env struct {
	t     *testing.T
	st    *store.Store
	kosli *kositest.Server
	kc    *kosli.Client
	cfg   *config.Config
	rel   *release.Release
	m     *release.Manifest
	met   *metrics.Metrics

	mu      sync.Mutex
	changes []release.EvidenceItem
}

func newEnv(t *testing.T, n int, real bool) *env {
	t.Helper()
	var rdb redis.UniversalClient
	prefix := store.DefaultPrefix
	if real {
		rdb = redistest.Start(t)
		prefix = redistest.Prefix(t)
	} else {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		rdb = c
	}
	st := store.New(rdb, store.Options{Prefix: prefix})
	ks := kositest.Start(t, org, "tok")
	ks.AddControl(control, "Release approved")
	kc, err := kosli.New(kosli.Options{
		Host: ks.URL(), Org: org, Token: secret.New("tok"),
		// One attempt per call: the outbox does the retrying here.
		Retry: retry.Policy{Attempts: 1}, Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &config.Pipeline{Name: "prod", From: "aws-beta", To: "aws-prod", Evidence: config.Evidence{Flow: "prod-release", Control: control, Timeout: config.DefaultEvidenceTimeout}}
	e := &env{t: t, st: st, kosli: ks, kc: kc, cfg: &config.Config{Pipelines: []*config.Pipeline{p}}, met: metrics.New()}
	e.propose(n)
	return e
}

// propose creates a release of n artifacts with its report in the outbox,
// as the bot's propose does.
func (e *env) propose(n int) {
	t := e.t
	links := release.Links{Host: "https://app.kosli.com", Org: org}
	plan := release.Compute(releasetest.GenerateDiff(4*n), release.PlanOptions{Now: t0, Links: links})
	if len(plan.Promotions) < n {
		t.Fatalf("the generated diff has %d promotions, want %d", len(plan.Promotions), n)
	}
	plan.Promotions = plan.Promotions[:n]
	id := "prod-2026-12-03-1"
	ev := release.Evidence{Flow: "prod-release", Trail: id, Control: control, URL: links.Trail("prod-release", id)}
	m, err := release.NewManifest(&plan, release.ManifestMeta{ReleaseID: id, Pipeline: "prod", CreatedAt: t0, ProposerID: "UPROPOSER", ProposerName: "Pat Proposer", Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	proms := map[string]json.RawMessage{}
	for i := range plan.Promotions {
		proms[plan.Promotions[i].Service] = release.MatrixItem(&plan.Promotions[i])
	}
	r := &release.Release{ID: id, Pipeline: "prod", ManifestDigest: m.SealedDigest, Proposer: "UPROPOSER", Required: 1,
		ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0, Gate: &release.Gate{Passed: true}, Evidence: &ev}
	r.AddEvidence(release.EvidenceItem{ID: "report", Kind: release.EvidenceReport, CreatedAt: t0})
	if err := e.st.Create(context.Background(), r, data, proms); err != nil {
		t.Fatal(err)
	}
	e.rel, e.m = r, m
}

func (e *env) worker(owner string) *evidence.Worker {
	return evidence.New(evidence.Options{
		Store: e.st, Kosli: e.kc, Config: e.cfg, PromotionSchema: schema.PromotionMatrixJSON(), Owner: owner,
		Metrics: e.met, Logger: zerolog.Nop(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		OnChange: func(_ context.Context, _ *release.Release, it release.EvidenceItem) {
			e.mu.Lock()
			e.changes = append(e.changes, it)
			e.mu.Unlock()
		},
	})
}

// decide moves the release as the bot does when it is approved and goes
// to dispatch, with the compliant decision in the same compare-and-set.
func (e *env) decide(to release.State, compliant bool) {
	e.t.Helper()
	ctx := context.Background()
	if to == release.Dispatching {
		if _, err := e.st.Approve(ctx, e.rel.ID, release.Approval{UserID: "UAPPROVER", Digest: e.rel.ManifestDigest, At: t0}); err != nil {
			e.t.Fatal(err)
		}
	}
	cause := to
	if compliant {
		cause = release.Approved
	}
	if _, err := e.st.Transition(ctx, e.rel.ID, to, store.TransitionOpts{Update: func(x *release.Release) {
		x.AddEvidence(release.EvidenceItem{ID: "decision-" + string(cause), Kind: release.EvidenceDecision, Compliant: compliant, Cause: cause, CreatedAt: t0})
	}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deliverAll(w *evidence.Worker) *release.Release {
	e.t.Helper()
	ctx := context.Background()
	var r *release.Release
	for range 50 {
		var err error
		if r, err = w.Deliver(ctx, e.rel.ID); err != nil {
			e.t.Fatal(err)
		}
		if !r.Evidence.Pending() {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("evidence still pending: %+v", r.Evidence.Items)
	return nil
}

// count is how many attestations of a name Kosli holds on the trail.
func (e *env) count(name string) int {
	n := 0
	for _, a := range e.kosli.Attestations() {
		if a.Trail == e.rel.ID && a.Name == name {
			n++
		}
	}
	return n
}

// TestAReleaseIsRecordedPerArtifact: the trail, each artifact reported into
// it (POST /artifacts with trail_name and template_reference_name, as the
// Kosli CLI's own tests report an artifact before binding attestations to
// it: kosli-dev/cli cmd/kosli/attestGeneric_test.go), its promotion, the
// manifest, and then one decision per artifact for the control; the target's
// policy then finds each artifact compliant.
func TestAReleaseIsRecordedPerArtifact(t *testing.T) {
	for _, real := range []bool{false, true} {
		t.Run(map[bool]string{false: "miniredis", true: "redis-server"}[real], func(t *testing.T) {
			e := newEnv(t, 5, real)
			if err := e.kosli.AttachPolicy("aws-prod", "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  attestations:\n    - name: decision\n      type: decision\n      for_control: "+control+"\n"); err != nil {
				t.Fatal(err)
			}
			w := e.worker("a")
			before := len(e.kosli.Requests())
			r := e.deliverAll(w)
			if !r.Evidence.Reported() {
				t.Fatalf("report not recorded: %+v", r.Evidence.Items)
			}
			if got := len(e.kosli.Artifacts()); got != 5 {
				t.Errorf("%d artifacts reported into the trail, want 5", got)
			}
			for _, a := range e.m.Artifacts {
				if n := e.count(a.Service + ".promotion"); n != 1 {
					t.Errorf("%s.promotion recorded %d times, want 1", a.Service, n)
				}
			}
			if n := e.count("release-manifest"); n != 1 {
				t.Errorf("release-manifest recorded %d times", n)
			}
			reportRequests := len(e.kosli.Requests()) - before
			fp := strings.TrimPrefix(e.m.Artifacts[0].Digest, "sha256:")
			if c, err := e.kc.Compliance(context.Background(), fp, "aws-prod"); err != nil || c.Compliant {
				t.Fatalf("before the decision the target's assert = %+v, %v; want non-compliant", c, err)
			}

			e.decide(release.Dispatching, true)
			before = len(e.kosli.Requests())
			r = e.deliverAll(w)
			if !r.Evidence.DecisionRecorded() {
				t.Fatalf("decision not recorded: %+v", r.Evidence.Items)
			}
			decisionRequests := len(e.kosli.Requests()) - before
			for _, a := range e.m.Artifacts {
				if n := e.count(a.Service + ".decision"); n != 1 {
					t.Errorf("%s.decision recorded %d times, want 1", a.Service, n)
				}
				c, err := e.kc.Compliance(context.Background(), strings.TrimPrefix(a.Digest, "sha256:"), "aws-prod")
				if err != nil || !c.Compliant {
					t.Errorf("%s after the decision: %+v, %v; want compliant", a.Service, c, err)
				}
			}
			for _, a := range e.kosli.Attestations() {
				if a.Kind == "system" && a.Control != control {
					t.Errorf("decision %s for control %q, want %q", a.Name, a.Control, control)
				}
			}
			t.Logf("5 artifacts: report %d Kosli requests, decision %d", reportRequests, decisionRequests)
			// flow, trail, type (GET, POST), then per artifact report + promotion, then the manifest.
			if want := 4 + 2*5 + 1; reportRequests != want {
				t.Errorf("report took %d requests, want %d", reportRequests, want)
			}
			if decisionRequests != 5 {
				t.Errorf("decision took %d requests, want 5 (one per artifact)", decisionRequests)
			}
		})
	}
}

// TestAnAnswerLostAfterKosliTookItIsNotSentTwice: Kosli records the
// attestation and the answer is a 502 (the fake processes, then fails:
// fakekit.Response.Process). The retry looks on the trail first
// (GET /attestations/{org}/{flow}/trail/{trail}/{name}, as `kosli get
// attestation` reads it: kosli-dev/cli cmd/kosli/getAttestation.go) and
// finds it by the step's outbox_id in its user_data.
func TestAnAnswerLostAfterKosliTookItIsNotSentTwice(t *testing.T) {
	e := newEnv(t, 3, false)
	w := e.worker("a")
	e.deliverAll(w)
	e.decide(release.Dispatching, true)
	e.kosli.Script(kositest.RouteAttestations, kositest.Response{Process: true, Status: http.StatusBadGateway, Body: `{"message":"bad gateway"}`})
	r := e.deliverAll(w)
	if !r.Evidence.DecisionRecorded() {
		t.Fatalf("decision not recorded: %+v", r.Evidence.Items)
	}
	for _, a := range e.m.Artifacts {
		if n := e.count(a.Service + ".decision"); n != 1 {
			t.Errorf("%s.decision recorded %d times after a lost answer, want 1", a.Service, n)
		}
	}
	reads := 0
	for _, q := range e.kosli.RequestsTo(kositest.RouteAttestations) {
		if q.Method == http.MethodGet {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d reads of the trail's attestations, want 1 (only the step whose answer was lost)", reads)
	}
}

// TestALockedTrailIsRetriedAfterItsRetryAfter: a 409 with Retry-After (the
// trail lock the Kosli CLI retries: kosli-dev/cli internal/requests) is
// retried, not given up, and the wait asked for is the one scheduled.
func TestALockedTrailIsRetriedAfterItsRetryAfter(t *testing.T) {
	e := newEnv(t, 2, false)
	e.kosli.ConflictNext(e.rel.ID, 1, 3*time.Second)
	w := evidence.New(evidence.Options{
		Store: e.st, Kosli: e.kc, Config: e.cfg, PromotionSchema: schema.PromotionMatrixJSON(), Owner: "a",
		Logger: zerolog.Nop(), Metrics: e.met, MaxBackoff: time.Minute,
	})
	r, err := w.Deliver(context.Background(), e.rel.ID)
	if err != nil {
		t.Fatal(err)
	}
	it := r.Evidence.Item("report")
	if it.Status != release.EvidencePending || it.Attempts != 1 || !strings.Contains(it.LastError, "409") {
		t.Fatalf("after a 409 the report is %+v", it)
	}
	now := time.Now()
	if due, _ := e.st.DueEvidence(context.Background(), now.Add(2*time.Second), 10); len(due) != 0 {
		t.Errorf("due again before the Retry-After of 3s: %v", due)
	}
	if due, _ := e.st.DueEvidence(context.Background(), now.Add(4*time.Second), 10); len(due) != 1 {
		t.Errorf("not due after the Retry-After: %v", due)
	}
	if r = e.deliverAll(w); !r.Evidence.Reported() {
		t.Fatalf("not recorded on the retry: %+v", r.Evidence.Items)
	}
}

// TestARefusalIsGivenUpAndSaid: a 400 is a refusal that no retry changes:
// the item is given up, OnChange told, the failure counted.
func TestARefusalIsGivenUpAndSaid(t *testing.T) {
	e := newEnv(t, 1, false)
	e.kosli.FailNext(kositest.RouteFlows, 1, http.StatusBadRequest)
	w := e.worker("a")
	r, err := w.Deliver(context.Background(), e.rel.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it := r.Evidence.Item("report"); it.Status != release.EvidenceGaveUp || !strings.Contains(it.LastError, "400") {
		t.Fatalf("report after a 400: %+v", it)
	}
	if len(e.changes) != 1 || e.changes[0].Status != release.EvidenceGaveUp {
		t.Errorf("OnChange told %+v, want the given-up report once", e.changes)
	}
	if got := counter(t, e.met, "report", "given_up"); got != 1 {
		t.Errorf("given_up counter = %v, want 1", got)
	}
}

// TestTwoWorkersDeliverEachStepOnce: replicas sweeping at once hold the
// outbox by its lease; every attestation is recorded once.
func TestTwoWorkersDeliverEachStepOnce(t *testing.T) {
	e := newEnv(t, 8, true)
	e.decide(release.Dispatching, true)
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b", "c"} {
		w := e.worker(owner)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				r, err := w.Deliver(context.Background(), e.rel.ID)
				if err == nil && r != nil && !r.Evidence.Pending() {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for _, a := range e.m.Artifacts {
		for _, name := range []string{a.Service + ".promotion", a.Service + ".decision"} {
			if n := e.count(name); n != 1 {
				t.Errorf("%s recorded %d times by three workers, want 1", name, n)
			}
		}
	}
}

// TestADeliveryCutShortResumesWithoutRepeats: the process delivering dies
// (its context ends) part-way; after its lease runs out another delivers the
// rest, and what Kosli took before is not sent again.
func TestADeliveryCutShortResumesWithoutRepeats(t *testing.T) {
	e := newEnv(t, 6, false)
	w := evidence.New(evidence.Options{
		Store: e.st, Kosli: e.kc, Config: e.cfg, PromotionSchema: schema.PromotionMatrixJSON(), Owner: "dies",
		Logger: zerolog.Nop(), LeaseTTL: 200 * time.Millisecond,
	})
	// The sixth attestation hangs until the deliverer gives up.
	e.kosli.Script(kositest.RouteAttestations, kositest.Response{PassThrough: true}, kositest.Response{PassThrough: true},
		kositest.Response{PassThrough: true}, kositest.Response{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, _ = w.Deliver(ctx, e.rel.ID)
	cancel()
	e.kosli.Clear(kositest.RouteAttestations)
	took := len(e.kosli.Attestations())
	if took == 0 || took >= 7 {
		t.Fatalf("%d attestations before the cut, want some but not all", took)
	}
	time.Sleep(250 * time.Millisecond) // its lease runs out
	if r := e.deliverAll(e.worker("next")); !r.Evidence.Reported() {
		t.Fatalf("not recorded after the resume: %+v", r.Evidence.Items)
	}
	for _, a := range e.m.Artifacts {
		if n := e.count(a.Service + ".promotion"); n != 1 {
			t.Errorf("%s.promotion recorded %d times across the cut, want 1", a.Service, n)
		}
	}
}

func counter(t *testing.T, m *metrics.Metrics, kind, result string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "releasebot_evidence_delivery_failures_total" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["result"] == result {
				return mm.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no counter kind=%s result=%s", kind, result)
	return 0
}

// TestAnOutcomeIsRetriedUntilKosliTakesIt: the deployment's attestation,
// written with the release's end, survives a 503 and is recorded once; the
// pending gauge counts the release while it waits.
func TestAnOutcomeIsRetriedUntilKosliTakesIt(t *testing.T) {
	e := newEnv(t, 2, false)
	w := e.worker("a")
	e.deliverAll(w)
	if _, err := e.st.Transition(context.Background(), e.rel.ID, release.Cancelled, store.TransitionOpts{Update: func(x *release.Release) {
		x.AddEvidence(release.EvidenceItem{ID: "deployment", Kind: release.EvidenceOutcome, Name: "deployment", Data: map[string]any{"run": "r"}, CreatedAt: t0})
	}}); err != nil {
		t.Fatal(err)
	}
	e.kosli.FailNext(kositest.RouteAttestations, 1, http.StatusServiceUnavailable)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	// Between the failed attempt and the next (the worker looks every 2s),
	// the gauge counts the release.
	for gauge(t, e.met) != 1 {
		if time.Now().After(deadline) || e.count("deployment") != 0 {
			t.Fatal("the pending gauge never counted the waiting release")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for e.count("deployment") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("deployment not recorded: %+v", e.kosli.Attestations())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Kosli has it; the outbox says so once the worker has settled it.
	var it release.EvidenceItem
	for {
		r, err := e.st.Get(context.Background(), e.rel.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it = r.Evidence.Item("deployment"); it.Status != release.EvidencePending || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if it.Status != release.EvidenceRecorded || it.Attempts != 1 {
		t.Errorf("deployment item %+v, want recorded after 1 failed attempt", it)
	}
	if got := counter(t, e.met, "outcome", "retried"); got != 1 {
		t.Errorf("retried counter = %v, want 1", got)
	}
	// Once nothing is pending the gauge is back at 0.
	for time.Now().Before(deadline) && gauge(t, e.met) != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if g := gauge(t, e.met); g != 0 {
		t.Errorf("pending gauge = %v after delivery, want 0", g)
	}
}

func gauge(t *testing.T, m *metrics.Metrics) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "releasebot_evidence_outbox_pending" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no releasebot_evidence_outbox_pending")
	return 0
}

// TestTheArtifactsOfAnItemAreSentAtOnce: the decisions of a release's
// artifacts are all in flight together (Kosli holds each one here), not one
// after another; once Kosli answers, each is recorded once.
func TestTheArtifactsOfAnItemAreSentAtOnce(t *testing.T) {
	const n = 5
	e := newEnv(t, n, false)
	w := e.worker("a")
	e.deliverAll(w)
	e.decide(release.Dispatching, true)
	before := len(e.kosli.RequestsTo(kositest.RouteAttestations))
	for range n {
		e.kosli.Script(kositest.RouteAttestations, kositest.Hang())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := w.Deliver(ctx, e.rel.ID); done <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.kosli.RequestsTo(kositest.RouteAttestations))-before < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d decisions in flight at once", len(e.kosli.RequestsTo(kositest.RouteAttestations))-before, n)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	r := e.deliverAll(w)
	if !r.Evidence.DecisionRecorded() {
		t.Fatalf("decision not recorded: %+v", r.Evidence.Items)
	}
	for _, a := range e.m.Artifacts {
		if got := e.count(a.Service + ".decision"); got != 1 {
			t.Errorf("%s.decision recorded %d times, want 1", a.Service, got)
		}
	}
}

// TestAnItemAddedDuringAPassIsDeliveredByIt: a release rejected while its
// report is being sent gets its decision in the same pass, not left behind
// by a pass that then takes the release off the due set.
func TestAnItemAddedDuringAPassIsDeliveredByIt(t *testing.T) {
	e := newEnv(t, 2, false)
	w := e.worker("a")
	e.kosli.Script(kositest.RouteAttestations, kositest.Response{PassThrough: true, Delay: time.Second})
	done := make(chan *release.Release, 1)
	go func() {
		r, err := w.Deliver(context.Background(), e.rel.ID)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	deadline := time.Now().Add(5 * time.Second)
	for e.kosli.Pending(kositest.RouteAttestations) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the report's first attestation was not sent")
		}
		time.Sleep(time.Millisecond)
	}
	e.decide(release.Rejected, false)
	r := <-done
	if r == nil || r.Evidence.Pending() {
		t.Fatalf("after the pass: %+v", r)
	}
	for _, a := range e.m.Artifacts {
		if got := e.count(a.Service + ".decision"); got != 1 {
			t.Errorf("%s.decision recorded %d times, want 1", a.Service, got)
		}
	}
}

package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

// DriftReport posts pipeline p's drift report in its channel: what waits
// to go from p.From to p.To and for how long, each artifact's compliance in
// p.To, what blocks a release, and a Propose button (or the open release).
// A scheduled report honours quiet_when_empty; one someone asked for is
// always answered. When Kosli cannot be read the channel is told so, and
// the error is returned too, for the caller's log.
func (h *Handler) DriftReport(ctx context.Context, p *config.Pipeline, scheduled bool) error {
	log := h.d.Logger.With().Str("pipeline", p.Name).Bool("scheduled", scheduled).Logger()
	_, err := h.postDrift(ctx, &invocation{log: log}, p, scheduled)
	return err
}

// drift answers /release drift: the report, in the channel.
func (h *Handler) drift(ctx context.Context, inv *invocation, p *config.Pipeline) error {
	posted, err := h.postDrift(ctx, inv, p, false)
	if !posted {
		return err
	}
	// A report that could not read Kosli says so in the channel, and the
	// log has why under its ref: nothing more for the person.
	inv.working.done(ctx)
	return nil
}

// postDrift builds and posts the report; posted is false when nothing was
// posted (a quiet empty report, or Slack refused it).
func (h *Handler) postDrift(ctx context.Context, inv *invocation, p *config.Pipeline, scheduled bool) (posted bool, err error) {
	v := DriftView{
		Pipeline: p.Name, From: p.From, To: p.To, StaleAfter: config.DefaultStaleAfter.Duration(),
		Links: h.d.Links, At: h.d.Now(),
	}
	if dr := p.DriftReport; dr != nil {
		v.StaleAfter = dr.StaleAfter.Duration()
		v.Quiet = scheduled && dr.QuietWhenEmpty
	}
	v.Overdue = h.overdueReviews(ctx, p)
	plan, kerr := h.plan(ctx, p, nil)
	if kerr != nil {
		v.Problem = h.explain(inv, kerr) // logs why, under the ref it shows
	} else {
		v.Plan = plan
		v.Compliance = h.targetCompliance(ctx, inv.log, p, plan)
		v.Open = h.openRelease(ctx, inv.log, p)
		v.Freeze = h.freezeFor(ctx, p)
		v.Soaking = map[string]release.Soaking{}
		for _, s := range plan.Soaking(p.MinSoak.Duration(), v.At) {
			v.Soaking[s.Service] = s
		}
	}
	msg, ok := DriftMessage(v)
	if !ok {
		inv.log.Info().Msg("drift report: nothing waits, and the report is quiet when empty")
		return false, nil
	}
	if _, err := h.d.Slack.PostMessage(ctx, string(p.Channel), "", msg.Text, msg.Blocks); err != nil {
		return false, fmt.Errorf("posting the drift report of %s: %w", p.Name, err)
	}
	if kerr != nil {
		return true, kerr
	}
	inv.log.Info().Int("waiting", len(plan.Promotions)).Bool("refused", plan.Refused()).Bool("open_release", v.Open != nil).Msg("drift report posted")
	return true, nil
}

// targetCompliance asks Kosli whether each waiting artifact is compliant in
// the target, a bounded number at a time. Unlike the release gate, one
// failed question does not fail the whole: the report shows that artifact's
// compliance as not known, and the log says why.
func (h *Handler) targetCompliance(ctx context.Context, log zerolog.Logger, p *config.Pipeline, plan *release.Plan) map[string]release.Compliance {
	out := map[string]release.Compliance{}
	if h.d.Gate == nil || len(plan.Promotions) == 0 {
		return out
	}
	results := make([]*release.Compliance, len(plan.Promotions))
	var g errgroup.Group
	limit := h.d.GateParallel
	if limit <= 0 {
		limit = 8
	}
	g.SetLimit(limit)
	for i := range plan.Promotions {
		fp := plan.Promotions[i].Incoming.Fingerprint
		g.Go(func() error {
			cctx, cancel := context.WithTimeout(ctx, h.d.KosliTimeout)
			defer cancel()
			c, err := h.d.Gate.Compliance(cctx, fp, p.To)
			if err != nil {
				log.Warn().Err(err).Str("fingerprint", fp).Msg("drift report: compliance not known")
				return nil
			}
			c.Fingerprint, c.Environment = fp, p.To
			c.MarkOwnControl(p.Evidence.Control)
			results[i] = &c
			return nil
		})
	}
	_ = g.Wait()
	for _, c := range results {
		if c != nil {
			out[c.Fingerprint] = *c
		}
	}
	return out
}

// openRelease is the pipeline's open release, nil when there is none or it
// cannot be read (then the button is offered, and propose says the rest).
func (h *Handler) openRelease(ctx context.Context, log zerolog.Logger, p *config.Pipeline) *release.Release {
	if h.d.Releases == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := h.d.Releases.Active(rctx, p.Name)
	if err != nil {
		log.Warn().Err(err).Msg("drift report: the open release could not be read")
		return nil
	}
	return r
}

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli"
)

// controlReader reads a Kosli control (GET /controls/{org}/{id}).
type controlReader interface {
	Control(ctx context.Context, id string) (kosli.Control, error)
}

// checkControls makes sure each pipeline's evidence.control exists in Kosli:
// a decision recorded for a control the org lacks is refused, and the
// deploy's gate would then refuse every artifact. A missing control stops
// the start with what to run; Kosli not answering does not (readiness
// reports it until it does).
func checkControls(ctx context.Context, k controlReader, cfg *config.Config, org string) error {
	missing, _ := missingControls(ctx, k, cfg)
	var errs []error
	for _, p := range missing {
		errs = append(errs, missingControl(p, org))
	}
	return errors.Join(errs...)
}

// missingControls asks Kosli for each pipeline's evidence.control and
// returns the pipelines whose control it does not have (404); err is the
// first other failure, with the pipelines found missing before it.
func missingControls(ctx context.Context, k controlReader, cfg *config.Config) (missing []*config.Pipeline, err error) {
	for _, p := range cfg.Pipelines {
		if p.Evidence.Control == "" {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := k.Control(cctx, p.Evidence.Control)
		cancel()
		switch {
		case errors.Is(err, kosli.ErrNotFound):
			missing = append(missing, p)
		case err != nil:
			return missing, err
		}
	}
	return missing, nil
}

func missingControl(p *config.Pipeline, org string) error {
	return fmt.Errorf("pipeline %s: Kosli org %q has no control %q (its evidence.control). Create it with\n"+
		"  kosli create control %s --name %q --description \"Releases approved in Slack by release-bot\" --org %s\n"+
		"and attach a policy that requires it to %s (see deploy/kosli/README.md)",
		p.Name, org, p.Evidence.Control, p.Evidence.Control, "Release approved", org, p.To)
}

// controlsCheck is the readiness check of the configured controls: not
// ready while Kosli says one is missing (deleted after the start, say). It
// asks Kosli at most once every `every` (a minute), so that a probe every few
// seconds is not as many Kosli requests; Kosli not answering keeps the last verdict, as the
// bot still works then (the evidence waits in its outbox).
func controlsCheck(k controlReader, cfg *config.Config, every time.Duration) func(context.Context) error {
	if every <= 0 {
		every = time.Minute
	}
	var (
		mu     sync.Mutex
		last   time.Time
		result error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !last.IsZero() && time.Since(last) < every {
			return result
		}
		missing, err := missingControls(ctx, k, cfg)
		if err != nil {
			return result
		}
		var errs []error
		for _, p := range missing {
			errs = append(errs, fmt.Errorf("pipeline %s: Kosli has no control %q", p.Name, p.Evidence.Control))
		}
		last, result = time.Now(), errors.Join(errs...)
		return result
	}
}

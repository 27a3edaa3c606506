// Package drift runs each pipeline's drift report on its cron schedule: at
// the scheduled time the pipeline's channel is told what waits to be
// released, and for how long.
//
// Several replicas may run the scheduler at once; each scheduled time is
// reported once, by whichever replica first takes its lease in Redis
// (drift:<pipeline>:<scheduled unix>). The lease is never given back: it
// lapses a day later, long after any replica could still want that time.
// Only times strictly after the scheduler starts are run, and a replica that
// wakes up long after a time (a paused process, a clock jump) skips it, so
// neither a restart nor a late replica posts a stale duplicate.
package drift

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
)

// Reporter posts one pipeline's drift report; scheduled is true for a run
// of the schedule (and false for a report someone asked for).
type Reporter interface {
	DriftReport(ctx context.Context, p *config.Pipeline, scheduled bool) error
}

// Leaser hands out leases shared by every replica; *store.Store is one.
type Leaser interface {
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
}

// Clock is the time the scheduler reads and waits on; tests drive their own.
type Clock interface {
	Now() time.Time
	// After sends the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Defaults for what Options leaves out.
const (
	// DefaultTolerance is how late a replica may wake up and still run a report.
	DefaultTolerance = 10 * time.Minute
	// DefaultLeaseTTL keeps a scheduled time taken for long enough that no
	// replica, however late, could still run it.
	DefaultLeaseTTL = 25 * time.Hour
	// DefaultReportTimeout bounds one report (reading Kosli, posting).
	DefaultReportTimeout = 5 * time.Minute
	// maxWait is the longest single wait: waking up at least this often
	// notices a wall-clock jump, which a timer on the monotonic clock would not.
	maxWait = time.Minute
)

// Options configures a Scheduler.
type Options struct {
	// Pipelines are the configured pipelines; those without a drift report are left out.
	Pipelines []*config.Pipeline
	Reporter  Reporter
	Leaser    Leaser
	// Owner names this replica in the leases it takes (serve passes its replica id).
	Owner string
	// Clock is real time when nil.
	Clock  Clock
	Logger zerolog.Logger
	// Tolerance, LeaseTTL and ReportTimeout default to the Default… constants.
	Tolerance     time.Duration
	LeaseTTL      time.Duration
	ReportTimeout time.Duration
}

// Scheduler runs the drift reports. Build it with New.
type Scheduler struct {
	o Options
}

// New returns a Scheduler; it does nothing until Run.
func New(o Options) *Scheduler {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.ReportTimeout <= 0 {
		o.ReportTimeout = DefaultReportTimeout
	}
	return &Scheduler{o: o}
}

// Scheduled reports whether some pipeline has a drift report, and so
// whether a Scheduler has anything to do.
func Scheduled(pipelines []*config.Pipeline) bool {
	for _, p := range pipelines {
		if p.DriftReport != nil && !p.DriftReport.Schedule.IsZero() {
			return true
		}
	}
	return false
}

// Run runs every pipeline's schedule until ctx ends, then returns nil. A
// failing or panicking report is logged and the schedule goes on.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.o.Reporter == nil || s.o.Leaser == nil || s.o.Owner == "" {
		return errors.New("drift: the scheduler needs a Reporter, a Leaser and an Owner")
	}
	var wg sync.WaitGroup
	for _, p := range s.o.Pipelines {
		if p.DriftReport == nil || p.DriftReport.Schedule.IsZero() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, p)
		}()
	}
	wg.Wait()
	return nil
}

// loop runs one pipeline's schedule.
func (s *Scheduler) loop(ctx context.Context, p *config.Pipeline) {
	sched := p.DriftReport.Schedule
	log := s.o.Logger.With().Str("pipeline", p.Name).Str("schedule", sched.String()).Logger()
	from := s.o.Clock.Now()
	log.Info().Time("next", sched.Next(from)).Msg("drift report scheduled")
	for {
		next := sched.Next(from)
		if next.IsZero() {
			log.Warn().Msg("the drift report's schedule fires no more")
			return
		}
		if !s.waitUntil(ctx, next) {
			return
		}
		if late := s.o.Clock.Now().Sub(next); late > s.o.Tolerance {
			// Whatever else was missed while asleep is skipped with it:
			// a report hours late is noise, and another replica ran it.
			from = s.o.Clock.Now()
			log.Warn().Time("scheduled", next).Dur("late", late).Time("next", sched.Next(from)).
				Msg("drift report skipped: woke up too long after its time")
			continue
		}
		s.run(ctx, p, next, log.With().Time("scheduled", next).Logger())
		from = next
	}
}

// waitUntil waits on the clock until t; false when ctx ended first.
func (s *Scheduler) waitUntil(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := t.Sub(s.o.Clock.Now())
		if d <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-s.o.Clock.After(min(d, maxWait)):
		}
	}
}

// LeaseName is the lease that makes one replica run pipeline's report scheduled at t.
func LeaseName(pipeline string, t time.Time) string {
	return fmt.Sprintf("drift:%s:%d", pipeline, t.Unix())
}

// run takes the scheduled time's lease and, if this replica got it, reports.
func (s *Scheduler) run(ctx context.Context, p *config.Pipeline, at time.Time, log zerolog.Logger) {
	ok, err := s.o.Leaser.AcquireLease(ctx, LeaseName(p.Name, at), s.o.Owner, s.o.LeaseTTL)
	switch {
	case err != nil:
		// Without the lease, posting could make a duplicate; a missed report
		// is the smaller harm, and the log says so.
		log.Error().Err(err).Msg("drift report skipped: its lease could not be taken")
		return
	case !ok:
		log.Debug().Msg("drift report taken by another replica")
		return
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error().Interface("panic", r).Str("stack", string(debug.Stack())).Msg("drift report panicked")
		}
	}()
	rctx, cancel := context.WithTimeout(ctx, s.o.ReportTimeout)
	defer cancel()
	if err := s.o.Reporter.DriftReport(rctx, p, true); err != nil {
		log.Error().Err(err).Msg("drift report failed")
		return
	}
	log.Info().Msg("drift report done")
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

package drift_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/drift"
	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/store"
)

// call is one report the scheduler asked for.
type call struct {
	pipeline  string
	at        time.Time
	scheduled bool
}

// reporter records reports at the clock's time; fail scripts what each call does.
type reporter struct {
	clock *drifttest.Clock
	calls chan call
	mu    sync.Mutex
	// fail, when set, is called for each report: a panic or an error.
	fail func(n int) error
	n    int
}

func newReporter(c *drifttest.Clock) *reporter {
	return &reporter{clock: c, calls: make(chan call, 100)}
}

func (r *reporter) DriftReport(_ context.Context, p *config.Pipeline, scheduled bool) error {
	r.mu.Lock()
	r.n++
	n, fail := r.n, r.fail
	r.mu.Unlock()
	r.calls <- call{pipeline: p.Name, at: r.clock.Now(), scheduled: scheduled}
	if fail != nil {
		return fail(n)
	}
	return nil
}

// next waits for the next report.
func (r *reporter) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
		return call{}
	}
}

// none checks that no report has been made.
func (r *reporter) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-r.calls:
		t.Fatalf("unexpected report %+v", c)
	default:
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pipeline(t *testing.T, name, spec string) *config.Pipeline {
	t.Helper()
	s, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Pipeline{Name: name, From: "aws-beta", To: "aws-prod", DriftReport: &config.DriftReport{Schedule: s}}
}

func miniStore(t *testing.T) *store.Store {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return store.New(rdb, store.Options{})
}

// run starts a scheduler until the test ends.
func run(t *testing.T, o drift.Options) {
	t.Helper()
	if o.Owner == "" {
		o.Owner = "test-replica"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- drift.New(o).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// waiting blocks until n schedulers wait on the clock.
func waiting(t *testing.T, c *drifttest.Clock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !c.WaitForWaiters(ctx, n) {
		t.Fatalf("%d scheduler(s) not waiting on the clock (%d are)", n, c.Waiters())
	}
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRunsAtTheScheduledTimes(t *testing.T) {
	clock := drifttest.NewClock(date("2026-11-23T12:00:00Z")) // a Monday
	rep := newReporter(clock)
	run(t, drift.Options{
		Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * 1-5"), {Name: "no-report"}},
		Reporter:  rep, Leaser: miniStore(t), Clock: clock,
	})
	for _, want := range []string{"2026-11-24T09:00:00Z", "2026-11-25T09:00:00Z", "2026-11-26T09:00:00Z", "2026-11-27T09:00:00Z", "2026-11-30T09:00:00Z"} {
		waiting(t, clock, 1)
		clock.Set(date(want).Add(-time.Second))
		waiting(t, clock, 1)
		rep.none(t)
		clock.Set(date(want))
		c := rep.next(t)
		if !c.at.Equal(date(want)) || c.pipeline != "prod" || !c.scheduled {
			t.Fatalf("report %+v, want prod at %s", c, want)
		}
	}
}

func TestDSTChangeKeepsLocalTime(t *testing.T) {
	// Europe/London leaves summer time on Sunday 2026-10-25: 09:00 local is
	// 08:00 UTC on the Saturday and 09:00 UTC on the Sunday.
	clock := drifttest.NewClock(date("2026-10-24T00:00:00Z"))
	rep := newReporter(clock)
	run(t, drift.Options{Pipelines: []*config.Pipeline{pipeline(t, "prod", "CRON_TZ=Europe/London 0 9 * * *")}, Reporter: rep, Leaser: miniStore(t), Clock: clock})

	waiting(t, clock, 1)
	clock.Set(date("2026-10-24T08:00:00Z"))
	if c := rep.next(t); !c.at.Equal(date("2026-10-24T08:00:00Z")) {
		t.Fatalf("first report at %s", c.at)
	}
	waiting(t, clock, 1)
	clock.Set(date("2026-10-25T08:00:00Z")) // 08:00 GMT: not yet
	waiting(t, clock, 1)
	rep.none(t)
	clock.Set(date("2026-10-25T09:00:00Z"))
	c := rep.next(t)
	if !c.at.Equal(date("2026-10-25T09:00:00Z")) {
		t.Fatalf("second report at %s", c.at)
	}
	london, _ := time.LoadLocation("Europe/London")
	if h := c.at.In(london).Hour(); h != 9 {
		t.Fatalf("second report at %d:00 London time", h)
	}
}

func TestAMissedTimeAtStartIsNotRun(t *testing.T) {
	// The replica starts five minutes after 09:00: that report was due
	// before it existed (another replica, or nobody, ran it).
	clock := drifttest.NewClock(date("2026-11-24T09:05:00Z"))
	rep := newReporter(clock)
	leases := miniStore(t)
	run(t, drift.Options{Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * *")}, Reporter: rep, Leaser: leases, Clock: clock})
	waiting(t, clock, 1)
	rep.none(t)
	clock.Set(date("2026-11-25T09:00:00Z"))
	if c := rep.next(t); !c.at.Equal(date("2026-11-25T09:00:00Z")) {
		t.Fatalf("report at %s", c.at)
	}
}

func TestLateWakeUpIsSkippedAndLogged(t *testing.T) {
	clock := drifttest.NewClock(date("2026-11-24T08:00:00Z"))
	rep := newReporter(clock)
	logs := &syncBuffer{}
	run(t, drift.Options{
		Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * *")}, Reporter: rep, Leaser: miniStore(t), Clock: clock,
		Logger: zerolog.New(logs),
	})
	waiting(t, clock, 1)
	clock.Set(date("2026-11-24T09:10:00Z")) // within the tolerance: run
	if c := rep.next(t); !c.at.Equal(date("2026-11-24T09:10:00Z")) {
		t.Fatalf("report at %s", c.at)
	}
	waiting(t, clock, 1)
	clock.Set(date("2026-11-25T09:10:01Z")) // beyond it: skipped
	waiting(t, clock, 1)
	rep.none(t)
	if !strings.Contains(logs.String(), "drift report skipped: woke up too long after its time") {
		t.Fatalf("the skip is not logged:\n%s", logs)
	}
	clock.Set(date("2026-11-26T09:00:00Z"))
	if c := rep.next(t); !c.at.Equal(date("2026-11-26T09:00:00Z")) {
		t.Fatalf("report at %s", c.at)
	}
}

func TestAFailingReportDoesNotStopTheNext(t *testing.T) {
	clock := drifttest.NewClock(date("2026-11-24T00:00:00Z"))
	rep := newReporter(clock)
	rep.fail = func(n int) error {
		switch n {
		case 1:
			return errors.New("kosli is down")
		case 2:
			panic("a bug in the report")
		}
		return nil
	}
	logs := &syncBuffer{}
	run(t, drift.Options{
		Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * *")}, Reporter: rep, Leaser: miniStore(t), Clock: clock,
		Logger: zerolog.New(logs),
	})
	for _, day := range []string{"2026-11-24", "2026-11-25", "2026-11-26"} {
		waiting(t, clock, 1)
		clock.Set(date(day + "T09:00:00Z"))
		rep.next(t)
	}
	waiting(t, clock, 1)
	// The panic's line comes with the stack that says where it was.
	for _, want := range []string{`"error":"kosli is down","message":"drift report failed"`, `"panic":"a bug in the report","stack":"goroutine `, `drift_test.go:`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestReplicasSharingLeasesReportOnce(t *testing.T) {
	clock := drifttest.NewClock(date("2026-11-24T00:00:00Z"))
	rep := newReporter(clock)
	leases := miniStore(t)
	const replicas = 3
	for i := range replicas {
		run(t, drift.Options{
			Owner:     fmt.Sprintf("replica-%d", i),
			Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * *"), pipeline(t, "staging", "0 9 * * *")},
			Reporter:  rep, Leaser: leases, Clock: clock,
		})
	}
	for _, day := range []string{"2026-11-24", "2026-11-25"} {
		waiting(t, clock, 2*replicas)
		clock.Set(date(day + "T09:00:00Z"))
		seen := map[string]bool{}
		for range 2 {
			seen[rep.next(t).pipeline] = true
		}
		if !seen["prod"] || !seen["staging"] {
			t.Fatalf("reports %v", seen)
		}
		waiting(t, clock, 2*replicas) // every replica has tried, and waits for the next day
		rep.none(t)
	}
	ok, err := leases.AcquireLease(context.Background(), drift.LeaseName("prod", date("2026-11-24T09:00:00Z")), "late-replica", time.Hour)
	if err != nil || ok {
		t.Fatalf("a late replica could take a reported time: %v %v", ok, err)
	}
}

// leaseFunc is a Leaser that fails.
type leaseFunc func() (bool, error)

func (f leaseFunc) AcquireLease(context.Context, string, string, time.Duration) (bool, error) {
	return f()
}

func TestNoLeaseNoReport(t *testing.T) {
	clock := drifttest.NewClock(date("2026-11-24T00:00:00Z"))
	rep := newReporter(clock)
	logs := &syncBuffer{}
	run(t, drift.Options{
		Pipelines: []*config.Pipeline{pipeline(t, "prod", "0 9 * * *")}, Reporter: rep, Clock: clock, Logger: zerolog.New(logs),
		Leaser: leaseFunc(func() (bool, error) { return false, errors.New("redis: connection refused") }),
	})
	waiting(t, clock, 1)
	clock.Set(date("2026-11-24T09:00:00Z"))
	waiting(t, clock, 1)
	rep.none(t)
	if !strings.Contains(logs.String(), "its lease could not be taken") {
		t.Fatalf("log:\n%s", logs)
	}
}

func TestRunNeedsItsCollaborators(t *testing.T) {
	if err := drift.New(drift.Options{}).Run(context.Background()); err == nil {
		t.Fatal("Run without a Reporter, Leaser and Owner did not fail")
	}
	if drift.Scheduled([]*config.Pipeline{{Name: "prod"}}) {
		t.Fatal("a pipeline without a drift report is scheduled")
	}
}

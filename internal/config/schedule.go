package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"

	// The schedule's time zone is checked here, at load time; embedding the
	// zone database makes that check, and the schedule, the same on a
	// distroless image with no /usr/share/zoneinfo as on a laptop.
	_ "time/tzdata"
)

// Schedule is a parsed cron schedule together with the text it came from.
//
// The text is a standard 5-field crontab line ("0 9 * * 1-5") or a descriptor
// (@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually,
// @every 6h), optionally preceded by CRON_TZ=<zone> or TZ=<zone> naming an
// IANA time zone. Without a zone the schedule runs in UTC, never in the
// host's local zone, so that a replica's TZ cannot move a report.
type Schedule struct {
	spec  string
	loc   *time.Location
	sched cron.Schedule
}

// MinEvery is the shortest @every interval a schedule may have: a drift
// report more often than this is noise, and below a second robfig/cron
// would silently round it up.
const MinEvery = time.Minute

// scheduleCheckFrom is where ParseSchedule looks for a first firing, to
// refuse specs that name no real date (30 February). Any fixed instant does:
// cron looks five years ahead, long enough to meet a 29 February.
var scheduleCheckFrom = time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)

const cronHelp = `use "minute hour day-of-month month day-of-week" such as "0 9 * * 1-5", or @daily, @weekly, @every 6h`

// ParseSchedule reads a Schedule. Errors say what is wrong in words meant
// for the person editing the file.
func ParseSchedule(spec string) (Schedule, error) {
	rest := strings.TrimSpace(spec)
	if rest == "" {
		return Schedule{}, errors.New("must not be empty; " + cronHelp)
	}
	loc := time.UTC
	if zone, after, ok := cutZone(rest); ok {
		if after == "" {
			return Schedule{}, errors.New("has a time zone but no schedule after it; " + cronHelp)
		}
		if _, _, again := cutZone(after); again {
			return Schedule{}, errors.New("has two time zone prefixes; keep one")
		}
		if zone == "" || zone == "Local" {
			return Schedule{}, fmt.Errorf("must name an IANA time zone such as CRON_TZ=Europe/London, not %s", quote(zone))
		}
		var err error
		if loc, err = time.LoadLocation(zone); err != nil {
			return Schedule{}, fmt.Errorf("has an unknown time zone %s; use an IANA name such as Europe/London", quote(zone))
		}
		rest = after
	}

	var sched cron.Schedule
	if every, ok := strings.CutPrefix(rest, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil || every == "" || !unicode.IsSpace(rune(every[0])) {
			return Schedule{}, fmt.Errorf("must be @every followed by a duration such as 6h, not %s", quote(rest))
		}
		if d < MinEvery {
			return Schedule{}, fmt.Errorf("must not fire more often than once a minute, not %s", quote(rest))
		}
		sched = cron.Every(d)
	} else {
		parsed, err := cron.ParseStandard(rest)
		if err != nil {
			return Schedule{}, fmt.Errorf("is not a cron schedule (%s): %s", cronHelp, clip(err.Error()))
		}
		spec, ok := parsed.(*cron.SpecSchedule)
		if !ok {
			return Schedule{}, fmt.Errorf("is not a cron schedule (%s)", cronHelp)
		}
		spec.Location = loc
		if spec.Next(scheduleCheckFrom).IsZero() {
			return Schedule{}, fmt.Errorf("never fires: %s names no date that exists", quote(rest))
		}
		sched = spec
	}
	return Schedule{spec: strings.TrimSpace(spec), loc: loc, sched: sched}, nil
}

// cutZone splits "CRON_TZ=Europe/London 0 9 * * *" into the zone and the
// rest. robfig/cron does this itself but panics on a prefix with nothing
// after it, and falls back to the host's zone without one.
func cutZone(s string) (zone, rest string, ok bool) {
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if after, found := strings.CutPrefix(s, prefix); found {
			i := strings.IndexFunc(after, unicode.IsSpace)
			if i < 0 {
				return after, "", true
			}
			return after[:i], strings.TrimSpace(after[i:]), true
		}
	}
	return "", s, false
}

// Next returns the first time after t that the schedule fires, or the zero
// time if it never does (and for the zero Schedule).
func (s Schedule) Next(t time.Time) time.Time {
	if s.sched == nil {
		return time.Time{}
	}
	return s.sched.Next(t)
}

// Location is the time zone the schedule runs in (UTC unless the spec names one).
func (s Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Cron returns the parsed schedule, to hand to a robfig/cron runner.
func (s Schedule) Cron() cron.Schedule { return s.sched }

// IsZero reports whether s is the zero Schedule (no schedule configured).
func (s Schedule) IsZero() bool { return s.sched == nil }

// String returns the spec as written in the file.
func (s Schedule) String() string { return s.spec }

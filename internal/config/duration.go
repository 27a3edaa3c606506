package config

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a positive length of time. In the file it is written in Go
// syntax (90m, 1h30m, 24h) or as whole days (7d, 90d), which Go lacks and
// retention periods want.
type Duration time.Duration

// Day is 24 hours: calendar days with a DST change are not what a retention
// period or an expiry means.
const Day = 24 * time.Hour

var daysPattern = regexp.MustCompile(`^[0-9]+d$`)

// ParseDuration reads a Duration. Zero, negative and malformed values are
// errors whose text is the rule that was broken.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("must not be empty")
	}
	var d time.Duration
	if daysPattern.MatchString(s) {
		n, err := strconv.ParseInt(strings.TrimSuffix(s, "d"), 10, 64)
		if err != nil || n > int64(math.MaxInt64/Day) {
			return 0, errors.New("is too long: " + quote(s))
		}
		d = time.Duration(n) * Day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("must be a duration such as 90m, 24h or 7d, not " + quote(s))
		}
	}
	if d <= 0 {
		return 0, errors.New("must be greater than 0, not " + quote(s))
	}
	return Duration(d), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String writes whole days as days (90d) and anything else in Go syntax, so
// that what is printed parses back to the same value.
func (d Duration) String() string {
	if d > 0 && time.Duration(d)%Day == 0 {
		return strconv.FormatInt(int64(time.Duration(d)/Day), 10) + "d"
	}
	return time.Duration(d).String()
}

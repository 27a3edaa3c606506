package release

import (
	"time"
)

// Recurrence is when a recurring freeze window opens: the first opening
// strictly after t, or the zero time when there is none. A config.Schedule
// is one.
type Recurrence interface {
	Next(t time.Time) time.Time
}

// FreezeWindow is one window in which a pipeline is frozen: recurring
// (Start opens it, each time for Duration) or one-off (From <= t < Until).
// An ad hoc freeze, made with /release freeze, is a one-off with By set.
type FreezeWindow struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// By is the Slack user id of whoever froze the pipeline by hand; empty
	// for a configured window.
	By string `json:"by,omitempty"`
	// At is when an ad hoc freeze was made.
	At time.Time `json:"at,omitzero"`

	Start    Recurrence    `json:"-"`
	Duration time.Duration `json:"-"`

	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// AdHoc reports whether w was made with /release freeze.
func (w FreezeWindow) AdHoc() bool { return w.By != "" }

// occurrence is the span of w that holds t, if one does: [start, end).
func (w FreezeWindow) occurrence(t time.Time) (start, end time.Time, ok bool) {
	if w.Start == nil {
		if w.Until.After(w.From) && !t.Before(w.From) && t.Before(w.Until) {
			return w.From, w.Until, true
		}
		return time.Time{}, time.Time{}, false
	}
	if w.Duration <= 0 {
		return time.Time{}, time.Time{}, false
	}
	// The opening that holds t is the first one after t-Duration, if it
	// is not after t.
	s := w.Start.Next(t.Add(-w.Duration))
	if s.IsZero() || s.After(t) {
		return time.Time{}, time.Time{}, false
	}
	return s, s.Add(w.Duration), true
}

// Freeze is what holds a pipeline at a moment: the window that froze it
// and until when it stays frozen.
type Freeze struct {
	// Window is the window holding the pipeline: of those open at the
	// moment, the one that opened first (the first listed, on a tie).
	Window FreezeWindow
	// Since is when Window's current opening began.
	Since time.Time
	// Until is when the pipeline thaws: the end of Window's opening, or
	// later when other windows overlap or follow without a gap.
	Until time.Time
	// Others counts the other windows open at the moment.
	Others int
}

// maxFreezeChain bounds how many openings FrozenAt follows to find when a
// pipeline thaws: windows that never leave a gap (a daily window lasting
// 48h) would otherwise be followed forever. Until is then where it stopped.
const maxFreezeChain = 1000

// FrozenAt says whether the pipeline with these windows is frozen at t,
// by which window, and until when. It is a pure function of its inputs.
func FrozenAt(windows []FreezeWindow, t time.Time) (Freeze, bool) {
	var f Freeze
	open := 0
	for _, w := range windows {
		start, end, ok := w.occurrence(t)
		if !ok {
			continue
		}
		if open == 0 || start.Before(f.Since) {
			f.Window, f.Since = w, start
		}
		if end.After(f.Until) {
			f.Until = end
		}
		open++
	}
	if open == 0 {
		return Freeze{}, false
	}
	f.Others = open - 1
	// The pipeline stays frozen while any window holds the moment the
	// current span ends.
	for range maxFreezeChain {
		next := f.Until
		for _, w := range windows {
			if _, end, ok := w.occurrence(f.Until); ok && end.After(next) {
				next = end
			}
		}
		if !next.After(f.Until) {
			break
		}
		f.Until = next
	}
	return f, true
}

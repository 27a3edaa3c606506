package release_test

import (
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func recurring(t *testing.T, name, spec string, d time.Duration) release.FreezeWindow {
	t.Helper()
	s, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return release.FreezeWindow{Name: name, Reason: "r-" + name, Start: s, Duration: d}
}

func oneOff(name string, from, until time.Time) release.FreezeWindow {
	return release.FreezeWindow{Name: name, Reason: "r-" + name, From: from, Until: until}
}

func TestFrozenAt(t *testing.T) {
	t.Parallel()
	// Fridays 18:00 in London for 60h: the weekend. 2026-10-25 is the
	// last Sunday of October, when London leaves BST: the window opens at
	// 17:00 UTC on the 23rd and lasts 60 real hours.
	weekend := recurring(t, "weekend", "CRON_TZ=Europe/London 0 18 * * 5", 60*time.Hour)
	audit := oneOff("audit", utc(2026, 12, 10, 10, 0), utc(2026, 12, 10, 12, 0))
	migration := oneOff("migration", utc(2026, 12, 10, 11, 0), utc(2026, 12, 10, 14, 0))
	after := oneOff("after", utc(2026, 12, 10, 14, 0), utc(2026, 12, 10, 15, 0))
	backwards := oneOff("backwards", utc(2026, 12, 10, 12, 0), utc(2026, 12, 10, 10, 0))
	never := release.FreezeWindow{Name: "never", Start: nextNever{}, Duration: time.Hour}

	for _, tc := range []struct {
		name    string
		windows []release.FreezeWindow
		at      time.Time
		frozen  bool
		window  string
		since   time.Time
		until   time.Time
		others  int
	}{
		{name: "no windows", at: utc(2026, 12, 10, 11, 0)},
		{name: "before a one-off", windows: []release.FreezeWindow{audit}, at: utc(2026, 12, 10, 9, 59)},
		{name: "as a one-off opens", windows: []release.FreezeWindow{audit}, at: utc(2026, 12, 10, 10, 0), frozen: true,
			window: "audit", since: utc(2026, 12, 10, 10, 0), until: utc(2026, 12, 10, 12, 0)},
		{name: "the last minute of a one-off", windows: []release.FreezeWindow{audit}, at: utc(2026, 12, 10, 11, 59), frozen: true,
			window: "audit", since: utc(2026, 12, 10, 10, 0), until: utc(2026, 12, 10, 12, 0)},
		{name: "as a one-off ends", windows: []release.FreezeWindow{audit}, at: utc(2026, 12, 10, 12, 0)},
		{name: "a one-off that ends before it starts holds nothing", windows: []release.FreezeWindow{backwards}, at: utc(2026, 12, 10, 11, 0)},
		{name: "Saturday in the weekend window", windows: []release.FreezeWindow{weekend}, at: utc(2026, 12, 12, 12, 0), frozen: true,
			window: "weekend", since: utc(2026, 12, 11, 18, 0), until: utc(2026, 12, 14, 6, 0)},
		{name: "Friday before the weekend", windows: []release.FreezeWindow{weekend}, at: utc(2026, 12, 11, 17, 59)},
		{name: "Monday after the weekend", windows: []release.FreezeWindow{weekend}, at: utc(2026, 12, 14, 6, 0)},
		{name: "the weekend London leaves summer time opens at 17:00 UTC", windows: []release.FreezeWindow{weekend},
			at: utc(2026, 10, 23, 17, 0), frozen: true, window: "weekend", since: utc(2026, 10, 23, 17, 0), until: utc(2026, 10, 26, 5, 0)},
		{name: "overlapping: the thaw is the later end", windows: []release.FreezeWindow{audit, migration}, at: utc(2026, 12, 10, 10, 30), frozen: true,
			window: "audit", since: utc(2026, 12, 10, 10, 0), until: utc(2026, 12, 10, 14, 0)},
		{name: "both open: the one that opened first is named", windows: []release.FreezeWindow{migration, audit}, at: utc(2026, 12, 10, 11, 30), frozen: true,
			window: "audit", since: utc(2026, 12, 10, 10, 0), until: utc(2026, 12, 10, 14, 0), others: 1},
		{name: "a window right after another extends the freeze", windows: []release.FreezeWindow{audit, migration, after}, at: utc(2026, 12, 10, 10, 30), frozen: true,
			window: "audit", since: utc(2026, 12, 10, 10, 0), until: utc(2026, 12, 10, 15, 0)},
		{name: "a schedule that never fires holds nothing", windows: []release.FreezeWindow{never}, at: utc(2026, 12, 10, 10, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, frozen := release.FrozenAt(tc.windows, tc.at)
			if frozen != tc.frozen {
				t.Fatalf("frozen = %v, want %v (%+v)", frozen, tc.frozen, f)
			}
			if !frozen {
				return
			}
			if f.Window.Name != tc.window || !f.Since.Equal(tc.since) || !f.Until.Equal(tc.until) || f.Others != tc.others {
				t.Errorf("got %s since %s until %s (+%d), want %s since %s until %s (+%d)",
					f.Window.Name, f.Since, f.Until, f.Others, tc.window, tc.since, tc.until, tc.others)
			}
		})
	}
}

// A daily window longer than a day never thaws; FrozenAt still answers,
// with the thaw as far as it followed.
func TestFrozenAtStopsFollowingAFreezeWithNoGap(t *testing.T) {
	t.Parallel()
	daily := recurring(t, "always", "0 0 * * *", 48*time.Hour)
	at := utc(2026, 12, 10, 12, 0)
	f, frozen := release.FrozenAt([]release.FreezeWindow{daily}, at)
	if !frozen || f.Since != utc(2026, 12, 9, 0, 0) {
		t.Fatalf("frozen = %v, since %s", frozen, f.Since)
	}
	if d := f.Until.Sub(at); d < 900*24*time.Hour {
		t.Errorf("thaw followed only %s", d)
	}
}

func TestAdHocFreeze(t *testing.T) {
	t.Parallel()
	w := release.FreezeWindow{Name: "ad hoc", By: "U0ALICE0001", From: utc(2026, 12, 10, 10, 0), Until: utc(2026, 12, 10, 12, 0)}
	if !w.AdHoc() || oneOff("x", w.From, w.Until).AdHoc() {
		t.Error("AdHoc is who made it")
	}
}

type nextNever struct{}

func (nextNever) Next(time.Time) time.Time { return time.Time{} }

package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
)

// Limits of the Home tab (reference/slack.md; https://api.slack.com/reference/surfaces/views):
// up to 100 blocks per view.
const (
	maxHomeBlocks = 100
	// homeRecent is how many of the person's pipelines' releases the Home lists.
	homeRecent = 10
	// maxHomeProposed bounds the lines of "Proposed by you".
	maxHomeProposed = 20
	// maxHomeServices is how many services a release's Home entry names.
	maxHomeServices = 8
)

// HomeRelease is one release on a Home tab, with what its entry shows.
type HomeRelease struct {
	Release *release.Release
	// Manifest names the services and environments; nil when it could not be read.
	Manifest *release.Manifest
	// Link is the permalink of the release's message; "" names its channel instead.
	Link string
}

// HomeView is what a person's Home tab shows.
type HomeView struct {
	// Waiting are the releases waiting for the person's decision, oldest first.
	Waiting []HomeRelease
	// Proposed are the open releases the person proposed, newest first.
	Proposed []HomeRelease
	// Recent are the newest releases of the person's pipelines, newest first.
	Recent []*release.Release
	// Notice, when set, answers the person's last click on the Home (mrkdwn).
	Notice string
	Now    time.Time
}

// HomeTab renders a Home tab within Slack's limits: it always has room
// for the notice, every heading, "Proposed by you" and the recent
// releases; the releases waiting for a decision (two blocks each, the
// entry and its buttons) fill what is left, and those that do not fit
// are counted in an "and N more" line.
func HomeTab(v HomeView) slack.HomeTabViewRequest {
	var top, tail []slack.Block
	if v.Notice != "" {
		top = append(top, section(v.Notice))
	}
	top = append(top, header(fmt.Sprintf("Waiting for your decision (%d)", len(v.Waiting))))

	tail = append(tail, header(fmt.Sprintf("Proposed by you (%d open)", len(v.Proposed))))
	if len(v.Proposed) == 0 {
		tail = append(tail, contextBlock("You have no open release."))
	} else {
		var lines []string
		for i, hr := range v.Proposed {
			if i == maxHomeProposed {
				lines = append(lines, fmt.Sprintf("…and %d more.", len(v.Proposed)-i))
				break
			}
			lines = append(lines, homeLine(hr, v.Now))
		}
		for _, s := range packLines(lines) {
			tail = append(tail, section(s))
		}
	}
	tail = append(tail, header("Recent releases of your pipelines"))
	if len(v.Recent) == 0 {
		tail = append(tail, contextBlock("No releases yet."))
	} else {
		var lines []string
		for _, r := range v.Recent {
			lines = append(lines, fmt.Sprintf("%s `%s` · %s · proposed by <@%s> %s", stateEmoji[r.State], r.ID, outcome(r), r.Proposer, slackDate(r.CreatedAt)))
		}
		for _, s := range packLines(lines) {
			tail = append(tail, section(s))
		}
	}
	tail = append(tail, contextBlock("Updated "+slackDate(v.Now)+". Approve and Reject here count exactly as on the release's message."))

	blocks := top
	room := maxHomeBlocks - len(top) - len(tail)
	if len(v.Waiting) == 0 {
		blocks = append(blocks, contextBlock("Nothing waits for your decision."))
	}
	for i, hr := range v.Waiting {
		// Keep one block for the "and N more" line unless this is the last.
		need := 2
		if i < len(v.Waiting)-1 {
			need = 3
		}
		if room < need {
			blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more waiting for your decision: see the pipelines' channels, or the next release here once one is decided.", len(v.Waiting)-i)))
			break
		}
		r := hr.Release
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(homeLine(hr, v.Now), maxSectionText), false, false), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("home:%s:v%d", r.ID, r.Version))))
		m := hr.Manifest
		if m == nil {
			m = &release.Manifest{}
		}
		blocks = append(blocks, decisionButtons(r, m, fmt.Sprintf("home:release:%s:v%d", r.ID, r.Version)))
		room -= 2
	}
	blocks = append(blocks, tail...)
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "release_home", Blocks: slack.Blocks{BlockSet: blocks}}
}

// homeLine is a release's entry: its id linked to its message, pipeline
// and environments, services, proposer, age and approvals so far.
func homeLine(hr HomeRelease, now time.Time) string {
	r := hr.Release
	id := "`" + r.ID + "`"
	if hr.Link != "" {
		id = link(hr.Link, r.ID)
	}
	where := fmt.Sprintf("*%s* · `%s`", id, r.Pipeline)
	services := ""
	if m := hr.Manifest; m != nil {
		where += fmt.Sprintf(" · %s → %s", esc(m.Source.Environment), esc(m.Target.Environment))
		var names []string
		for i, a := range m.Artifacts {
			if i == maxHomeServices {
				names = append(names, fmt.Sprintf("and %d more", len(m.Artifacts)-i))
				break
			}
			names = append(names, "`"+esc(a.Service)+"`")
		}
		services = "\n" + strings.Join(names, ", ")
	}
	if hr.Link == "" && r.Channel != "" {
		where += fmt.Sprintf(" · in <#%s>", r.Channel)
	}
	if r.BreakGlass != nil {
		where += " · *break-glass*"
	}
	age := release.HumanDuration(now.Sub(r.CreatedAt))
	return fmt.Sprintf("%s%s\nProposed by <@%s> %s ago · %s", where, services, r.Proposer, age, stateLine(r, now))
}

// outcome is how a release ended, or where it stands.
func outcome(r *release.Release) string {
	if r.State == release.Proposed {
		return fmt.Sprintf("waiting for approval (%d of %d)", len(r.Approvals), r.Required)
	}
	return r.State.Label()
}

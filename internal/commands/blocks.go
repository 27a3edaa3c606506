package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/mrkdwn"
)

// Slack's Block Kit limits (reference/slack.md); slack-go checks almost none,
// so every message this package builds goes through these.
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxFields        = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxContextElems  = 10
	maxButtonText    = 75
	maxFallbackText  = 3000
	messageCharBudge = 11000 // total block text per message; ~13k has been seen to fail
)

// Message is one Slack message: blocks and the plain-text fallback that
// notifications, screen readers and old clients show.
type Message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// esc and truncate are the one way this bot escapes and cuts Slack text.
var (
	esc      = mrkdwn.Escape
	truncate = mrkdwn.Truncate
)

// cut shortens plain (not yet escaped) text to at most n runes, marking the
// cut with "…". Unlike truncate it knows no markup: there is none yet.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// escCut escapes plain text to at most n runes: the cut is counted on what
// was typed, before escaping, and never splits an entity.
func escCut(s string, n int) string {
	if e := esc(s); utf8.RuneCountInString(e) <= n {
		return e
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		e := esc(string(r))
		if used+utf8.RuneCountInString(e) > n-1 {
			break
		}
		b.WriteString(e)
		used += utf8.RuneCountInString(e)
	}
	return b.String() + "…"
}

// link is a mrkdwn link; a URL Slack could misread is left as plain text.
func link(url, label string) string {
	if url == "" || strings.ContainsAny(url, "<>| ") {
		return esc(label)
	}
	return "<" + url + "|" + esc(label) + ">"
}

// slackDate shows t in each reader's own time zone, with a UTC fallback for
// clients that cannot: <!date^…^{date_short_pretty} {time}|2026-11-24 09:00 UTC>.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func header(text string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(text, maxHeaderText), true, false))
}

func section(mrkdwn string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn, maxSectionText), false, false), nil, nil)
}

func contextBlock(mrkdwn ...string) slack.Block {
	elems := make([]slack.MixedElement, 0, len(mrkdwn))
	for i, t := range mrkdwn {
		if i == maxContextElems {
			break
		}
		elems = append(elems, slack.NewTextBlockObject(slack.MarkdownType, truncate(t, maxSectionText), false, false))
	}
	return slack.NewContextBlock("", elems...)
}

// packLines groups lines into sections of at most maxSectionText characters.
func packLines(lines []string) []string {
	var out []string
	var b strings.Builder
	for _, l := range lines {
		l = truncate(l, maxSectionText)
		if b.Len() > 0 && b.Len()+1+len(l) > maxSectionText {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// blockChars is what a block costs of a message's text budget: the text of
// every text object in it (sections, fields, headers, context, buttons and
// their confirms), in bytes, which is never less than Slack's count.
func blockChars(b slack.Block) int {
	raw, err := json.Marshal(b)
	if err != nil {
		return maxSectionText
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return maxSectionText
	}
	return textBytes(v)
}

func textBytes(v any) int {
	n := 0
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok {
				if k == "text" {
					n += len(s)
				}
				continue
			}
			n += textBytes(e)
		}
	case []any:
		for _, e := range t {
			n += textBytes(e)
		}
	}
	return n
}

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

// TestChangeTicket: where change_ticket.required, propose without a ticket
// or with a malformed one is refused naming the pattern, and nothing is
// posted; with CHG123 the manifest records it, the message links it, and
// the release-manifest attestation in Kosli carries it in its annotations
// and user_data.
func TestChangeTicket(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("bot.yaml", []byte(e2eConfig+
		"    change_ticket: { required: true, pattern: '^CHG[0-9]+$', url: 'https://tickets.example/browse/{ticket}' }\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, "2", func(o *serveOptions) { o.Config = cfg })
	for _, tc := range []struct{ text, want string }{
		{"propose", "No release: this pipeline needs a change ticket: add --ticket, matching ^CHG[0-9]+$."},
		{"propose prod --ticket chg<1>", "No release: the change ticket must match ^CHG[0-9]+$."},
		{"propose prod --ticket", "`--ticket` needs the change ticket"},
	} {
		b.command(alice, releaseChannel, tc.text)
		b.ephemeral(releaseChannel, alice, tc.want)
	}
	if n := b.channelPosts(); n != 0 {
		t.Fatalf("a refused propose posted %d messages", n)
	}

	b.command(alice, releaseChannel, "propose prod --ticket CHG123")
	msg := b.releaseMessage()
	const url = "https://tickets.example/browse/CHG123"
	if text := blocksText(t, msg.Blocks); !strings.Contains(text, ":ticket: change <"+url+"|CHG123>") {
		t.Errorf("the message does not link the ticket:\n%s", text)
	}
	data, err := b.store().Manifest(context.Background(), releaseID(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChangeTicket == nil || *m.ChangeTicket != (release.ChangeTicket{ID: "CHG123", URL: url}) {
		t.Errorf("manifest change ticket %+v", m.ChangeTicket)
	}
	b.waitParent(msg.TS, "the evidence recorded", ":receipt: Evidence: ")
	found := false
	for _, a := range b.kosli.Attestations() {
		if a.Name != "release-manifest" {
			continue
		}
		found = true
		if a.Annotations["change_ticket"] != "CHG123" || a.Annotations["change_ticket_url"] != url {
			t.Errorf("annotations %v", a.Annotations)
		}
		ud, _ := a.Payload["user_data"].(map[string]any)
		ct, _ := ud["change_ticket"].(map[string]any)
		if ct["id"] != "CHG123" || ct["url"] != url {
			t.Errorf("user_data.change_ticket = %v", ud["change_ticket"])
		}
	}
	if !found {
		t.Error("no release-manifest attestation")
	}
}

// TestChangeTicketNotTakenAndEscaped: a pipeline without change_ticket
// refuses --ticket in one line and creates nothing (a ticket is never
// recorded unchecked); where the pattern allows '/' and '&', the link has
// the ticket path-escaped and its label escaped, and the manifest and the
// release-manifest attestation hold the ticket as typed.
func TestChangeTicketNotTakenAndEscaped(t *testing.T) {
	t.Parallel()
	none := startBot(t, "2")
	none.command(alice, releaseChannel, "propose --ticket CHG1")
	if got, want := none.ephemeral(releaseChannel, alice, "takes no change ticket").Text,
		"No release: this pipeline takes no change ticket; leave out --ticket."; !strings.Contains(got, want) || strings.Count(got, "\n") > 0 {
		t.Errorf("reply %q, want the one line %q", got, want)
	}
	if n := none.channelPosts(); n != 0 {
		t.Errorf("%d channel messages after a refused --ticket", n)
	}
	if list, err := none.store().List(context.Background(), "prod", 5); err != nil || len(list) != 0 {
		t.Errorf("releases after a refused --ticket: %d, %v", len(list), err)
	}
	if n := len(none.kosli.Attestations()); n != 0 {
		t.Errorf("%d attestations after a refused --ticket", n)
	}

	cfg, err := config.Parse("bot.yaml", []byte(e2eConfig+
		"    change_ticket: { pattern: '^CHG-[0-9]+(/[a-z&]+)?$', url: 'https://tickets.example/browse/{ticket}?from=bot' }\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, "2", func(o *serveOptions) { o.Config = cfg })
	b.command(alice, releaseChannel, "propose --ticket CHG-42/a&b")
	msg := b.releaseMessage()
	const url = "https://tickets.example/browse/CHG-42%2Fa&b?from=bot"
	if text := blocksText(t, msg.Blocks); !strings.Contains(text, ":ticket: change <"+url+"|CHG-42/a&amp;b>") {
		t.Errorf("the message does not link the escaped ticket:\n%s", text)
	}
	data, err := b.store().Manifest(context.Background(), releaseID(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChangeTicket == nil || *m.ChangeTicket != (release.ChangeTicket{ID: "CHG-42/a&b", URL: url}) {
		t.Errorf("manifest change ticket %+v", m.ChangeTicket)
	}
	b.waitParent(msg.TS, "the evidence recorded", ":receipt: Evidence: ")
	found := false
	for _, a := range b.kosli.Attestations() {
		if a.Name == "release-manifest" {
			found = true
			if a.Annotations["change_ticket"] != "CHG-42/a&b" {
				t.Errorf("annotations %v", a.Annotations)
			}
		}
	}
	if !found {
		t.Fatal("no release-manifest attestation")
	}
}

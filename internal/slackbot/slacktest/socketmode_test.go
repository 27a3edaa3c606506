package slacktest_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func TestSocketModeHelloAndSlashCommand(t *testing.T) {
	fake := newFake(t, slacktest.Options{AppID: "A0APP"})
	sm := runSocket(t, fake)

	ev := waitEvent(t, sm, socketmode.EventTypeConnected)
	if info := ev.Data.(*socketmode.ConnectedEvent).Info; !strings.Contains(info.URL, slacktest.Prefix+"link/?ticket=") {
		t.Errorf("socket URL = %q", info.URL)
	}
	hello := waitEvent(t, sm, socketmode.EventTypeHello)
	if hello.Request.NumConnections != 1 || hello.Request.ConnectionInfo.AppID != "A0APP" {
		t.Errorf("hello = %+v", hello.Request)
	}

	id, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: "diff prod"})
	if err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, sm, socketmode.EventTypeSlashCommand)
	cmd := ev.Data.(slack.SlashCommand)
	if ev.Request.EnvelopeID != id || !ev.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v, want envelope %s accepting a payload", ev.Request, id)
	}
	want := slack.SlashCommand{
		Command: "/release", Text: "diff prod", ChannelID: channelID, ChannelName: "releases",
		UserID: alice, UserName: "alice", TeamID: "T0SLACKTEST", APIAppID: "A0APP",
	}
	got := cmd
	got.Token, got.TeamDomain, got.ResponseURL, got.TriggerID = "", "", "", ""
	if got != want {
		t.Errorf("slash command = %+v\nwant %+v", got, want)
	}
	if !strings.HasPrefix(cmd.ResponseURL, fake.URL()+slacktest.Prefix+"response/") || cmd.TriggerID == "" {
		t.Errorf("response_url %q, trigger_id %q", cmd.ResponseURL, cmd.TriggerID)
	}
	env, _ := fake.Envelope(id)
	if !strings.Contains(string(env.Payload), `"is_enterprise_install":"false"`) {
		t.Errorf("is_enterprise_install is not the string Slack sends: %s", env.Payload)
	}

	ack(t, sm, ev, map[string]string{"text": "on it"})
	got2, err := fake.WaitAck(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ConnID != 1 || string(got2.Payload) != `{"text":"on it"}` {
		t.Errorf("ack = %+v", got2)
	}
	if l := fake.AckLatencies(); len(l) != 1 || l[0] < 0 {
		t.Errorf("latencies = %v", l)
	}
}

func TestBlockActionDecodesIntoInteractionCallback(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	api := newAPI(fake)
	_, ts, err := api.PostMessageContext(ctxT(t), channelID, slack.MsgOptionText("Release 42", false),
		slack.MsgOptionBlocks(approvalBlocks("rel-42-v1")...))
	if err != nil {
		t.Fatal(err)
	}

	id, err := fake.BlockAction(slacktest.BlockAction{UserID: bob, ChannelID: channelID, MessageTS: ts, ActionID: "approve"})
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, sm, socketmode.EventTypeInteractive)
	cb := ev.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != bob || cb.Team.ID != "T0SLACKTEST" ||
		cb.Channel.ID != channelID || cb.Container.MessageTs != ts || cb.Message.Timestamp != ts {
		t.Errorf("callback = %+v", cb)
	}
	if len(cb.ActionCallback.AttachmentActions) != 0 || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("actions = %+v", cb.ActionCallback)
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.ActionID != "approve" || a.BlockID != "rel-42-v1" || a.Value != "rel-42@sha256:abc" || a.ActionTs == "" {
		t.Errorf("action = %+v", a)
	}
	if len(cb.Message.Blocks.BlockSet) != 2 || cb.ResponseURL == "" || cb.TriggerID == "" {
		t.Errorf("message blocks %d, response_url %q, trigger %q", len(cb.Message.Blocks.BlockSet), cb.ResponseURL, cb.TriggerID)
	}
	ack(t, sm, ev, nil)
	if a, err := fake.WaitAck(ctxT(t), id); err != nil || a.Payload != nil {
		t.Errorf("ack %+v, %v", a, err)
	}
}

func TestBlockActionOnBlockWithoutIDGetsSlacksID(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	_, ts, err := newAPI(fake).PostMessageContext(ctxT(t), channelID, slack.MsgOptionBlocks(approvalBlocks("")...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.BlockAction(slacktest.BlockAction{UserID: bob, ChannelID: channelID, MessageTS: ts, ActionID: "approve"}); err != nil {
		t.Fatal(err)
	}
	cb := waitEvent(t, sm, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].BlockID == "" {
		t.Errorf("actions = %+v, want one block action with Slack's generated block_id", cb.ActionCallback)
	}
	if _, err := fake.BlockAction(slacktest.BlockAction{UserID: bob, ChannelID: channelID, MessageTS: "1.000001", ActionID: "approve"}); err == nil {
		t.Error("a click on a message that does not exist was sent")
	}
}

func TestMalformedEnvelopeIsBadMessage(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	// As a string, is_enterprise_install breaks slack-go's interactive decoding.
	payload := json.RawMessage(`{"type":"block_actions","is_enterprise_install":"false","actions":[]}`)
	if _, err := fake.SendEnvelope("interactive", payload); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, sm, socketmode.EventTypeErrorBadMessage)
	if bad := ev.Data.(*socketmode.ErrorBadMessage); bad.Cause == nil || ev.Request != nil {
		t.Errorf("bad message event = %+v", ev)
	}
}

func TestDisconnectThenReconnect(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)

	fake.Disconnect("refresh_requested")
	ev := waitEvent(t, sm, socketmode.EventTypeConnected)
	if n := ev.Data.(*socketmode.ConnectedEvent).ConnectionCount; n != 1 {
		t.Errorf("connection count = %d, want 1 (the second connection)", n)
	}
	waitEvent(t, sm, socketmode.EventTypeHello)
	waitFor(t, fake, "one open connection, the second", func(st *slacktest.State) bool {
		c := st.Connections()
		return len(c) == 1 && c[0] == 2
	})

	id, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: "diff"})
	if err != nil {
		t.Fatal(err)
	}
	ack(t, sm, waitEvent(t, sm, socketmode.EventTypeSlashCommand), nil)
	a, err := fake.WaitAck(ctxT(t), id)
	if err != nil || a.ConnID != 2 {
		t.Errorf("ack = %+v, %v; want it on connection 2", a, err)
	}

	// An abrupt drop reconnects too.
	fake.DropConnections()
	waitFor(t, fake, "connection 3", func(st *slacktest.State) bool {
		c := st.Connections()
		return len(c) == 1 && c[0] == 3
	})
}

func TestRedeliverSendsTheSameEnvelope(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	id, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: "propose"})
	if err != nil {
		t.Fatal(err)
	}
	first := waitEvent(t, sm, socketmode.EventTypeSlashCommand)
	if err := fake.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	second := waitEvent(t, sm, socketmode.EventTypeSlashCommand)
	if first.Request.EnvelopeID != second.Request.EnvelopeID ||
		first.Data.(slack.SlashCommand).TriggerID != second.Data.(slack.SlashCommand).TriggerID {
		t.Errorf("redelivery differs: %+v vs %+v", first.Request, second.Request)
	}
	if env, _ := fake.Envelope(id); len(env.Deliveries) != 2 {
		t.Errorf("deliveries = %+v", env.Deliveries)
	}
	if err := fake.Redeliver("nope"); err == nil {
		t.Error("redelivered an unknown envelope")
	}
}

func TestEnvelopesSpreadOverConnections(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	var got sync.Map // envelope id → true, per client
	clients := []*socketmode.Client{runSocket(t, fake), runSocket(t, fake)}
	for _, sm := range clients {
		serve(t, sm, func(e socketmode.Event) {
			if e.Request != nil && e.Request.EnvelopeID != "" {
				got.Store(e.Request.EnvelopeID, true)
				_ = sm.AckCtx(t.Context(), e.Request.EnvelopeID, nil)
			}
		})
	}
	waitFor(t, fake, "two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })

	const n = 6
	for i := range n {
		if _, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, fake, "all acks", func(st *slacktest.State) bool { return len(st.Acks()) == n })
	perConn := map[int]int{}
	for _, a := range fake.Acks() {
		perConn[a.ConnID]++
		if _, ok := got.Load(a.EnvelopeID); !ok {
			t.Errorf("ack for %s that no client saw", a.EnvelopeID)
		}
	}
	if len(perConn) != 2 || perConn[1] != n/2 || perConn[2] != n/2 {
		t.Errorf("acks per connection = %v, want %d on each of 2", perConn, n/2)
	}
	if l := fake.AckLatencies(); len(l) != n {
		t.Errorf("%d latencies, want %d", len(l), n)
	}
}

func TestWrongAppTokenIsFatal(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := slack.New("xoxb-x", slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken("xapp-wrong"))
	sm := socketmode.New(api)
	serve(t, sm, func(socketmode.Event) {})
	err := sm.RunContext(ctxT(t))
	if err == nil || err.Error() != "invalid_auth" {
		t.Errorf("RunContext = %v, want invalid_auth", err)
	}
	if _, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice}); err == nil {
		t.Error("sent an envelope with no connection open")
	}
}

func TestSendRawRecordsAnEnvelopeByItsID(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	if id, err := fake.SendRaw([]byte("not json")); err != nil || id != "" {
		t.Fatalf("SendRaw(not json) = %q, %v", id, err)
	}
	if ev := waitEvent(t, sm, socketmode.EventTypeIncomingError); ev.Request != nil {
		t.Errorf("incoming error with a request: %+v", ev)
	}
	id, err := fake.SendRaw([]byte(`{"envelope_id":"e-1","type":"from_the_future","payload":{}}`))
	if err != nil || id != "e-1" {
		t.Fatalf("SendRaw = %q, %v", id, err)
	}
	waitEvent(t, sm, socketmode.EventTypeErrorBadMessage)
	if env, ok := fake.Envelope("e-1"); !ok || env.Type != "from_the_future" || len(env.Deliveries) != 1 {
		t.Errorf("envelope = %+v, %v", env, ok)
	}
	if err := sm.AckCtx(ctxT(t), "e-1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(ctxT(t), "e-1"); err != nil {
		t.Fatal(err)
	}
	if got := fake.AckedIDs(); len(got) != 1 || got[0] != "e-1" {
		t.Errorf("acked %q", got)
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestServeRefusesToStartWithoutWhatItNeeds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "bot.yaml")
	if err := os.WriteFile(good, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("pipelines:\n  - name: prod\n    from: a\n    to: b\n    channel: '#releases'\n    approvals: {approvers: [U0ALICE0001]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "KOSLI_ORG": "o", "KOSLI_API_TOKEN": kosliToken}
	getenv := func(over map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := over[k]; ok {
				return v
			}
			return env[k]
		}
	}
	cases := []struct {
		name string
		over map[string]string
		args []string
		want string
	}{
		{"no config", nil, nil, "no pipelines file"},
		{"missing app token", map[string]string{"SLACK_APP_TOKEN": ""}, []string{"--config", good}, "SLACK_APP_TOKEN is not set"},
		{"swapped tokens", map[string]string{"SLACK_BOT_TOKEN": appToken}, []string{"--config", good}, "SLACK_BOT_TOKEN must start with xoxb-"},
		{"bad config", nil, []string{"--config", bad}, "bad.yaml:5: pipelines[0].channel"},
		{"redis database number", map[string]string{"REDIS_URL": "redis://host/notanumber"}, []string{"--config", good}, "REDIS_URL has a wrong database number"},
		{"missing file", map[string]string{"RELEASE_BOT_CONFIG": filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runCLI(t, "", getenv(c.over), append([]string{"serve"}, c.args...)...)
			if got.code != exitUsage || !strings.Contains(got.stder, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", got.code, got.stder, c.want)
			}
			if strings.Contains(got.stder, botToken) || strings.Contains(got.stder, appToken) {
				t.Fatalf("a token in %q", got.stder)
			}
		})
	}
}

// TestSlackAppManifest checks the app manifest against what Slack's schema
// and the bot need (reference/slack.md).
func TestSlackAppManifest(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../deploy/slack/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		DisplayInformation struct {
			Name string `yaml:"name"`
		} `yaml:"display_information"`
		Features struct {
			AppHome struct {
				HomeTab     bool `yaml:"home_tab_enabled"`
				MessagesTab bool `yaml:"messages_tab_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct {
				Command     string `yaml:"command"`
				Description string `yaml:"description"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			SocketMode bool `yaml:"socket_mode_enabled"`
			Events     struct {
				Bot []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(m.DisplayInformation.Name); n == 0 || n > 35 {
		t.Errorf("display name %q", m.DisplayInformation.Name)
	}
	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("slash commands %+v", m.Features.SlashCommands)
	}
	sc := m.Features.SlashCommands[0]
	if sc.Command != "/release" || !regexp.MustCompile(`^/.{1,31}$`).MatchString(sc.Command) || sc.Description == "" {
		t.Errorf("slash command %+v", sc)
	}
	scopes := strings.Join(m.OAuth.Scopes.Bot, " ")
	for _, want := range []string{"commands", "chat:write", "usergroups:read", "users:read", "im:write"} {
		if !strings.Contains(" "+scopes+" ", " "+want+" ") {
			t.Errorf("bot scope %s missing from %v", want, m.OAuth.Scopes.Bot)
		}
	}
	// Least privilege: exactly these, each justified in docs/operations.md
	// ("Tokens and their scopes"). views.publish and the app_home_opened
	// event need no scope (https://api.slack.com/methods/views.publish,
	// https://api.slack.com/events/app_home_opened).
	want := []string{"commands", "chat:write", "chat:write.public", "usergroups:read", "users:read", "users:read.email",
		"channels:history", "groups:history", "im:write"}
	if !slices.Equal(m.OAuth.Scopes.Bot, want) {
		t.Errorf("bot scopes %v, want exactly %v", m.OAuth.Scopes.Bot, want)
	}
	if !slices.Equal(m.Settings.Events.Bot, []string{"app_home_opened"}) {
		t.Errorf("bot events %v, want exactly app_home_opened (the Home tab)", m.Settings.Events.Bot)
	}
	if !m.Features.AppHome.HomeTab || !m.Features.AppHome.MessagesTab {
		t.Errorf("app home %+v: the Home tab and the nudges' messages tab must be on", m.Features.AppHome)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.Enabled {
		t.Errorf("socket mode %v, interactivity %v", m.Settings.SocketMode, m.Settings.Interactivity.Enabled)
	}
}

package commands

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/slack-go/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares v, as indented JSON, with testdata/<name>.golden.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./internal/commands -update and review the diff.\ngot:\n%s", path, got)
	}
}

// checkLimits fails the test for any message Slack would refuse or cut.
func checkLimits(t *testing.T, msgs []Message) {
	t.Helper()
	for i, m := range msgs {
		if m.Text == "" {
			t.Errorf("message %d has no fallback text", i)
		}
		if len(m.Blocks) > maxBlocks {
			t.Errorf("message %d has %d blocks", i, len(m.Blocks))
		}
		total := 0
		ids := map[string]bool{}
		for _, b := range m.Blocks {
			total += blockChars(b)
			switch v := b.(type) {
			case *slack.SectionBlock:
				if v.Text != nil && len([]rune(v.Text.Text)) > maxSectionText {
					t.Errorf("message %d: section of %d chars", i, len([]rune(v.Text.Text)))
				}
				if len(v.Fields) > maxFields {
					t.Errorf("message %d: %d fields", i, len(v.Fields))
				}
				for _, f := range v.Fields {
					if len([]rune(f.Text)) > maxFieldText {
						t.Errorf("message %d: field of %d chars", i, len([]rune(f.Text)))
					}
				}
			case *slack.HeaderBlock:
				if len([]rune(v.Text.Text)) > maxHeaderText {
					t.Errorf("message %d: header of %d chars", i, len([]rune(v.Text.Text)))
				}
			case *slack.ContextBlock:
				if len(v.ContextElements.Elements) > maxContextElems {
					t.Errorf("message %d: %d context elements", i, len(v.ContextElements.Elements))
				}
			case *slack.ActionBlock:
				if len(v.Elements.ElementSet) > 25 {
					t.Errorf("message %d: %d actions", i, len(v.Elements.ElementSet))
				}
				for _, e := range v.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok {
						if len([]rune(btn.Text.Text)) > maxButtonText || len(btn.Value) > 2000 || len(btn.ActionID) > 255 {
							t.Errorf("message %d: button over the limits: %+v", i, btn)
						}
					}
				}
			}
			if id := b.ID(); id != "" {
				if ids[id] || len(id) > 255 {
					t.Errorf("message %d: block_id %q repeated or too long", i, id)
				}
				ids[id] = true
			}
		}
		if total > 13000 {
			t.Errorf("message %d has %d characters of blocks", i, total)
		}
	}
}

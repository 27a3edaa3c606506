package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
)

// FuzzParse seeds from every file in testdata/config and a few hostile
// shapes. Parse must never panic; it returns either a config that keeps the
// promises of the types, or only *Errors that each say something.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	for _, file := range append(files, "../../deploy/examples/pipelines.yaml") {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\npipelines: [*c, *c]\n",
		"pipelines:\n  - drift_report: {schedule: 'TZ='}\n",
		"pipelines:\n  - drift_report: {schedule: 'CRON_TZ=Local @every 1h'}\n",
		"pipelines:\n  - <<: [*x]\n",
		"pipelines: [{<<: {name: a}, name: b}]\n",
		"pipelines: [{? [a]: b}]\n",
		"pipelines: [{approvals: {required: 99999999999999999999}}]\n",
		"settings: {retention: 9999999999999999999d}\n",
		"\t",
		"%YAML 1.2\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("bot.yaml", data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("config and error both returned")
			}
			for _, e := range problemsOf(t, err) {
				if e.File != "bot.yaml" || e.Field == "" && e.Rule == "" {
					t.Fatalf("problem says nothing: %#v", e)
				}
			}
			return
		}
		checkPromises(t, cfg)
	})
}

// checkPromises fails when a parsed config breaks what its types promise.
func checkPromises(t *testing.T, cfg *config.Config) {
	t.Helper()
	if len(cfg.Pipelines) == 0 {
		t.Fatal("no pipelines")
	}
	if cfg.Settings.Retention <= 0 || cfg.Settings.WorkingAfter <= 0 {
		t.Fatalf("settings = %+v", cfg.Settings)
	}
	names := map[string]bool{}
	for _, p := range cfg.Pipelines {
		if names[p.Name] || p.Name == "" || p.From == "" || p.From == p.To || p.Channel == "" || p.Evidence.Flow == "" {
			t.Fatalf("pipeline = %+v", p)
		}
		names[p.Name] = true
		if found, ok := cfg.Pipeline(p.Name); !ok || found != p {
			t.Fatalf("Pipeline(%q) does not find it", p.Name)
		}
		a := p.Approvals
		if a.Required < 1 || a.Required > config.MaxRequired || len(a.Approvers) == 0 || a.ExpireAfter <= 0 {
			t.Fatalf("approvals = %+v", a)
		}
		for _, ap := range a.Approvers {
			if (ap.UserID == "") == (ap.Handle == "") {
				t.Fatalf("approver = %+v", ap)
			}
		}
		if p.Gate != config.GateEnforce && p.Gate != config.GateWarn || p.Verify.Timeout <= 0 {
			t.Fatalf("pipeline = %+v", p)
		}
		if w := p.Workflow; w != nil && (w.Repo.Owner == "" || w.Ref == "" || w.Timeout <= 0 ||
			!strings.HasSuffix(w.File, ".yml") && !strings.HasSuffix(w.File, ".yaml")) {
			t.Fatalf("workflow = %+v", w)
		}
		if d := p.DriftReport; d != nil && (d.Schedule.IsZero() || d.StaleAfter <= 0) {
			t.Fatalf("drift report = %+v", d)
		}
	}
}

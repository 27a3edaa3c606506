package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

func TestNewRefusesWhatCannotWork(t *testing.T) {
	tok := secret.New(token)
	for name, opts := range map[string]github.Options{
		"relative URL":    {BaseURL: "api.github.com", Token: tok},
		"ftp":             {BaseURL: "ftp://ghe.example/api/v3/", Token: tok},
		"user info":       {BaseURL: "https://x:" + token + "@ghe.example/api/v3/", Token: tok},
		"query":           {BaseURL: "https://ghe.example/api/v3/?token=" + token, Token: tok},
		"no credentials":  {},
		"both":            {Token: tok, App: &github.App{AppID: 1, InstallationID: 2, PrivateKeyFile: "k.pem"}},
		"app without id":  {App: &github.App{InstallationID: 2, PrivateKeyFile: "k.pem"}},
		"app without key": {App: &github.App{AppID: 1, InstallationID: 2}},
		"app, bad key":    {App: &github.App{AppID: 1, InstallationID: 2, PrivateKeyPEM: []byte("not a key")}},
		"app, no file":    {App: &github.App{AppID: 1, InstallationID: 2, PrivateKeyFile: filepath.Join(t.TempDir(), "missing.pem")}},
	} {
		c, err := github.New(opts)
		if err == nil {
			t.Errorf("%s: New accepted %v: %v", name, opts, c)
			continue
		}
		secrettest.AssertErrAbsent(t, err, token)
	}
}

func TestTheGHESBasePathIsKept(t *testing.T) {
	h := setup(t, promote(), func(o *github.Options) { o.BaseURL = strings.TrimSuffix(o.BaseURL, "/") })
	if !strings.HasSuffix(h.srv.URL(), "/api/v3/") {
		t.Fatalf("the fake is at %s", h.srv.URL())
	}
	runID := dispatched(t, h, "prod-50", "saver")
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err) // the fake serves nothing outside /api/v3/
	}
	for _, r := range h.srv.Requests() {
		if !r.Authorized || r.Status >= 400 {
			t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
		}
	}
}

func TestTheTokenNeverShows(t *testing.T) {
	h := setup(t, promote())
	opts := github.Options{BaseURL: h.srv.URL(), Token: secret.New(token)}
	runID := dispatched(t, h, "prod-51", "saver")
	var texts []string
	for _, v := range []any{opts, &opts, h.c, *h.c} {
		texts = append(texts, fmt.Sprintf("%v %+v %#v %s", v, v, v, v))
	}
	// A remote that echoes the credentials in its message.
	h.srv.Script(githubtest.RouteRun, githubtest.Response{Status: 400, Body: `{"message": "token ` + token + ` is not valid here"}`})
	_, err := h.c.GetRun(ctx(t), wf, runID)
	if err == nil || !strings.Contains(err.Error(), secret.Redacted) {
		t.Fatalf("GetRun = %v, want the echo redacted", err)
	}
	errs := []error{err}
	h.srv.Script(githubtest.RouteDispatch, githubtest.Response{Status: 500, Body: `{"message": "` + token + `"}`, Process: true})
	_, err = h.c.Dispatch(ctx(t), wf, inputs("prod-52", "saver"), "prod-52")
	errs = append(errs, err)
	h.srv.Close()
	_, err = h.c.GetRun(ctx(t), wf, runID)
	var un *github.UnreachableError
	if !errors.As(err, &un) {
		t.Errorf("after Close: %v", err)
	}
	errs = append(errs, err)
	for _, err := range errs {
		texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	secrettest.AssertAbsent(t, []string{token}, texts...)
}

// appKey is an App's RSA key and its PEM.
func appKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func TestAGitHubAppTradesItsJWTForAnInstallationToken(t *testing.T) {
	key, keyPEM := appKey(t)
	h := setup(t, promote())
	h.clk.Advance(time.Since(h.clk.Now())) // installation tokens expire on the real clock
	h.srv.AddApp(123, 456, &key.PublicKey)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, app := range map[string]*github.App{
		"pem":  {AppID: 123, InstallationID: 456, PrivateKeyPEM: keyPEM},
		"file": {AppID: 123, InstallationID: 456, PrivateKeyFile: keyFile},
	} {
		c := newClient(t, h, func(o *github.Options) { o.Token, o.App = secret.Secret{}, app })
		before := len(h.srv.RequestsTo(githubtest.RouteAccessToken))
		res, err := c.Dispatch(ctx(t), wf, inputs("prod-53-"+name, "saver"), "prod-53-"+name)
		if err != nil || !res.Found {
			t.Fatalf("%s: Dispatch as the App = %+v, %v", name, res, err)
		}
		if _, err := c.GetRun(ctx(t), wf, res.RunID); err != nil {
			t.Fatalf("%s: GetRun as the App: %v", name, err)
		}
		if n := len(h.srv.RequestsTo(githubtest.RouteAccessToken)) - before; n != 1 {
			t.Errorf("%s: %d installation tokens asked for, want 1", name, n)
		}
		shown := fmt.Sprintf("%v %+v %#v", app, *app, github.Options{App: app})
		data, _ := json.Marshal(app)
		secrettest.AssertAbsent(t, []string{string(keyPEM), "PRIVATE KEY"}, shown, string(data), h.log.String())
	}
}

func TestAnAppWhoseKeyGitHubRefusesSaysWhatToCheck(t *testing.T) {
	key, _ := appKey(t)
	_, otherPEM := appKey(t)
	h := setup(t, promote())
	h.srv.AddApp(123, 456, &key.PublicKey)
	c := newClient(t, h, func(o *github.Options) {
		o.Token, o.App = secret.Secret{}, &github.App{AppID: 123, InstallationID: 456, PrivateKeyPEM: otherPEM}
	})
	_, err := c.GetRun(ctx(t), wf, 1)
	if !errors.Is(err, github.ErrUnauthorized) || !strings.Contains(err.Error(), "GITHUB_APP_") || !strings.Contains(err.Error(), "access_tokens") {
		t.Fatalf("GetRun with the wrong key: %v", err)
	}
	if n := len(h.srv.RequestsTo(githubtest.RouteAccessToken)); n != 1 {
		t.Errorf("a refused key was tried %d times", n)
	}
}

package main

import (
	"context"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
)

// newKosli builds the Kosli client from the environment's KOSLI_* variables
// and the flags that override them.
func newKosli(getenv func(string) string, host, org string) (*kosli.Client, error) {
	token := getenv("KOSLI_API_TOKEN")
	if token == "" {
		return nil, &usageError{msg: "KOSLI_API_TOKEN is not set: create an API token in Kosli (Settings → API Keys)"}
	}
	c, err := kosli.New(kosli.Options{Host: host, Org: org, Token: secret.New(token), UserAgent: "release-bot/" + version})
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return c, nil
}

// diffFromKosli asks Kosli for the diff of two environments' latest snapshots.
func diffFromKosli(ctx context.Context, getenv func(string) string, host, org, from, to string) (release.Diff, error) {
	c, err := newKosli(getenv, host, org)
	if err != nil {
		return release.Diff{}, err
	}
	return c.Diff(ctx, from, to)
}

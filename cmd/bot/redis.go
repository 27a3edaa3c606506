package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/store"
)

// redisStartTimeout bounds the check that the Redis REDIS_URL names answers
// and takes the password.
const redisStartTimeout = 10 * time.Second

// redisClient builds the client of REDIS_URL: one server (go-redis's
// ParseURL), or a master behind Sentinels (ParseFailoverURL, when the URL
// has master_name), which go-redis follows across failovers by itself.
// The servers' password is, first found: the URL's password parameter
// (Sentinel) or userinfo (one server), REDIS_PASSWORD, and for Sentinel the
// URL's userinfo, which go-redis gives the Sentinels. Errors never quote
// the URL: go-redis's errors may hold the password.
func redisClient(raw string, password string) (redis.UniversalClient, error) {
	if !config.IsSentinelURL(raw) {
		o, err := redis.ParseURL(raw)
		if err != nil {
			// config.FromEnv checked the scheme and the database number.
			return nil, errors.New("REDIS_URL cannot be read by the Redis client: check its host, port and options")
		}
		if o.Password == "" {
			o.Password = password
		}
		return redis.NewClient(o), nil
	}
	o, err := redis.ParseFailoverURL(raw)
	if err != nil {
		return nil, errors.New("REDIS_URL cannot be read by the Redis client as a Sentinel URL: check its hosts, ports and " +
			"options (those of go-redis's ParseFailoverURL, such as master_name, addr, password, dial_timeout)")
	}
	if o.Password == "" {
		o.Password, o.Username = password, ""
		if password == "" {
			o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
		}
	}
	return redis.NewFailoverClient(o), nil
}

// checkRedis refuses to start on a Redis that will never work: a wrong
// password, and, behind Sentinel, Sentinels that do not answer or do not
// know the master. A single server that is merely down is waited for
// (/readyz says so), as before. The problem is one line with no password.
func checkRedis(ctx context.Context, rdb redis.UniversalClient, raw string, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	if config.IsSentinelURL(raw) {
		// Asked first, and once each: the client would retry for the
		// whole timeout before saying that no Sentinel answers.
		if err := checkSentinels(ctx, raw); err != nil {
			return err
		}
	}
	err := rdb.Ping(ctx).Err()
	switch {
	case err == nil:
		return nil
	case refusedAuth(err):
		return errors.New("REDIS_URL: Redis refused the password (from REDIS_URL or REDIS_PASSWORD): check it")
	case config.IsSentinelURL(raw):
		return fmt.Errorf("REDIS_URL: the Sentinels name a master, but it does not answer: %v", redactedRedisErr(err))
	}
	log.Warn().Err(redactedRedisErr(err)).Msg("Redis does not answer yet; /readyz says not ready until it does")
	return nil
}

// checkSentinels asks each Sentinel of a Sentinel REDIS_URL for the master,
// to tell "none answers" from "none knows the master" from a refused password.
func checkSentinels(ctx context.Context, raw string) error {
	o, err := redis.ParseFailoverURL(raw)
	if err != nil {
		return errors.New("REDIS_URL cannot be read by the Redis client as a Sentinel URL")
	}
	answered := 0
	for _, addr := range o.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword,
			TLSConfig: o.TLSConfig, DialTimeout: 2 * time.Second, MaxRetries: -1})
		_, err := sc.GetMasterAddrByName(ctx, o.MasterName).Result()
		_ = sc.Close() // a probe's connection; nothing was written on it
		switch {
		case err == nil:
			return nil
		case refusedAuth(err):
			return fmt.Errorf("REDIS_URL: the Sentinel at %s refused the password (the URL's user:password is the Sentinels')", addr)
		case errors.Is(err, redis.Nil):
			answered++
		}
	}
	if answered > 0 {
		return fmt.Errorf("REDIS_URL: the Sentinels (%s) do not know a master named %q: check master_name", strings.Join(o.SentinelAddrs, ", "), o.MasterName)
	}
	return fmt.Errorf("REDIS_URL: none of the Sentinels (%s) answered", strings.Join(o.SentinelAddrs, ", "))
}

// refusedAuth reports whether Redis refused the credentials
// (https://redis.io/docs/latest/commands/auth/).
func refusedAuth(err error) bool {
	for _, prefix := range []string{"WRONGPASS", "NOAUTH", "ERR AUTH", "ERR invalid password", "ERR Client sent AUTH"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

// redactedRedisErr keeps the kind of a Redis error for a log line without
// any text that could quote a URL.
func redactedRedisErr(err error) error {
	var re redis.Error
	if errors.As(err, &re) {
		return err // a server's reply: it never echoes credentials
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no answer in time")
	}
	return err
}

// durability is how many replicas must hold a decision: the setting, or
// when it is left out 1 if the master has replicas now and 0 on a single
// server (or one that does not say, such as the embedded Redis).
func durability(ctx context.Context, rdb redis.UniversalClient, s config.Redis, log zerolog.Logger) store.Durability {
	d := store.Durability{Replicas: s.MinReplicasAcked, Timeout: s.WaitTimeout.Duration()}
	if d.Replicas < 0 {
		ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
		defer cancel()
		n, err := store.ConnectedReplicas(ctx, rdb)
		if err != nil {
			log.Warn().Err(err).Msg("could not count the Redis master's replicas: decisions do not wait for any (set settings.redis.min_replicas_acked)")
		}
		d.Replicas = min(n, 1)
	}
	log.Info().Int("min_replicas_acked", d.Replicas).Dur("wait_timeout", d.Timeout).Msg("decisions are acknowledged once this many Redis replicas hold them")
	return d
}

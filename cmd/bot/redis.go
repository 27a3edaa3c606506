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
// ParseURL), a master behind Sentinels (ParseFailoverURL, when the URL
// has master_name), which go-redis follows across failovers by itself, or
// a Redis Cluster (ParseClusterURL, when the scheme is redis+cluster://),
// whose slot map go-redis follows across failovers by itself.
// The servers' password is, first found: the URL's password parameter
// (Sentinel) or userinfo (one server, Cluster), REDIS_PASSWORD, and for
// Sentinel the URL's userinfo, which go-redis gives the Sentinels. Errors
// never quote the URL: go-redis's errors may hold the password.
func redisClient(raw string, password string) (redis.UniversalClient, error) {
	if config.IsClusterURL(raw) {
		o, err := redis.ParseClusterURL(config.ClusterURL(raw))
		if err != nil {
			return nil, errors.New("REDIS_URL cannot be read by the Redis client as a Cluster URL: check its hosts, ports and " +
				"options (those of go-redis's ParseClusterURL, such as addr, dial_timeout)")
		}
		if o.Password == "" {
			o.Password = password
		}
		return redis.NewClusterClient(o), nil
	}
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
// (/readyz says so), as before. A Cluster whose nodes all do not answer, or
// that is not a cluster, is refused too. The problem is one line with no
// password.
func checkRedis(ctx context.Context, rdb redis.UniversalClient, raw string, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		if err := checkClusterNodes(ctx, cluster.Options()); err != nil {
			return err
		}
	}
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
	case config.IsClusterURL(raw):
		return fmt.Errorf("REDIS_URL: the Redis Cluster does not answer: %v", redactedRedisErr(err))
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

// checkClusterNodes asks each node a Cluster REDIS_URL names for CLUSTER
// INFO, once, to tell "none answers" from "not a cluster" from a refused
// password before the cluster client retries for the whole timeout.
func checkClusterNodes(ctx context.Context, o *redis.ClusterOptions) error {
	for _, addr := range o.Addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, DialTimeout: 2 * time.Second, MaxRetries: -1})
		err := c.ClusterInfo(ctx).Err()
		_ = c.Close() // a probe's connection; nothing was written on it
		switch {
		case err == nil:
			return nil
		case refusedAuth(err):
			return errors.New("REDIS_URL: Redis refused the password (from REDIS_URL or REDIS_PASSWORD): check it")
		case redis.HasErrorPrefix(err, "This instance has cluster support disabled"):
			// https://redis.io/docs/latest/commands/cluster-info/: a server
			// without cluster-enabled yes refuses every CLUSTER command.
			return fmt.Errorf("REDIS_URL names a Redis Cluster (redis+cluster://), but the server at %s is not a cluster node "+
				"(cluster support disabled): use redis:// for one server", addr)
		}
	}
	return fmt.Errorf("REDIS_URL: none of the Cluster nodes (%s) answered", strings.Join(o.Addrs, ", "))
}

// refusedAuth reports whether Redis refused the credentials
// (https://redis.io/docs/latest/commands/auth/). redis.HasErrorPrefix drops
// a leading "ERR " before it compares, so the prefixes go without it.
func refusedAuth(err error) bool {
	for _, prefix := range []string{"WRONGPASS", "NOAUTH", "AUTH", "invalid password", "Client sent AUTH"} {
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

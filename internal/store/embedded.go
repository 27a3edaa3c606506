package store

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Embedded starts an in-memory Redis (miniredis) on a free loopback port, for
// running without REDIS_URL. Everything in it dies with the process: the
// caller must say so loudly. Key expiry follows the wall clock, as in Redis,
// so leases and dedup markers lapse. stop closes it and may be called twice.
func Embedded() (url string, stop func(), err error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return "", nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return "redis://" + m.Addr(), m.Close, nil
}

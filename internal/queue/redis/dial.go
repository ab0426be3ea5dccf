package redis

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Dial connects to the Redis server named by addr, either a URL
// (redis://[user:password@]host:port/db, rediss:// for TLS, as the
// configuration holds it) or a bare host:port, and checks that it answers.
func Dial(ctx context.Context, addr string) (*goredis.Client, error) {
	var opts *goredis.Options
	if strings.Contains(addr, "://") {
		o, err := goredis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("redis address %q: %w", addr, err)
		}
		opts = o
	} else {
		opts = &goredis.Options{Addr: addr}
	}
	// The queue retries by itself; a short dial timeout keeps a runner
	// responsive while Redis restarts.
	opts.MaxRetries = 2
	rdb := goredis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w", opts.Addr, err)
	}
	return rdb, nil
}

// One way to open a Redis client for the features that share state across replicas (sessions,
// rate limits, code throttling): the same URL checks, timeouts and background reconnects.
import { ConfigError, Effect, Option, Redacted, type Scope } from "effect"
import { Redis } from "ioredis"

/** Connect and command timeouts: a request never waits longer than this on a dead Redis. */
export const REDIS_TIMEOUT_MS = 2000

/** `host:port` of a Redis URL, for messages (never the password). */
export const describeRedisTarget = (url: URL) => `${url.hostname}:${url.port === "" ? "6379" : url.port}`

export const parseRedisUrl = (redisUrl: Option.Option<Redacted.Redacted>) =>
  Option.match(redisUrl, {
    onNone: () =>
      Effect.fail(
        ConfigError.MissingData(["REDIS_URL"], "SESSION_STORE=redis needs REDIS_URL, e.g. redis://redis:6379/0")
      ),
    onSome: (secret) => {
      const value = Redacted.value(secret)
      const url = URL.canParse(value) ? new URL(value) : undefined
      return url !== undefined && (url.protocol === "redis:" || url.protocol === "rediss:")
        ? Effect.succeed({ value, url })
        : Effect.fail(
            ConfigError.InvalidData(["REDIS_URL"], "Expected redis://[user:password@]host[:port][/db] or rediss://…")
          )
    }
  })

/** A client that fails fast while Redis is down and reconnects in the background; closed with the scope. */
export const openRedis = (
  redisUrl: Option.Option<Redacted.Redacted>
): Effect.Effect<{ readonly client: Redis; readonly target: string }, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const { value, url } = yield* parseRedisUrl(redisUrl)
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Redis(value, {
            lazyConnect: true,
            enableOfflineQueue: false,
            connectTimeout: REDIS_TIMEOUT_MS,
            commandTimeout: REDIS_TIMEOUT_MS,
            maxRetriesPerRequest: 1,
            // Keep reconnecting in the background, quickly enough to recover within a second or so.
            retryStrategy: (attempt) => Math.min(attempt * 100, 1000)
          })
      ),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    return { client, target: describeRedisTarget(url) }
  })

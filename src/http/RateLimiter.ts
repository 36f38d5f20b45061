// Turns per minute per principal on /v1/chat (ASSISTANT_API_RATE_LIMIT): a fixed one-minute
// window, counted in Redis when sessions are (so every replica shares one budget), else in
// memory. A Redis outage falls back to this replica's own count: limits degrade, chat does not.
import { Clock, Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { defineScript, openRedis } from "../sessions/RedisConnection.js"
import { ApiTokens } from "./ApiTokens.js"

const WINDOW_MS = 60_000
const DEFAULT_LIMIT_WITH_TOKENS = 120
export const RATE_KEY_PREFIX = "sa:rate:"

/** INCR and its expiry in one step, loaded once (EVALSHA); one declared key, so a cluster routes it. */
const COUNT_SCRIPT = `
local count = redis.call("INCR", KEYS[1])
if count == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return count
`

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number }

export interface RateLimiterService {
  /** Counts one turn for `principal` and says whether it is within the limit. */
  readonly take: (principal: string) => Effect.Effect<RateDecision>
}

const unlimited: RateLimiterService = { take: () => Effect.succeed({ allowed: true }) }

/** Windows of this replica, pruned as they end. */
const memoryCounter = () => {
  const counts = new Map<string, { window: number; count: number }>()
  return (principal: string, now: number): number => {
    const window = Math.floor(now / WINDOW_MS)
    const current = counts.get(principal)
    if (current === undefined || current.window !== window) {
      if (counts.size > 10_000) for (const [key, value] of counts) if (value.window !== window) counts.delete(key)
      counts.set(principal, { window, count: 1 })
      return 1
    }
    current.count += 1
    return current.count
  }
}

const decide = (count: number, limit: number, now: number): RateDecision =>
  count <= limit
    ? { allowed: true }
    : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((WINDOW_MS - (now % WINDOW_MS)) / 1000)) }

export class RateLimiter extends Context.Tag("security-agent/RateLimiter")<RateLimiter, RateLimiterService>() {
  static readonly layer = Layer.scoped(
    RateLimiter,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const tokens = yield* ApiTokens
      // Default: on with tokens (a shared server), off for an unauthenticated loopback one.
      const limit = Option.getOrElse(config.api.rateLimit, () => (tokens.required ? DEFAULT_LIMIT_WITH_TOKENS : 0))
      if (limit === 0) return unlimited
      const local = memoryCounter()
      if (config.sessions.store !== "redis") {
        return {
          take: (principal) => Effect.map(Clock.currentTimeMillis, (now) => decide(local(principal, now), limit, now))
        }
      }
      const { client, target } = yield* openRedis(config.sessions.redisUrl)
      const count = defineScript(client, "saRateCount", 1, COUNT_SCRIPT)
      // One warning per outage (the session store says more); the client reconnects by itself.
      let degraded = false
      client.on("error", () => undefined)
      client.on("ready", () => {
        degraded = false
      })
      client.connect().catch(() => undefined)
      return {
        take: (principal) =>
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const window = Math.floor(now / WINDOW_MS)
            const key = `${RATE_KEY_PREFIX}{${principal}}:${window}`
            const shared = yield* Effect.tryPromise(() => count([key], [WINDOW_MS * 2])).pipe(
              Effect.map(Number),
              Effect.filterOrFail(Number.isFinite),
              Effect.tapError(() =>
                degraded
                  ? Effect.void
                  : Effect.sync(() => {
                      degraded = true
                    }).pipe(
                      Effect.zipRight(
                        Effect.logWarning(
                          `rate limit: Redis at ${target} did not answer; counting on this replica only`
                        )
                      )
                    )
              ),
              Effect.option
            )
            return decide(
              Option.getOrElse(shared, () => local(principal, now)),
              limit,
              now
            )
          })
      }
    })
  )
}

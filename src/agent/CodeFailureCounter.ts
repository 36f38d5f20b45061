// Wrong confirmation codes counted per principal in a fixed window that opens at the first wrong
// code: in this process, or in Redis (`sa:codefail:<principal>`) so every replica sees the count.
import { Clock, type ConfigError, Data, Duration, Effect, type Option, type Redacted, type Scope } from "effect"
import { connectInBackground, defineScript, openRedis, REDIS_TIMEOUT_MS } from "../sessions/RedisConnection.js"

export const CODE_FAILURE_KEY_PREFIX = "sa:codefail:"

/** Wrong codes of one principal in the current window, and how long until the window ends. */
export interface FailureWindow {
  readonly failures: number
  readonly remainingMillis: number
}

export class CodeFailureCounterUnavailable extends Data.TaggedError("CodeFailureCounterUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface CodeFailureCounter<E = CodeFailureCounterUnavailable> {
  readonly current: (principal: string) => Effect.Effect<FailureWindow, E>
  /** Counts one wrong code and returns the window with it. */
  readonly increment: (principal: string) => Effect.Effect<FailureWindow, E>
}

/** The counter of one replica (SESSION_STORE=memory, and the fallback while Redis is away). */
export const makeMemoryCodeFailureCounter = (windowMillis: number): CodeFailureCounter<never> => {
  const windows = new Map<string, { failures: number; endsAt: number }>()
  const live = (principal: string, now: number) => {
    const window = windows.get(principal)
    if (window !== undefined && window.endsAt > now) return window
    windows.delete(principal)
    return undefined
  }
  const view = (window: { failures: number; endsAt: number } | undefined, now: number): FailureWindow =>
    window === undefined
      ? { failures: 0, remainingMillis: 0 }
      : { failures: window.failures, remainingMillis: window.endsAt - now }
  return {
    current: (principal) => Effect.map(Clock.currentTimeMillis, (now) => view(live(principal, now), now)),
    increment: (principal) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        // Expired windows of other principals go too, so the map holds only live windows.
        for (const [name, window] of windows) if (window.endsAt <= now) windows.delete(name)
        const window = live(principal, now) ?? { failures: 0, endsAt: now + windowMillis }
        window.failures += 1
        windows.set(principal, window)
        return view(window, now)
      })
  }
}

/** INCR and its expiry in one step: a window can never be left without one. */
const INCREMENT_SCRIPT = `
local failures = redis.call("INCR", KEYS[1])
local remaining = redis.call("PTTL", KEYS[1])
if remaining < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  remaining = tonumber(ARGV[1])
end
return {failures, remaining}
`

const CURRENT_SCRIPT = `
local failures = redis.call("GET", KEYS[1])
if not failures then return {0, 0} end
return {tonumber(failures), redis.call("PTTL", KEYS[1])}
`

const CALL_TIMEOUT = Duration.millis(REDIS_TIMEOUT_MS + 500)

/**
 * The counter shared by replicas at REDIS_URL. Builds even when Redis is down (calls then fail
 * with CodeFailureCounterUnavailable until it is back, and the caller falls back).
 */
export const makeRedisCodeFailureCounter = (
  redisUrl: Option.Option<Redacted.Redacted>,
  windowMillis: number
): Effect.Effect<CodeFailureCounter, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const { client, target } = yield* openRedis(redisUrl)
    // The caller reports the outage (once); without a listener ioredis would print every reconnect.
    client.on("error", () => undefined)
    // Loaded once per server (EVALSHA); each touches one declared key, so a cluster routes it.
    const scripts = {
      increment: defineScript(client, "saCodeFailureIncrement", 1, INCREMENT_SCRIPT),
      current: defineScript(client, "saCodeFailureCurrent", 1, CURRENT_SCRIPT)
    }
    yield* connectInBackground(client)

    const call = (
      operation: string,
      script: keyof typeof scripts,
      principal: string,
      ...args: Array<string | number>
    ) =>
      Effect.tryPromise({
        try: () => scripts[script]([`${CODE_FAILURE_KEY_PREFIX}${principal}`], args),
        catch: (cause) =>
          new CodeFailureCounterUnavailable({
            message: `Redis at ${target} did not answer ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause
          })
      }).pipe(
        Effect.timeoutFail({
          duration: CALL_TIMEOUT,
          onTimeout: () =>
            new CodeFailureCounterUnavailable({ message: `Redis at ${target} timed out on ${operation}` })
        }),
        Effect.map((reply): FailureWindow => {
          const [failures, remaining] = reply as [number, number]
          return { failures: Number(failures), remainingMillis: Math.max(0, Number(remaining)) }
        })
      )

    return {
      current: (principal) => call("the wrong-code count", "current", principal),
      increment: (principal) => call("the wrong-code increment", "increment", principal, windowMillis)
    } satisfies CodeFailureCounter
  })

// Sessions in Redis (or a Redis Cluster), shared by every replica: TTL by key expiry, a cap kept
// with a sorted set of ids by last update, and turns of one session serialised across replicas by
// a leased lock key in the session's hash slot. Scripts are loaded once and declare their keys.
import { randomUUID } from "node:crypto"
import { Clock, type ConfigError, Duration, Effect, Either, Layer, Random, Runtime, Schema, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { connectInBackground, defineScript, openRedis, REDIS_TIMEOUT_MS } from "./RedisConnection.js"
import {
  capHistory,
  emptySession,
  PENDING_ACTION_KINDS,
  type Session,
  SessionBusy,
  SessionStoreUnavailable
} from "./Session.js"
import { SessionStore, type SessionStoreService } from "./SessionStore.js"

export const SESSION_KEY_PREFIX = "sa:session:"
/** A session's key, hashed whole (session ids carry no braces). */
export const sessionKey = (sessionId: string) => `${SESSION_KEY_PREFIX}${sessionId}`
/** Its lock: the session key as the hash tag, so both live in the same cluster slot. */
export const lockKey = (sessionId: string) => `{${sessionKey(sessionId)}}:lock`
/** Sorted set of session ids scored by their last update (epoch ms): the cap's eviction order. */
export const SESSION_INDEX_KEY = "sa:sessions"

/** Our own bound over every call, in case the client's timers do not fire. */
const CALL_TIMEOUT = Duration.millis(REDIS_TIMEOUT_MS + 500)
const LOCK_POLL_FIRST_MS = 5
const LOCK_POLL_MAX_MS = 100
/** How much longer than the turn wait a lock lease lasts: a turn holding it can take that long. */
const LOCK_LEASE_MARGIN_MS = 60_000

const SessionJson = Schema.parseJson(
  Schema.Struct({
    id: Schema.String,
    turnCount: Schema.Number,
    messages: Schema.Array(
      Schema.Struct({
        role: Schema.Literal("user", "assistant"),
        content: Schema.String,
        route: Schema.optional(Schema.String),
        ts: Schema.String
      })
    ),
    pendingAction: Schema.NullOr(
      Schema.Struct({
        action: Schema.Literal(...PENDING_ACTION_KINDS),
        params: Schema.Record({ key: Schema.String, value: Schema.String }),
        summary: Schema.String,
        nonceHash: Schema.String,
        expiresAt: Schema.Number,
        failedAttempts: Schema.Number
      })
    ),
    updatedAt: Schema.Number
  })
)
// Fields added to Session later survive a round trip instead of being stripped.
const decodeSession = Schema.decodeUnknownEither(SessionJson, { onExcessProperty: "preserve" })

/**
 * Indexes a saved session, drops expired ids and returns the oldest ids beyond the cap (their
 * session keys live in other slots, so the caller deletes them one by one).
 */
const INDEX_SCRIPT = `
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[4])
local excess = redis.call("ZCARD", KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, excess - 1)
  for _, id in ipairs(oldest) do redis.call("ZREM", KEYS[1], id) end
  return oldest
end
return {}
`

/** Deletes the lock only if it still holds our token (the lease may have passed to another turn). */
const RELEASE_SCRIPT = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`

export const makeRedisSessionStore: Effect.Effect<
  SessionStoreService,
  ConfigError.ConfigError,
  AppConfig | Scope.Scope
> = Effect.gen(function* () {
  const { sessions: settings, api } = yield* AppConfig
  const ttlMillis = settings.ttlSeconds * 1000
  const turnWaitMillis = api.turnWaitSeconds * 1000
  const leaseMillis = Math.ceil(turnWaitMillis + LOCK_LEASE_MARGIN_MS)
  const runtime = yield* Effect.runtime<never>()
  const scope = yield* Effect.scope
  const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)

  const { client, target } = yield* openRedis(settings.redisUrl)
  const indexSession = defineScript(client, "saIndexSession", 1, INDEX_SCRIPT)
  const releaseLockScript = defineScript(client, "saReleaseLock", 1, RELEASE_SCRIPT)

  // One warning per outage and one line when it ends, instead of an error per reconnect attempt.
  let reachable = true
  client.on("error", (error: Error) => {
    if (!reachable) return
    reachable = false
    log(
      Effect.logWarning(
        `session store: Redis at ${target} is unreachable (${error.message}); turns answer 503 until it is back, reconnecting in the background`
      )
    )
  })
  client.on("ready", () => {
    if (reachable) return
    reachable = true
    log(Effect.logInfo(`session store: Redis at ${target} is reachable again`))
  })

  // Start-up waits for the first connection at most connectTimeout and never fails: a replica
  // must start (and report not-ready) while Redis is down.
  yield* connectInBackground(client)

  const unavailable = (operation: string, cause: unknown) =>
    new SessionStoreUnavailable({
      message: `the session store (Redis at ${target}) did not answer ${operation}: ${
        cause instanceof Error ? cause.message : String(cause)
      }; check that Redis is running and REDIS_URL points at it`,
      cause
    })

  const call = <A>(operation: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: (cause) => unavailable(operation, cause) }).pipe(
      Effect.timeoutFail({ duration: CALL_TIMEOUT, onTimeout: () => unavailable(operation, "timed out") })
    )

  const load = (sessionId: string) =>
    Effect.flatMap(
      call("GET", () => client.get(sessionKey(sessionId))),
      (json): Effect.Effect<Session | undefined> => {
        if (json === null) return Effect.succeed(undefined)
        const decoded = decodeSession(json)
        return Either.isRight(decoded)
          ? Effect.succeed(decoded.right as Session)
          : Effect.as(
              Effect.logWarning(`session store: session ${sessionId} in Redis is unreadable; starting it afresh`),
              undefined
            )
      }
    )

  const save = (sessionId: string, session: Session) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const stored: Session = {
        ...session,
        id: sessionId,
        messages: capHistory(session.messages, settings.historyMessages),
        updatedAt: now
      }
      return call("the session save", async () => {
        await client.set(sessionKey(sessionId), JSON.stringify(stored), "PX", ttlMillis)
        const evicted = (await indexSession(
          [SESSION_INDEX_KEY],
          [now, sessionId, settings.maxSessions, now - ttlMillis]
        )) as Array<string>
        await Promise.all(evicted.map((id) => client.del(sessionKey(id))))
      })
    })

  interface Lease {
    readonly token: string
    /** Redis answered OK to our SET NX. */
    held: boolean
    /** A SET NX was sent whose answer we may not have seen (timeout, interruption): it may yet land. */
    mayHold: boolean
  }

  const tryLock = (sessionId: string, lease: Lease) =>
    Effect.suspend(() => {
      lease.mayHold = true
      return call("the lock", () => client.set(lockKey(sessionId), lease.token, "PX", leaseMillis, "NX"))
    }).pipe(
      Effect.map((reply) => {
        lease.held = reply === "OK"
        lease.mayHold = lease.held
        return lease.held
      })
    )

  /** Polls `SET NX` with a growing, jittered delay until the lock is ours or the wait is over. */
  const acquireLock = (sessionId: string, lease: Lease) =>
    Effect.gen(function* () {
      const deadline = (yield* Clock.currentTimeMillis) + turnWaitMillis
      let delay = LOCK_POLL_FIRST_MS
      while (!(yield* tryLock(sessionId, lease))) {
        const now = yield* Clock.currentTimeMillis
        if (now >= deadline) return yield* Effect.fail(new SessionBusy({ sessionId }))
        const jitter = yield* Random.nextIntBetween(0, Math.ceil(delay / 2) + 1)
        yield* Effect.sleep(Duration.millis(Math.min(delay + jitter, deadline - now)))
        delay = Math.min(delay * 2, LOCK_POLL_MAX_MS)
      }
    })

  // Runs also when a SET NX went unanswered: commands on one connection run in order, so a
  // SET that lands late (Redis stalled) is undone by this compare-and-delete right behind it.
  const releaseLock = (sessionId: string, lease: Lease) =>
    lease.mayHold
      ? call("the unlock", () => releaseLockScript([lockKey(sessionId)], [lease.token])).pipe(
          Effect.flatMap((deleted) =>
            deleted === 1 || !lease.held
              ? Effect.void
              : Effect.logWarning(
                  `session store: the lock of session ${sessionId} expired before its turn ended (lease ${leaseMillis} ms)`
                )
          ),
          // The lease expires by itself; a failed unlock only delays the next turn of that session.
          Effect.catchAll((error) => Effect.logWarning(`session store: ${error.message}`))
        )
      : Effect.void

  const withSession: SessionStoreService["withSession"] = (sessionId, use) =>
    Effect.acquireUseRelease(
      Effect.sync((): Lease => ({ token: randomUUID(), held: false, mayHold: false })),
      (lease) =>
        Effect.gen(function* () {
          yield* acquireLock(sessionId, lease)
          const loaded = yield* load(sessionId)
          const [result, next] = yield* use(loaded ?? emptySession(sessionId, yield* Clock.currentTimeMillis))
          yield* save(sessionId, next)
          return result
        }),
      // An unanswered SET NX is undone in the background: the caller never waits twice on a stalled Redis.
      (lease) =>
        lease.held ? releaseLock(sessionId, lease) : Effect.asVoid(Effect.forkIn(releaseLock(sessionId, lease), scope))
    )

  return {
    withSession,
    get: load,
    ping: Effect.asVoid(call("PING", () => client.ping())),
    size: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      call("ZCOUNT", () => client.zcount(SESSION_INDEX_KEY, `(${now - ttlMillis}`, "+inf"))
    )
  } satisfies SessionStoreService
})

export const RedisSessionStore = {
  /**
   * The shared store at REDIS_URL. Builds even when Redis is down (operations then fail with
   * SessionStoreUnavailable until it is back); fails only on a missing or malformed REDIS_URL.
   */
  layer: Layer.scoped(SessionStore, makeRedisSessionStore)
} as const

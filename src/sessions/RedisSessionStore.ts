// Sessions in Redis, shared by every replica: TTL by key expiry, a cap kept with a sorted set of
// ids by last update, and turns of one session serialised across replicas by a leased lock key.
import { randomUUID } from "node:crypto"
import { Clock, type ConfigError, Duration, Effect, Either, Layer, Random, Runtime, Schema, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { openRedis, REDIS_TIMEOUT_MS } from "./RedisConnection.js"
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
export const LOCK_KEY_PREFIX = "sa:lock:"
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

/** Writes the session with its TTL, indexes it, drops expired ids and evicts the oldest beyond the cap. */
const SAVE_SCRIPT = `
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[4])
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[7])
local excess = redis.call("ZCARD", KEYS[2]) - tonumber(ARGV[5])
if excess > 0 then
  local oldest = redis.call("ZRANGE", KEYS[2], 0, excess - 1)
  for _, id in ipairs(oldest) do
    redis.call("DEL", ARGV[6] .. id)
    redis.call("ZREM", KEYS[2], id)
  end
  return #oldest
end
return 0
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
  yield* Effect.promise(() =>
    client.connect().then(
      () => undefined,
      () => undefined
    )
  )

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

  const sessionKey = (sessionId: string) => `${SESSION_KEY_PREFIX}${sessionId}`
  const lockKey = (sessionId: string) => `${LOCK_KEY_PREFIX}${sessionId}`

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
      return call("the session save", () =>
        client.eval(
          SAVE_SCRIPT,
          2,
          sessionKey(sessionId),
          SESSION_INDEX_KEY,
          JSON.stringify(stored),
          ttlMillis,
          now,
          sessionId,
          settings.maxSessions,
          SESSION_KEY_PREFIX,
          now - ttlMillis
        )
      )
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
      ? call("the unlock", () => client.eval(RELEASE_SCRIPT, 1, lockKey(sessionId), lease.token)).pipe(
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

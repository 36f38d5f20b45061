// The Redis session store against a real redis-server, as two replicas (two layers, two clients)
// sharing it: shared sessions, cross-replica serialisation, TTL by key expiry, the cap, an outage.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Context, Data, Deferred, Effect, Fiber, Layer, Schedule } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { RedisSessionStore } from "../../src/sessions/RedisSessionStore.js"
import type { Session, SessionBusy, SessionMessage, SessionStoreUnavailable } from "../../src/sessions/Session.js"
import { SessionStore, type SessionStoreService } from "../../src/sessions/SessionStore.js"
import { type RedisServer, startRedis } from "../support/redis.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

/** One replica: its own layer and Redis client, released with the test's scope. */
const replica = (db: number, env: Record<string, string> = {}) =>
  Layer.build(
    RedisSessionStore.layer.pipe(
      Layer.provide(AppConfig.layerWith({ SESSION_STORE: "redis", REDIS_URL: redis.url(db), ...env }))
    )
  ).pipe(Effect.map(Context.get(SessionStore)))

const message = (content: string): SessionMessage => ({ role: "user", content, ts: "2025-01-01T00:00:00.000Z" })

/** One turn: returns the turn count it found and saves it incremented, with `messages` appended. */
const turn = (store: SessionStoreService, sessionId: string, messages: ReadonlyArray<SessionMessage> = []) =>
  store.withSession(sessionId, (session) =>
    Effect.succeed([
      session.turnCount,
      { ...session, turnCount: session.turnCount + 1, messages: [...session.messages, ...messages] }
    ] as const)
  )

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const result = yield* effect
    return [result, (yield* Clock.currentTimeMillis) - started] as const
  })

class TurnBroke extends Data.TaggedError("TurnBroke")<{}> {}

describe("RedisSessionStore (two replicas, one redis-server)", () => {
  it.scopedLive("a session written by one replica is read and continued by the other", () =>
    Effect.gen(function* () {
      const a = yield* replica(1)
      const b = yield* replica(1)
      yield* a.ping
      expect(yield* b.get("shared-1")).toBeUndefined()
      const pendingAction = {
        action: "set_mode",
        params: { mode: "block" },
        summary: "Switch protection to block",
        nonceHash: "ab".repeat(32),
        expiresAt: 1_900_000_000_000,
        failedAttempts: 0
      } as const
      yield* a.withSession("shared-1", (session) =>
        Effect.succeed([
          undefined,
          { ...session, turnCount: 1, messages: [message("hi")], pendingAction } satisfies Session
        ] as const)
      )
      const seenByB = yield* b.get("shared-1")
      expect(seenByB).toMatchObject({ id: "shared-1", turnCount: 1, messages: [{ content: "hi" }], pendingAction })
      expect(yield* turn(b, "shared-1")).toBe(1)
      expect((yield* a.get("shared-1"))?.turnCount).toBe(2)
      expect(yield* a.size).toBe(1)
    })
  )

  it.scopedLive("serialises concurrent turns of one session across replicas", () =>
    Effect.gen(function* () {
      const a = yield* replica(2)
      const b = yield* replica(2)
      const log: Array<string> = []
      const slowTurn = (store: SessionStoreService, name: string) =>
        store.withSession("race", (session) =>
          Effect.gen(function* () {
            log.push(`${name} start`)
            yield* Effect.sleep("150 millis")
            log.push(`${name} end`)
            return [session.turnCount, { ...session, turnCount: session.turnCount + 1 }] as const
          })
        )
      const seen = yield* Effect.all([slowTurn(a, "a"), slowTurn(b, "b"), slowTurn(a, "a2")], {
        concurrency: "unbounded"
      })
      expect([...seen].sort()).toEqual([0, 1, 2])
      for (let i = 0; i < log.length; i += 2) {
        expect(log[i]!.replace(" start", "")).toBe(log[i + 1]!.replace(" end", ""))
      }
      expect((yield* b.get("race"))?.turnCount).toBe(3)
    })
  )

  it.scopedLive("runs turns of different sessions in parallel", () =>
    Effect.gen(function* () {
      const a = yield* replica(3)
      const b = yield* replica(3)
      let inside = 0
      let mostInside = 0
      const slowTurn = (store: SessionStoreService, sessionId: string) =>
        store.withSession(sessionId, (session) =>
          Effect.gen(function* () {
            mostInside = Math.max(mostInside, ++inside)
            yield* Effect.sleep("150 millis")
            inside--
            return [undefined, session] as const
          })
        )
      yield* Effect.all([slowTurn(a, "p"), slowTurn(b, "q"), slowTurn(a, "r")], { concurrency: "unbounded" })
      expect(mostInside).toBe(3)
    })
  )

  it.scopedLive("a turn on one replica waits at most ASSISTANT_API_TURN_WAIT_SECONDS, then SessionBusy", () =>
    Effect.gen(function* () {
      const a = yield* replica(4, { ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
      const b = yield* replica(4, { ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        a.withSession("held", (session) =>
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(release)),
            Effect.as([undefined, { ...session, turnCount: 1 }] as const)
          )
        )
      )
      yield* Deferred.await(entered)
      const [outcome, waited] = yield* elapsed(Effect.either(turn(b, "held")))
      expect(outcome._tag === "Left" && outcome.left).toMatchObject({ _tag: "SessionBusy", sessionId: "held" })
      expect(waited).toBeGreaterThanOrEqual(280)
      expect(waited).toBeLessThan(2000)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* turn(b, "held")).toBe(1)
    })
  )

  it.scopedLive("releases the lock when a turn fails or is interrupted, for the other replica to go on", () =>
    Effect.gen(function* () {
      const a = yield* replica(5, { ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
      const b = yield* replica(5, { ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
      const failed = yield* Effect.either(a.withSession("f", () => new TurnBroke()))
      expect(failed._tag === "Left" && failed.left._tag).toBe("TurnBroke")
      expect(yield* turn(b, "f")).toBe(0)

      const entered = yield* Deferred.make<void>()
      const stuck = yield* Effect.fork(
        a.withSession("f", () => Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)))
      )
      yield* Deferred.await(entered)
      yield* Fiber.interrupt(stuck)
      expect(yield* turn(b, "f")).toBe(1)
    })
  )

  it.scopedLive("expires a session by key expiry TTL after its last save (1 s TTL)", () =>
    Effect.gen(function* () {
      const env = { ASSISTANT_API_SESSION_TTL_SECONDS: "1" }
      const a = yield* replica(6, env)
      const b = yield* replica(6, env)
      yield* turn(a, "ttl")
      yield* Effect.sleep("600 millis")
      expect(yield* turn(b, "ttl")).toBe(1) // still there; this save refreshes the expiry
      yield* Effect.sleep("600 millis")
      expect((yield* a.get("ttl"))?.turnCount).toBe(2)
      expect(yield* a.size).toBe(1)
      yield* Effect.sleep("1100 millis")
      expect(yield* b.get("ttl")).toBeUndefined()
      expect(yield* a.size).toBe(0)
      expect(yield* turn(a, "ttl")).toBe(0)
    })
  )

  it.scopedLive("keeps at most ASSISTANT_API_MAX_SESSIONS across replicas, evicting the least recently updated", () =>
    Effect.gen(function* () {
      const env = { ASSISTANT_API_MAX_SESSIONS: "3" }
      const a = yield* replica(7, env)
      const b = yield* replica(7, env)
      for (const [store, id] of [
        [a, "s1"],
        [b, "s2"],
        [a, "s3"],
        [b, "s1"], // s1 is now the most recently updated, s2 the oldest
        [a, "s4"]
      ] as const) {
        yield* turn(store, id)
        yield* Effect.sleep("5 millis")
      }
      expect(yield* b.size).toBe(3)
      expect(yield* a.get("s2")).toBeUndefined()
      for (const id of ["s1", "s3", "s4"]) expect(yield* b.get(id)).toBeDefined()
      expect((yield* a.get("s1"))?.turnCount).toBe(2)
    })
  )

  it.scopedLive("keeps only the latest ASSISTANT_API_HISTORY_MESSAGES messages", () =>
    Effect.gen(function* () {
      const a = yield* replica(8, { ASSISTANT_API_HISTORY_MESSAGES: "3" })
      yield* turn(a, "h", [message("1"), message("2")])
      yield* turn(a, "h", [message("3"), message("4"), message("5")])
      expect((yield* a.get("h"))?.messages.map((m) => m.content)).toEqual(["3", "4", "5"])
    })
  )

  it.scopedLive("answers SessionStoreUnavailable within ~2 s when Redis stalls, and no lock is left behind", () =>
    Effect.gen(function* () {
      const a = yield* replica(10, { ASSISTANT_API_TURN_WAIT_SECONDS: "1" })
      const b = yield* replica(10, { ASSISTANT_API_TURN_WAIT_SECONDS: "1" })
      yield* turn(a, "stall")
      redis.pause()
      yield* Effect.addFinalizer(() => Effect.sync(() => redis.resume()))
      const operations: ReadonlyArray<Effect.Effect<unknown, SessionBusy | SessionStoreUnavailable>> = [
        turn(a, "stall"),
        b.get("stall")
      ]
      for (const operation of operations) {
        const [outcome, waited] = yield* elapsed(Effect.either(operation))
        expect(outcome._tag === "Left" && outcome.left._tag).toBe("SessionStoreUnavailable")
        expect(waited).toBeLessThan(3000)
      }
      redis.resume()
      // The stalled SET NX ran once Redis woke up; the unlock queued behind it undid it.
      expect(yield* turn(b, "stall")).toBe(1)
    })
  )

  // Last: it stops and restarts the server.
  it.scopedLive("fails fast with SessionStoreUnavailable while Redis is down, starts anyway, and recovers", () =>
    Effect.gen(function* () {
      const a = yield* replica(9)
      const b = yield* replica(9)
      yield* turn(a, "outage")
      yield* Effect.promise(() => redis.stop())
      yield* Effect.sleep("500 millis") // long enough for the clients' reconnect attempts to fail

      const operations: ReadonlyArray<Effect.Effect<unknown, SessionBusy | SessionStoreUnavailable>> = [
        a.get("outage"),
        turn(a, "outage"),
        b.ping,
        b.size
      ]
      for (const operation of operations) {
        const [outcome, waited] = yield* elapsed(Effect.either(operation))
        expect(outcome._tag === "Left" && outcome.left._tag).toBe("SessionStoreUnavailable")
        expect(waited).toBeLessThan(3000)
      }
      const [failure] = yield* elapsed(Effect.flip(a.ping))
      expect(failure.message).toContain(`127.0.0.1:${redis.port}`)

      // A replica started during the outage still starts, reporting the store unavailable.
      const [late, buildTime] = yield* elapsed(replica(9))
      expect(buildTime).toBeLessThan(3000)
      expect((yield* Effect.either(late.ping))._tag).toBe("Left")

      yield* Effect.promise(() => redis.start())
      for (const store of [a, b, late]) {
        yield* store.ping.pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }))
      }
      // The restarted server is empty: the session starts again, and every replica sees it.
      expect(yield* turn(a, "outage")).toBe(0)
      expect(yield* turn(late, "outage")).toBe(1)
      expect((yield* b.get("outage"))?.turnCount).toBe(2)
    })
  )
})

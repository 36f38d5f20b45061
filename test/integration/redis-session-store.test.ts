// The Redis session store against a real redis-server: the SessionStore contract
// (test/support/sessionStoreContract.ts) as two replicas (two layers, two clients) sharing it,
// then what only this store meets: a stalled Redis, a stored session it cannot read, an outage.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schedule } from "effect"
import { Redis } from "ioredis"
import { AppConfig } from "../../src/config/AppConfig.js"
import { RedisSessionStore, SESSION_KEY_PREFIX } from "../../src/sessions/RedisSessionStore.js"
import type { SessionBusy, SessionStoreUnavailable } from "../../src/sessions/Session.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { elapsed, sessionStoreContract, turn } from "../support/sessionStoreContract.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

/** One replica: its own layer and Redis client, released with the test's scope. */
const replica = (db: number, env: Readonly<Record<string, string>> = {}) =>
  Layer.build(
    RedisSessionStore.layer.pipe(
      Layer.provide(AppConfig.layerWith({ SESSION_STORE: "redis", REDIS_URL: redis.url(db), ...env }))
    )
  ).pipe(Effect.map(Context.get(SessionStore)))

/** A database of its own for each test, so their keys never meet (redis-server has 16: 1–15 are ours). */
let lastDb = 0
const freshDb = () => {
  if (lastDb === 15) throw new Error("out of Redis databases: start redis-server with more, or reuse one")
  return ++lastDb
}

sessionStoreContract("RedisSessionStore: the SessionStore contract (two replicas, one redis-server)", (env) => {
  const db = freshDb()
  return Effect.all([replica(db, env), replica(db, env)])
})

describe("RedisSessionStore (two replicas, one redis-server)", () => {
  it.scopedLive("answers SessionStoreUnavailable within ~2 s when Redis stalls, and no lock is left behind", () =>
    Effect.gen(function* () {
      const db = freshDb()
      const a = yield* replica(db, { ASSISTANT_API_TURN_WAIT_SECONDS: "1" })
      const b = yield* replica(db, { ASSISTANT_API_TURN_WAIT_SECONDS: "1" })
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

  it.scopedLive("reads a stored session it cannot parse as new, and the next turn replaces it", () =>
    Effect.gen(function* () {
      const db = freshDb()
      const a = yield* replica(db)
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(redis.url(db))),
        (client) => Effect.sync(() => client.disconnect())
      )
      const stored = {
        "not-json": '{"id":"not-json","turnCount":',
        "wrong-shape": JSON.stringify({ id: "wrong-shape", turnCount: "three", messages: [] })
      }
      for (const [sessionId, value] of Object.entries(stored)) {
        yield* Effect.promise(() => raw.set(`${SESSION_KEY_PREFIX}${sessionId}`, value))
        expect(yield* a.get(sessionId)).toBeUndefined()
        expect(yield* turn(a, sessionId)).toBe(0)
        const replaced = yield* Effect.promise(() => raw.get(`${SESSION_KEY_PREFIX}${sessionId}`))
        expect(JSON.parse(replaced!)).toMatchObject({ id: sessionId, turnCount: 1 })
      }
    })
  )

  // Last: it stops and restarts the server.
  it.scopedLive("fails fast with SessionStoreUnavailable while Redis is down, starts anyway, and recovers", () =>
    Effect.gen(function* () {
      const db = freshDb()
      const a = yield* replica(db)
      const b = yield* replica(db)
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
      const [late, buildTime] = yield* elapsed(replica(db))
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

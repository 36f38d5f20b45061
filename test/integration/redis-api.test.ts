// Two API servers ("replicas") sharing one real Redis: a confirmation code issued by one is
// accepted by the other, and a Redis outage is a 503 for chat while health stays up.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { afterAll, beforeAll } from "vitest"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { baseUrl, testServer } from "../support/app.js"
import { type RedisServer, startRedis } from "../support/redis.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

const chat = (url: string, message: string, sessionId: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat`, {
      method: "POST",
      body: JSON.stringify({ message, session_id: sessionId })
    })
    return { status: response.status, body: (await response.json()) as Record<string, any> }
  })

/** One replica: its own server and SafeLine stand-in, sessions in the shared Redis. */
const replica = (db: number) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      testServer(
        // Replicas share the confirmation code key, as they would from one Secret.
        { SESSION_STORE: "redis", REDIS_URL: redis.url(db), ASSISTANT_CODE_KEY: "k".repeat(64) },
        { sessionStore: "redis" }
      )
    )
    return {
      url: yield* Effect.provide(baseUrl, context),
      simulator: yield* Effect.provide(SafeLineSimulator, context)
    }
  })

describe("sessions shared by two replicas through Redis", () => {
  it.live("a code issued by replica A confirms on replica B; turn ids continue across replicas", () =>
    Effect.gen(function* () {
      const a = yield* replica(1)
      const b = yield* replica(1)
      const challenge = yield* chat(a.url, "ban 203.0.113.7", "shared-1")
      expect(challenge.status).toBe(200)
      expect(challenge.body.turn_id).toBe("1")
      const code = (challenge.body.reply as string).match(/confirm (\d{6})/)![1]
      const confirmed = yield* chat(b.url, `confirm ${code}`, "shared-1")
      expect(confirmed.body.turn_id).toBe("2")
      expect(confirmed.body.reply).toMatch(/203\.0\.113\.7 is blacklisted/)
      const blocklist = (yield* b.simulator.snapshot).ipGroups.find((g) => g.comment === "security-agent blocklist")
      expect(blocklist?.ips).toContain("203.0.113.7")
      // Single use, whichever replica sees the replay.
      const replay = yield* chat(a.url, `confirm ${code}`, "shared-1")
      expect(replay.body.reply).toMatch(/no pending change/)
      expect(replay.body.turn_id).toBe("3")
    }).pipe(Effect.scoped)
  )

  it.live(
    "Redis down: chat answers 503 with a clear error, /healthz stays 200, /readyz names session_store; back up: chat works",
    () =>
      Effect.gen(function* () {
        const a = yield* replica(2)
        expect((yield* chat(a.url, "hi", "outage-1")).status).toBe(200)
        yield* Effect.promise(() => redis.stop())
        const down = yield* chat(a.url, "hi", "outage-1")
        expect(down.status).toBe(503)
        expect(down.body.error).toBe("session_store_unavailable")
        expect(typeof down.body.detail).toBe("string")
        expect((yield* Effect.promise(() => fetch(`${a.url}/healthz`))).status).toBe(200)
        const ready = yield* Effect.promise(() =>
          fetch(`${a.url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
        )
        expect(ready.status).toBe(503)
        expect(ready.body.failed_checks).toEqual(["session_store"])
        expect(ready.body.dependencies.redis.ok).toBe(false)
        yield* Effect.promise(() => redis.start())
        const back = yield* chat(a.url, "hi", "outage-2").pipe(
          Effect.filterOrFail((r) => r.status === 200),
          Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 25 })
        )
        expect(back.status).toBe(200)
      }).pipe(Effect.scoped)
  )
})

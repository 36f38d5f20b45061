// Redis down and back (SESSION_STORE=redis against a real redis-server): while it is down chat
// answers 503 session_store_unavailable quickly, /healthz stays 200 and /readyz is 503 naming
// the session store; once it is back, chat works again without restarting the service.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { eventually } from "../support/eventually.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { type LiveService, startService } from "./LiveService.js"

let redis: RedisServer
let service: LiveService

beforeAll(async () => {
  redis = await startRedis()
  service = await startService({ SESSION_STORE: "redis", REDIS_URL: redis.url(3), ASSISTANT_CODE_KEY: "k".repeat(64) })
})
afterAll(async () => {
  await service?.close()
  await redis?.dispose()
})

describe("Redis down and back", () => {
  it("503 session_store_unavailable while down, healthy all along, chat works again after", async () => {
    const first = await service.chat("what is my traffic?", "redis-1")
    expect(first.status).toBe(200)
    expect(first.body.turn_id).toBe("1")
    expect((await service.get("/readyz")).status).toBe(200)

    await redis.stop()
    const down = await service.chat("what is my traffic?", "redis-1")
    expect(down.status).toBe(503)
    expect(down.body.error).toBe("session_store_unavailable")
    expect(down.body.detail).toMatch(/retry shortly/)
    expect(down.body.turn_id).toBeUndefined()
    expect(down.ms).toBeLessThan(5000)
    const fresh = await service.chat("hi")
    expect(fresh.status).toBe(503)

    expect((await service.get("/healthz")).status).toBe(200)
    const ready = await service.get("/readyz")
    expect(ready.status).toBe(503)
    expect(ready.body.failed_checks).toEqual(["session_store"])
    expect(ready.body.checks.session_store.ok).toBe(false)
    expect(ready.body.dependencies.redis.ok).toBe(false)
    expect(await service.sample("dependency_up", { dependency: "redis" })).toBe(0)
    expect(await service.sample("readiness_failures_total", { check: "session_store" })).toBeGreaterThanOrEqual(1)
    expect(await service.sample("chat_rejected_total", { reason: "session_store_unavailable" })).toBe(2)
    expect(await service.sample("chat_failures_total")).toBe(0)
    // The metrics endpoint itself never depends on Redis.
    expect((await service.get("/metrics")).status).toBe(200)

    await redis.start()
    await eventually(async () => (await service.chat("hi", "redis-2")).status === 200, {
      what: "chat after Redis restart",
      timeoutMs: 15_000
    })
    const again = await service.chat("what is my traffic?", "redis-2")
    expect(again.status).toBe(200)
    expect(again.body.turn_id).toBe("2")
    expect(again.body.reply).toMatch(/requests\/s/)
    await eventually(async () => (await service.get("/readyz")).status === 200, {
      what: "/readyz 200 after restart",
      timeoutMs: 10_000
    })
    expect(await service.sample("dependency_up", { dependency: "redis" })).toBe(1)
    // The restarted server is empty (nothing persisted): the old session starts again at turn 1.
    const restarted = await service.chat("hi", "redis-1")
    expect(restarted.body.turn_id).toBe("1")
  })
})

// WAF change state that survives replicas: two API servers over one Redis and one SafeLine. A
// mode changed on replica A is restored on replica B; both see the same journal; a timed change's
// revert, polled by both schedulers at once, runs exactly once; it survives a restart of both.
// And one PING per readiness request, shared by the session check and the redis dependency.
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { appLayer } from "../../src/app/AppLayer.js"
import { MemorySinks } from "../../src/app/ObservabilityLayer.js"
import { RevertScheduler } from "../../src/app/RevertScheduler.js"
import { SafeLineClientLive } from "../../src/app/SafeLineLive.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import { OfflineReasonerLive } from "../../src/reasoning/OfflineReasoner.js"
import { SessionStoreLive } from "../../src/sessions/SessionStoreLive.js"
import type { Simulator } from "../../src/simulator/Simulator.js"
import { SafeLineTools } from "../../src/tools/SafeLineTools.js"
import { startSimulator, TEST_TOKEN } from "../safeline/SafeLineFixture.js"
import { baseUrl } from "../support/app.js"
import { testConfig } from "../support/layers.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { askAndConfirm } from "./changeTurns.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

const HOUR = 3_600_000
let lastDb = 0

/** One replica: its own server, sessions and change state in the shared Redis, the shared SafeLine. */
const replica = (simulator: Simulator, db: number) =>
  Effect.gen(function* () {
    const app = appLayer({
      config: testConfig({
        SESSION_STORE: "redis",
        REDIS_URL: redis.url(db),
        ASSISTANT_CODE_KEY: "k".repeat(64),
        SAFELINE_URL: simulator.url,
        SAFELINE_API_TOKEN: TEST_TOKEN,
        SAFELINE_RETRIES: "0",
        WAF_MODE_POLL_INTERVAL_SECONDS: "0"
      }),
      safeline: SafeLineClientLive,
      reasoner: OfflineReasonerLive,
      sessions: SessionStoreLive,
      sinks: MemorySinks
    })
    const context = yield* Layer.build(
      HttpAppLive.pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
        Layer.provideMerge(app)
      )
    )
    return {
      url: yield* Effect.provide(baseUrl, context),
      tools: Context.get(context, SafeLineTools),
      scheduler: Context.get(context, RevertScheduler)
    }
  })

const modes = (simulator: Simulator) => Effect.map(simulator.snapshot, (s) => new Set(Object.values(s.modes)))

describe("WAF change state shared by two replicas through Redis", () => {
  it.scopedLive("a mode changed on A is restored on B, and both see the same journal", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator()
      const db = ++lastDb
      const a = yield* replica(simulator, db)
      const b = yield* replica(simulator, db)
      yield* askAndConfirm(a.url, "switch to detect mode", "x-1")
      expect(yield* modes(simulator)).toEqual(new Set(["dry_run"]))
      const restored = yield* askAndConfirm(b.url, "restore the previous mode", "x-2")
      expect(restored.asked.reply).toMatch(/now detect; back to block/)
      expect(restored.confirmed.reply).toMatch(/Restored the previous protection mode: now block \(was detect\)/)
      expect(yield* modes(simulator)).toEqual(new Set(["default"]))
      // A second restore on A undoes B's restore: a restore is a change too.
      yield* askAndConfirm(a.url, "restore the previous mode", "x-1")
      expect(yield* modes(simulator)).toEqual(new Set(["dry_run"]))

      const seenByA = yield* a.tools.changeJournal
      expect(seenByA.map((j) => j.modeAfter)).toEqual(["detect", "block", "detect"])
      expect(yield* b.tools.changeJournal).toEqual(seenByA)
    })
  )

  it.scopedLive("the revert of a timed change runs on exactly one replica, even across a restart", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator()
      const db = ++lastDb
      const a = yield* replica(simulator, db)
      const { confirmed } = yield* askAndConfirm(a.url, "turn protection off for an hour", "y-1")
      expect(confirmed.reply).toMatch(/It reverts to block at \d\d:\d\d UTC/)
      expect(yield* modes(simulator)).toEqual(new Set(["disable"]))

      // Both replicas restart (new processes): the revert is in Redis, not in either of them.
      const c = yield* replica(simulator, db)
      const d = yield* replica(simulator, db)
      const [sc, sd] = [c.scheduler, d.scheduler]
      const due = Date.now() + HOUR + 60_000
      const [runsC, runsD] = yield* Effect.all([sc.runDue(due), sd.runDue(due)], { concurrency: 2 })
      const runs = [...runsC, ...runsD]
      expect(runs).toHaveLength(1)
      expect(runs[0]).toMatchObject({ action: "set_mode", outcome: "ok" })
      expect(yield* modes(simulator)).toEqual(new Set(["default"]))
      expect([...(yield* sc.runDue(due + HOUR)), ...(yield* sd.runDue(due + HOUR))]).toEqual([])
    })
  )

  it.scopedLive("one PING per readiness request, shared by the session check and the redis dependency", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator()
      const a = yield* replica(simulator, ++lastDb)
      const raw = new Redis(redis.url(0))
      yield* Effect.addFinalizer(() => Effect.sync(() => raw.disconnect()))
      const pings = Effect.promise(async () => {
        const stats = await raw.info("commandstats")
        return Number(stats.match(/cmdstat_ping:calls=(\d+)/)?.[1] ?? 0)
      })
      // Let the replica's own start-up traffic settle.
      yield* Effect.promise(() => fetch(`${a.url}/readyz`).then((r) => r.text()))
      for (let i = 0; i < 3; i++) {
        const before = yield* pings
        const ready = yield* Effect.promise(() => fetch(`${a.url}/readyz`).then((r) => r.json() as Promise<any>))
        expect(ready.checks.session_store.ok).toBe(true)
        expect(ready.dependencies.redis.ok).toBe(true)
        expect((yield* pings) - before).toBe(1)
      }
    })
  )
})

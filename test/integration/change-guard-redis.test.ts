// The confirmation guard with SESSION_STORE=redis against a real redis-server, as two replicas
// (two layers) sharing it: one code key, wrong codes counted per principal across replicas in
// `sa:codefail:<principal>`, a memory fallback while Redis is away, and start-up refused without a key.
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { Redis } from "ioredis"
import { ConfirmationGuard } from "../../src/agent/ConfirmationGuard.js"
import { Turn } from "../../src/agent/Turn.js"
import { AppConfig } from "../../src/config/AppConfig.js"
import type { Principal } from "../../src/domain/Principal.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { testApp } from "../support/app.js"
import { freePort, runCli } from "../support/processes.js"
import { type RedisServer, startRedis } from "../support/redis.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

const CODE_KEY = randomBytes(32).toString("hex")
const olga: Principal = { name: "olga", role: "operator" }

const redisEnv = (db: number, env: Record<string, string> = {}) => ({
  SESSION_STORE: "redis",
  REDIS_URL: redis.url(db),
  ASSISTANT_CODE_KEY: CODE_KEY,
  ...env
})

/** One replica's guard: its own layer and Redis client, released with the test's scope. */
const guard = (db: number, env: Record<string, string> = {}) =>
  Layer.build(ConfirmationGuard.layer.pipe(Layer.provide(AppConfig.layerWith(redisEnv(db, env))))).pipe(
    Effect.map(Context.get(ConfirmationGuard))
  )

/** A Redis client of the test's own, to look at what the replicas stored. */
const inspect = (db: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(redis.url(db))),
    (client) => Effect.promise(() => client.quit())
  )

const codeIn = (reply: string) => reply.match(/reply `confirm (\d{6})`/)?.[1] ?? ""
const wrongCode = (code: string) => (code === "000000" ? "000001" : "000000")

describe("ConfirmationGuard on Redis (two replicas)", () => {
  it.scopedLive("wrong codes sent to one replica throttle the principal on the other, for the window", () =>
    Effect.gen(function* () {
      const env = { CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "3", CONFIRMATION_FAILURE_WINDOW_SECONDS: "60" }
      const a = yield* guard(1, env)
      const b = yield* guard(1, env)
      expect(yield* a.recordWrongCode("olga")).toEqual(Option.none())
      expect(yield* b.recordWrongCode("olga")).toEqual(Option.none())
      expect(yield* b.throttle("olga")).toEqual(Option.none())
      const reached = yield* a.recordWrongCode("olga")
      expect(Option.getOrThrow(reached).failures).toBe(3)
      const seenByB = Option.getOrThrow(yield* b.throttle("olga"))
      expect(seenByB.failures).toBe(3)
      expect(seenByB.retryAfterSeconds).toBeGreaterThan(55)
      expect(seenByB.retryAfterSeconds).toBeLessThanOrEqual(60)
      expect(yield* b.throttle("otto")).toEqual(Option.none())
      // INCR and PEXPIRE together: the counter always expires with its window.
      const client = yield* inspect(1)
      expect(yield* Effect.promise(() => client.get("sa:codefail:olga"))).toBe("3")
      const ttl = yield* Effect.promise(() => client.pttl("sa:codefail:olga"))
      expect(ttl).toBeGreaterThan(55_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    })
  )

  it.scopedLive("replicas share the code key from config; the key itself never reaches Redis", () =>
    Effect.gen(function* () {
      const a = yield* Layer.build(testApp(redisEnv(2), { sessionStore: "redis" }))
      const b = yield* Layer.build(testApp(redisEnv(2), { sessionStore: "redis" }))
      const runOn = (replica: Context.Context<Turn>, message: string) =>
        Effect.flatMap(Effect.provide(Turn, replica), (turn) =>
          turn.run({ message, sessionId: "k-1", principal: olga })
        )
      const challenge = yield* runOn(a, "switch to detect mode")
      const confirmed = yield* runOn(b, `confirm ${codeIn(challenge.reply)}`)
      expect(confirmed.reply).toMatch(/Protection mode is now detect/)
      const client = yield* inspect(2)
      const keys = yield* Effect.promise(() => client.keys("*"))
      const values = yield* Effect.forEach(keys, (key) =>
        Effect.promise(async (): Promise<unknown> => {
          const type = await client.type(key)
          if (type === "string") return client.get(key)
          if (type === "hash") return client.hgetall(key)
          if (type === "list") return client.lrange(key, 0, -1)
          return client.zrange(key, 0, -1)
        })
      )
      expect(JSON.stringify(values)).not.toContain(CODE_KEY)
    })
  )

  it.scopedLive("end to end: wrong codes on replica A; on replica B even the right code is refused", () =>
    Effect.gen(function* () {
      const env = redisEnv(3, { CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "2", CONFIRMATION_MAX_ATTEMPTS: "3" })
      const a = yield* Layer.build(testApp(env, { sessionStore: "redis" }))
      const b = yield* Layer.build(testApp(env, { sessionStore: "redis" }))
      const runOn = (replica: Context.Context<Turn>, message: string, sessionId: string) =>
        Effect.flatMap(Effect.provide(Turn, replica), (turn) => turn.run({ message, sessionId, principal: olga }))
      const simulatorB = yield* Effect.provide(SafeLineSimulator, b)
      const before = (yield* simulatorB.snapshot).modes
      // Replica B issues a code before olga is throttled ...
      const second = yield* runOn(b, "switch to strict mode", "e-2")
      // ... then replica A counts her wrong codes up to the limit ...
      const first = yield* runOn(a, "switch to block mode", "e-1")
      const wrong = wrongCode(codeIn(first.reply))
      expect((yield* runOn(a, `confirm ${wrong}`, "e-1")).reply).toMatch(/2 attempts left/)
      expect((yield* runOn(a, `confirm ${wrong}`, "e-1")).reply).toMatch(/Too many wrong confirmation codes from olga/)
      // ... and replica B refuses the right code, and issues no new one.
      const refused = yield* runOn(b, `confirm ${codeIn(second.reply)}`, "e-2")
      expect(refused.reply).toMatch(/Too many wrong confirmation codes from olga .* refused for the next 15 minutes/)
      expect(refused.pending_action).toBeUndefined()
      const third = yield* runOn(b, "switch to detect mode", "e-3")
      expect(third.reply).toMatch(/no code was issued/)
      expect((yield* simulatorB.snapshot).modes).toEqual(before)
    })
  )

  it.scopedLive("while Redis cannot be reached, wrong codes are counted in the replica's memory", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const started = Date.now()
      const lonely = yield* Layer.build(
        ConfirmationGuard.layer.pipe(
          Layer.provide(
            AppConfig.layerWith({
              SESSION_STORE: "redis",
              REDIS_URL: `redis://127.0.0.1:${port}/0`,
              ASSISTANT_CODE_KEY: CODE_KEY,
              CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "2"
            })
          )
        )
      ).pipe(Effect.map(Context.get(ConfirmationGuard)))
      expect(yield* lonely.recordWrongCode("olga")).toEqual(Option.none())
      expect(Option.isSome(yield* lonely.recordWrongCode("olga"))).toBe(true)
      expect(Option.isSome(yield* lonely.throttle("olga"))).toBe(true)
      expect(yield* lonely.throttle("otto")).toEqual(Option.none())
      expect(Date.now() - started).toBeLessThan(5000)
    })
  )
})

describe("start-up", () => {
  it("serve with SESSION_STORE=redis and no code key exits 1, saying what to set", async () => {
    const result = await runCli(["serve"], {
      SESSION_STORE: "redis",
      REDIS_URL: redis.url(4),
      ASSISTANT_API_PORT: String(await freePort()),
      AGENT_TRACE_JSONL_PATH: "/tmp/sa-change-guard-test/traces.jsonl",
      GUARDRAIL_AUDIT_PATH: "/tmp/sa-change-guard-test/guardrails.jsonl",
      LOG_LEVEL: "none"
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      "security-agent: SESSION_STORE=redis needs ASSISTANT_CODE_KEY or ASSISTANT_CODE_KEY_FILE"
    )
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})

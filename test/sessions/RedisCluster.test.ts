// SESSION_STORE=redis against a three-node Redis Cluster started here from Debian's
// redis-server (REDIS_URL=redis+cluster://…): the session store contract as two replicas, the
// change history, and the wrong-code counter. Every script declares its keys, and the keys one
// script touches share a hash slot, or the cluster would answer CROSSSLOT.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigError, Context, Effect, Layer, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { makeRedisCodeFailureCounter } from "../../src/agent/CodeFailureCounter.js"
import { AppConfig, describeConfigError } from "../../src/config/AppConfig.js"
import { makeRedisChangeHistory } from "../../src/sessions/ChangeHistory.js"
import { parseRedisUrl } from "../../src/sessions/RedisConnection.js"
import { lockKey, RedisSessionStore, sessionKey } from "../../src/sessions/RedisSessionStore.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"
import { sessionStoreContract, turn } from "../support/sessionStoreContract.js"
import { changeHistoryContract, revert } from "./changeHistoryContract.js"
import { type RedisCluster, startRedisCluster } from "./redisCluster.js"

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 60_000)
afterAll(async () => {
  await cluster?.dispose()
})

const replica = (env: Readonly<Record<string, string>> = {}) =>
  Layer.build(
    RedisSessionStore.layer.pipe(
      Layer.provide(AppConfig.layerWith({ SESSION_STORE: "redis", REDIS_URL: cluster.url, ...env }))
    )
  ).pipe(Effect.map(Context.get(SessionStore)))

sessionStoreContract("RedisSessionStore on a Redis Cluster: the SessionStore contract (two replicas)", (env) =>
  Effect.zipRight(
    Effect.promise(() => cluster.flush()),
    Effect.all([replica(env), replica(env)])
  )
)

changeHistoryContract("ChangeHistory on a Redis Cluster (two replicas)", () =>
  Effect.zipRight(
    Effect.promise(() => cluster.flush()),
    Effect.all([
      makeRedisChangeHistory(Option.some(Redacted.make(cluster.url))),
      makeRedisChangeHistory(Option.some(Redacted.make(cluster.url)))
    ])
  )
)

describe("Redis Cluster", () => {
  it.scopedLive("puts a session's lock in its session's slot", () =>
    Effect.gen(function* () {
      const node = new Redis({ host: "127.0.0.1", port: cluster.ports[0]! })
      yield* Effect.addFinalizer(() => Effect.sync(() => node.disconnect()))
      const slotOf = (key: string) => Effect.promise(() => node.call("CLUSTER", "KEYSLOT", key))
      for (const id of ["s-1", "another:one", "x".repeat(128)]) {
        expect(yield* slotOf(lockKey(id))).toBe(yield* slotOf(sessionKey(id)))
      }
    })
  )

  it.scopedLive("spreads sessions over the nodes, and a turn's lock never leaks", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => cluster.flush())
      const store = yield* replica()
      for (let i = 0; i < 30; i++) yield* turn(store, `spread-${i}`)
      const nodes = cluster.ports.map((port) => new Redis({ host: "127.0.0.1", port }))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const n of nodes) n.disconnect()
        })
      )
      const perNode = yield* Effect.promise(() => Promise.all(nodes.map((n) => n.dbsize())))
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
      const locks = yield* Effect.promise(() => Promise.all(nodes.map((n) => n.keys("{sa:session:*}:lock"))))
      expect(locks.flat()).toEqual([])
    })
  )

  it.scopedLive("counts wrong codes and keeps the scheduled reverts across the cluster", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => cluster.flush())
      const counter = yield* makeRedisCodeFailureCounter(Option.some(Redacted.make(cluster.url)), 60_000)
      yield* counter.increment("olga")
      expect((yield* counter.increment("olga")).failures).toBe(2)
      expect((yield* counter.current("ivan")).failures).toBe(0)
      const history = yield* makeRedisChangeHistory(Option.some(Redacted.make(cluster.url)))
      yield* history.scheduleRevert(revert("c-1", 10))
      const claimed = yield* history.claimDueRevert(10)
      expect(Option.isSome(claimed)).toBe(true)
    })
  )

  it("reads redis+cluster:// URLs, and refuses malformed ones naming REDIS_URL", () => {
    const parse = (url: string) => Effect.runSync(Effect.either(parseRedisUrl(Option.some(Redacted.make(url)))))
    expect(parse("redis+cluster://user:p%40ss@10.0.0.1:7000,redis-1.example:7001")).toMatchObject({
      right: {
        kind: "cluster",
        nodes: [
          { host: "10.0.0.1", port: 7000 },
          { host: "redis-1.example", port: 7001 }
        ],
        username: "user",
        password: "p@ss",
        tls: false
      }
    })
    expect(parse("rediss+cluster://:secret@[::1]:7000")).toMatchObject({
      right: { nodes: [{ host: "::1", port: 7000 }], password: "secret", tls: true }
    })
    for (const bad of [
      "redis+cluster://",
      "redis+cluster://host",
      "redis+cluster://host:0",
      "redis+cluster://host:99999",
      "redis+cluster://a:1,,b:2",
      "redis+cluster://a:1/0",
      `redis+cluster://${"a:1,".repeat(100)}a:1`,
      "redis+cluster://a:1 b:2",
      "http://a:1"
    ]) {
      const result = parse(bad)
      expect(result._tag, bad).toBe("Left")
      if (result._tag === "Left") {
        expect(ConfigError.isConfigError(result.left)).toBe(true)
        expect(describeConfigError(result.left)).toMatch(/REDIS_URL.*redis\+cluster:\/\//)
      }
    }
  })
})

describe("Redis Cluster unreachable", () => {
  it.live(
    "SESSION_STORE=redis with a cluster URL starts while nothing answers, and reports the store unavailable",
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        const store = yield* Layer.build(
          RedisSessionStore.layer.pipe(
            Layer.provide(
              AppConfig.layerWith({
                SESSION_STORE: "redis",
                REDIS_URL: "redis+cluster://:s3cret@127.0.0.1:1,127.0.0.1:2"
              })
            )
          )
        ).pipe(Effect.map(Context.get(SessionStore)))
        const error = yield* Effect.flip(store.ping)
        expect(Date.now() - started).toBeLessThan(6000)
        expect(error._tag).toBe("SessionStoreUnavailable")
        expect(error.message).toContain("127.0.0.1:1")
        expect(error.message).not.toContain("s3cret")
      }).pipe(Effect.scoped)
  )
})

// The in-process session store: the SessionStore contract (test/support/sessionStoreContract.ts)
// with both handles on the one store, and what only this store does: its background pruner.
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, TestClock } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { MemorySessionStore, pruneInterval } from "../../src/sessions/MemorySessionStore.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"
import { sessionStoreContract, turn } from "../support/sessionStoreContract.js"

const memoryStore = (env: Readonly<Record<string, string>> = {}) =>
  MemorySessionStore.layer.pipe(Layer.provide(AppConfig.layerWith(env)))

sessionStoreContract("MemorySessionStore: the SessionStore contract", (env) =>
  Effect.map(Layer.build(memoryStore(env)), (context) => {
    const store = Context.get(context, SessionStore)
    return [store, store] as const
  })
)

describe("MemorySessionStore", () => {
  it.effect("prunes expired sessions in the background, without anyone reading them", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      yield* turn(store, "a")
      yield* turn(store, "b")
      yield* TestClock.adjust("2 seconds")
      yield* turn(store, "c")
      expect(yield* store.size).toBe(3)
      yield* TestClock.adjust("8 seconds") // t=10 s: a and b expired, c has 2 s left
      expect(yield* store.size).toBe(1)
      yield* TestClock.adjust("5 seconds")
      expect(yield* store.size).toBe(0)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_SESSION_TTL_SECONDS: "10" })))
  )

  it("prunes every min(60 s, ttl / 2)", () => {
    expect(Duration.toMillis(pruneInterval(3600))).toBe(60_000)
    expect(Duration.toMillis(pruneInterval(10))).toBe(5_000)
  })
})

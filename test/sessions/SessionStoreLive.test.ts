import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { AppConfig, describeConfigError } from "../../src/config/AppConfig.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"
import { SessionStoreLive } from "../../src/sessions/SessionStoreLive.js"
import { freePort } from "../support/processes.js"

const live = (env: Record<string, string>) => SessionStoreLive.pipe(Layer.provide(AppConfig.layerWith(env)))

describe("SessionStoreLive", () => {
  it.live("is the in-memory store by default", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      yield* store.ping
      yield* store.withSession("m", (s) => Effect.succeed([undefined, { ...s, turnCount: 1 }] as const))
      expect((yield* store.get("m"))?.turnCount).toBe(1)
    }).pipe(Effect.provide(live({})))
  )

  it.live("SESSION_STORE=redis without REDIS_URL is a configuration error naming REDIS_URL", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(live({ SESSION_STORE: "redis" })).pipe(Effect.scoped))
      expect(describeConfigError(error)).toContain("REDIS_URL")
      const malformed = yield* Effect.flip(
        Layer.build(live({ SESSION_STORE: "redis", REDIS_URL: "localhost:6379" })).pipe(Effect.scoped)
      )
      expect(describeConfigError(malformed)).toMatch(/REDIS_URL.*redis:\/\//)
    })
  )

  it.live("SESSION_STORE=redis starts even when nothing answers, and reports the store unavailable", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const started = Date.now()
      const store = yield* Layer.build(
        live({ SESSION_STORE: "redis", REDIS_URL: `redis://user:s3cret@127.0.0.1:${port}/0` })
      ).pipe(Effect.map(Context.get(SessionStore)))
      const error = yield* Effect.flip(store.ping)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(error._tag).toBe("SessionStoreUnavailable")
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.message).not.toContain("s3cret")
    }).pipe(Effect.scoped)
  )
})

import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { baseUrl, testServer } from "../support/app.js"

describe("graceful shutdown", () => {
  it.live("a turn in flight when the server shuts down still gets its answer; new connections are refused", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(testServer(), scope)
      const url = yield* Effect.provide(baseUrl, context)
      const simulator = yield* Effect.provide(SafeLineSimulator, context)
      yield* simulator.setDelay(600)
      const inFlight = fetch(`${url}/v1/chat`, {
        method: "POST",
        body: JSON.stringify({ message: "what is my traffic?" })
      })
      yield* Effect.sleep("150 millis")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.sleep("50 millis")
      const refused = yield* Effect.promise(() =>
        fetch(`${url}/healthz`).then(
          () => false,
          () => true
        )
      )
      expect(refused).toBe(true)
      const response = yield* Effect.promise(() => inFlight)
      expect(response.status).toBe(200)
      expect(((yield* Effect.promise(() => response.json())) as any).reply).toMatch(/Current traffic/)
      yield* closing.await
    })
  )
})

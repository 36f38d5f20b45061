// Which SafeLine the app picks from config: the embedded simulator when SAFELINE_URL is unset, the
// configured URL otherwise, and config errors that name the variable.
import { describe, expect, it } from "@effect/vitest"
import { ConfigError, Effect, Exit, Layer } from "effect"
import { SafeLineClientLive } from "../../src/app/SafeLineLive.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineTools } from "../../src/tools/SafeLineTools.js"
import { startSimulator, TEST_TOKEN } from "../safeline/SafeLineFixture.js"
import { testConfig, testObservability } from "../support/layers.js"

describe("SafeLine live layers", () => {
  it.scopedLive("embed a simulator when SAFELINE_URL is unset", () =>
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      expect(yield* tools.ping).toEqual({ version: "9.3.0-simulator", simulated: true })
      expect((yield* tools.getAttackEvents("log_analyst")).total).toBeGreaterThan(0)
    }).pipe(
      Effect.provide(
        SafeLineTools.layer.pipe(Layer.provide(SafeLineClientLive), Layer.provideMerge(testObservability()))
      )
    )
  )

  it.scopedLive("talk to SAFELINE_URL with SAFELINE_API_TOKEN", () =>
    Effect.gen(function* () {
      const simulator = yield* startSimulator()
      const client = yield* Effect.provide(
        SafeLineClient,
        SafeLineClientLive.pipe(
          Layer.provide(
            testConfig({ SAFELINE_URL: `${simulator.url}/`, SAFELINE_API_TOKEN: TEST_TOKEN, SAFELINE_RETRIES: "0" })
          )
        )
      )
      expect(client.baseUrl).toBe(simulator.url)
      yield* client.system
      expect(yield* simulator.requestCount("GET", "/api/open/system")).toBe(1)
    })
  )

  it.scopedLive("refuse a URL without a token, and an unreadable CA bundle, naming the variable", () =>
    Effect.gen(function* () {
      const build = (env: Record<string, string>) =>
        Effect.exit(Layer.build(SafeLineClientLive.pipe(Layer.provide(testConfig(env)))))
      const noToken = yield* build({ SAFELINE_URL: "https://waf.example:9443" })
      expect(Exit.isFailure(noToken) && String(noToken.cause)).toContain("SAFELINE_API_TOKEN")
      const noCa = yield* build({
        SAFELINE_URL: "https://waf.example:9443",
        SAFELINE_API_TOKEN: "t",
        SAFELINE_CA_BUNDLE: "/nonexistent/ca.pem"
      })
      expect(Exit.isFailure(noCa) && String(noCa.cause)).toContain("SAFELINE_CA_BUNDLE")
      expect(Exit.isFailure(noCa) && noCa.cause._tag === "Fail" && ConfigError.isConfigError(noCa.cause.error)).toBe(
        true
      )
    })
  )
})

// The data-source line and name: the simulator whenever SAFELINE_URL is unset or SafeLine says it
// is one (its version), a non-production SafeLine when SAFELINE_ENVIRONMENT says so, else nothing.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { currentDataSource, withDataSourceLine } from "../../src/agent/DataSource.js"
import { SafeLineTools, type SafeLineToolsService } from "../../src/tools/SafeLineTools.js"
import { testConfig } from "../support/layers.js"

/** Only the origin matters here: SafeLine answering as a simulator, a real one, or not yet. */
const toolsAnswering = (origin: "simulator" | "safeline" | "unknown") =>
  Layer.succeed(SafeLineTools, { dataOrigin: Effect.succeed(origin) } as unknown as SafeLineToolsService)

const REAL = { SAFELINE_URL: "https://waf.internal:9443", SAFELINE_API_TOKEN: "t" }

describe("data source", () => {
  it.effect("the embedded simulator (no SAFELINE_URL) is named even before it answers", () =>
    Effect.gen(function* () {
      expect((yield* currentDataSource).name).toBe("simulator")
      expect(yield* withDataSourceLine("28 attacking IPs")).toMatch(
        /^28 attacking IPs\n\nData source: the SafeLine simulator/
      )
    }).pipe(Effect.provide(Layer.merge(testConfig(), toolsAnswering("unknown"))))
  )

  it.effect("a simulator behind SAFELINE_URL is recognised by its version", () =>
    Effect.gen(function* () {
      expect((yield* currentDataSource).name).toBe("simulator")
    }).pipe(Effect.provide(Layer.merge(testConfig(REAL), toolsAnswering("simulator"))))
  )

  it.effect("a SafeLine flagged non-production by SAFELINE_ENVIRONMENT says so in one line", () =>
    Effect.gen(function* () {
      expect((yield* currentDataSource).name).toBe("safeline_non_production")
      expect(yield* withDataSourceLine("x")).toBe("x\n\nData source: SafeLine staging (not production).")
    }).pipe(
      Effect.provide(Layer.merge(testConfig({ ...REAL, SAFELINE_ENVIRONMENT: "staging" }), toolsAnswering("safeline")))
    )
  )

  it.effect("production SafeLine adds no line", () =>
    Effect.gen(function* () {
      expect((yield* currentDataSource).name).toBe("safeline")
      expect(yield* withDataSourceLine("x")).toBe("x")
    }).pipe(Effect.provide(Layer.merge(testConfig(REAL), toolsAnswering("safeline"))))
  )
})

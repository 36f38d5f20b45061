// A simulator and a client pointed at it, for the SafeLine tests: frozen clock by default so
// traffic only changes when a test ticks it.
import { Effect } from "effect"
import { SafeLineClient, type SafeLineConnection } from "../../src/safeline/SafeLineClient.js"
import { makeSimulator, type SimulatorOptions } from "../../src/simulator/Simulator.js"

export const TEST_TOKEN = "test-token-0123456789"

/** A simulator with 30 minutes of history and a clock frozen at start (unless `clock` is given). */
export const startSimulator = (options: Partial<SimulatorOptions> = {}) => {
  const frozen = Date.now()
  return makeSimulator({ token: TEST_TOKEN, seed: 42, historyMinutes: 30, clock: () => frozen, ...options })
}

export const fastConnection = (url: string, overrides: Partial<SafeLineConnection> = {}): SafeLineConnection => ({
  baseUrl: url,
  token: TEST_TOKEN,
  timeoutSeconds: 2,
  retries: 2,
  retryBaseMillis: 5,
  ...overrides
})

/** A running simulator and a client for it (both closed with the test's scope). */
export const simulatorAndClient = (
  options: Partial<SimulatorOptions> = {},
  connection: Partial<SafeLineConnection> = {}
) =>
  Effect.gen(function* () {
    const simulator = yield* startSimulator(options)
    const client = yield* SafeLineClient.make(fastConnection(simulator.url, connection))
    return { simulator, client }
  })

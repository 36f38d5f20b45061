// Which SafeLine the app talks to: SAFELINE_URL with its token and TLS settings, or, when the URL
// is unset, an embedded simulator on a random 127.0.0.1 port (logged as a stand-in); or a
// simulator the caller gives (tests). The choice lives here, above both the client and the simulator.
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { ConfigError, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { SafeLineClient, type SafeLineConnection } from "../safeline/SafeLineClient.js"
import {
  makeSimulator,
  readyLine,
  SafeLineSimulator,
  type Simulator,
  type SimulatorStartError
} from "../simulator/Simulator.js"

/** The seed of the embedded simulator: the same demo traffic on every start. */
const EMBEDDED_SEED = 1

const readCaBundle = (path: string) =>
  Effect.try({
    try: () => readFileSync(path),
    catch: (error) =>
      ConfigError.InvalidData(
        ["SAFELINE_CA_BUNDLE"],
        `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): point it at a PEM file`
      )
  })

/** A client for a simulator, with the configured timeout and retries. */
const simulatorClient = (simulator: Simulator, common: Pick<SafeLineConnection, "timeoutSeconds" | "retries">) =>
  SafeLineClient.make({ ...common, baseUrl: simulator.url, token: simulator.token })

/** The client for SAFELINE_URL, or for an embedded simulator when it is unset. */
export const SafeLineClientLive: Layer.Layer<SafeLineClient, ConfigError.ConfigError | SimulatorStartError, AppConfig> =
  Layer.scoped(
    SafeLineClient,
    Effect.gen(function* () {
      const { safeline } = yield* AppConfig
      const common = { timeoutSeconds: safeline.timeoutSeconds, retries: safeline.retries }
      if (Option.isNone(safeline.url)) {
        const simulator = yield* makeSimulator({
          port: 0,
          token: randomBytes(16).toString("hex"),
          seed: EMBEDDED_SEED
        })
        yield* Effect.logWarning(
          `SAFELINE_URL is unset: using the embedded ${readyLine(simulator.url)}. Set SAFELINE_URL and SAFELINE_API_TOKEN to operate a real SafeLine.`
        )
        return yield* simulatorClient(simulator, common)
      }
      const token = yield* Option.match(safeline.apiToken, {
        onNone: () =>
          Effect.fail(
            ConfigError.MissingData(
              ["SAFELINE_API_TOKEN"],
              "SAFELINE_API_TOKEN is required when SAFELINE_URL is set (create an API token in the SafeLine console)"
            )
          ),
        onSome: Effect.succeed
      })
      const ca = Option.isSome(safeline.caBundle) ? yield* readCaBundle(safeline.caBundle.value) : undefined
      const connection: SafeLineConnection = {
        ...common,
        baseUrl: safeline.url.value,
        token,
        verifyTls: safeline.verifyTls,
        ca
      }
      return yield* SafeLineClient.make(connection)
    })
  )

/** A client for the given simulator, which comes out of the layer too so that tests can drive it. */
export const SafeLineClientOf = <E>(
  simulator: Layer.Layer<SafeLineSimulator, E>
): Layer.Layer<SafeLineClient | SafeLineSimulator, E, AppConfig> =>
  Layer.scoped(
    SafeLineClient,
    Effect.gen(function* () {
      const { safeline } = yield* AppConfig
      return yield* simulatorClient(yield* SafeLineSimulator, {
        timeoutSeconds: safeline.timeoutSeconds,
        retries: safeline.retries
      })
    })
  ).pipe(Layer.provideMerge(simulator))

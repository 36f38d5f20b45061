// The whole agent for tests: real graph, offline reasoner, real SafeLine client against an
// in-process simulator on 127.0.0.1, in-memory sessions, trace sink and audit log, composed by
// the app's own recipe.
import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { appLayer } from "../../src/app/AppLayer.js"
import { MemorySinks } from "../../src/app/ObservabilityLayer.js"
import { SafeLineClientOf } from "../../src/app/SafeLineLive.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import type { Telemetry } from "../../src/observability/Telemetry.js"
import { makeOfflineReasoner, OfflineReasonerLive } from "../../src/reasoning/OfflineReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { loadRoutingExamples } from "../../src/reasoning/RouteClassifier.js"
import { MemorySessionStore } from "../../src/sessions/MemorySessionStore.js"
import { SessionStoreLive } from "../../src/sessions/SessionStoreLive.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { testConfig } from "./layers.js"

export const SIMULATOR_TOKEN = "test-token"

export interface TestAppOptions {
  /** A frozen simulator clock: traffic then changes only with `simulator.tick`. */
  readonly frozenClock?: boolean
  /** `redis`: sessions in the Redis of SESSION_STORE / REDIS_URL in `env`, as in production. */
  readonly sessionStore?: "memory" | "redis"
  /** Replaces the offline reasoner (a scripted one, say). */
  readonly reasoner?: Layer.Layer<Reasoner, never, Telemetry>
}

/** The offline reasoner with its routing answers scripted, one per turn (the last one repeats). */
export const scriptedRoutes = (...routes: ReadonlyArray<string>): Layer.Layer<Reasoner> => {
  let next = 0
  return Layer.succeed(Reasoner, {
    ...makeOfflineReasoner(loadRoutingExamples()),
    proposeRoute: () => Effect.sync(() => routes[Math.min(next++, routes.length - 1)]!)
  })
}

/**
 * The app's one recipe (src/app/AppLayer.ts) with the test choices: the given settings over
 * `testEnv`, a simulator of its own (SafeLineSimulator), the offline reasoner unless another is
 * given, memory sessions unless `redis`, and memory sinks.
 */
export const testApp = (env: Readonly<Record<string, string>> = {}, options: TestAppOptions = {}) => {
  const start = Date.now()
  const simulator = SafeLineSimulator.layer({
    token: SIMULATOR_TOKEN,
    seed: 7,
    historyMinutes: 30,
    ...(options.frozenClock === true ? { clock: () => start } : {})
  })
  return appLayer({
    config: testConfig({ SAFELINE_TIMEOUT: "5", SAFELINE_RETRIES: "1", ...env }),
    safeline: SafeLineClientOf(simulator),
    reasoner: options.reasoner ?? OfflineReasonerLive,
    sessions: options.sessionStore === "redis" ? SessionStoreLive : MemorySessionStore.layer,
    sinks: MemorySinks
  })
}

/** The HTTP API of `testApp` on a random 127.0.0.1 port; `baseUrl` reaches it. */
export const testServer = (env: Readonly<Record<string, string>> = {}, options: TestAppOptions = {}) =>
  HttpAppLive.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
    Layer.provideMerge(testApp(env, options))
  )

export const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

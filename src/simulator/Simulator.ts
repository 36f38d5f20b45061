// A SafeLine stand-in (not a real WAF) on 127.0.0.1: the management API contract over plain HTTP
// (or TLS when given a key pair), embeddable as a scoped Effect for `serve` and for tests.
import { createServer as createHttpServer, type Server } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { Context, Data, Effect, Layer, type Scope } from "effect"
import { SIMULATOR_VERSION_SUFFIX } from "../safeline/SafeLineApi.js"
import { type FailureMode, makeRequestHandler, type SimulatorControls } from "./SimulatorHttp.js"
import { type SimIpGroup, type SimPolicy, SimulatorState } from "./SimulatorState.js"
import { SLICE_MS } from "./TrafficGenerator.js"
import { ATTACKERS } from "./TrafficProfile.js"

export type { FailureMode } from "./SimulatorHttp.js"

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number | undefined
  readonly token: string
  /** Same seed, same traffic (default 1). */
  readonly seed?: number | undefined
  readonly host?: string | undefined
  /** The simulator's clock (default `Date.now`); freeze it to make traffic depend on `tick` only. */
  readonly clock?: (() => number) | undefined
  /** Minutes of traffic generated at start, so a fresh simulator has events to show (default 30). */
  readonly historyMinutes?: number | undefined
  /** Serve HTTPS with this key pair instead of plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer } | undefined
}

export interface SimulatorSnapshot {
  readonly modes: Readonly<Record<string, string>>
  readonly ipGroups: ReadonlyArray<SimIpGroup>
  readonly policies: ReadonlyArray<SimPolicy>
  readonly eventCount: number
  readonly recordCount: number
  /** The id of the newest detection record (0 when none): records after a change have larger ids. */
  readonly lastRecordId: number
}

export interface Simulator {
  readonly url: string
  readonly token: string
  readonly setDelay: (ms: number) => Effect.Effect<void>
  readonly setFailure: (mode: FailureMode) => Effect.Effect<void>
  /** Generates `slices` 5-second slices of traffic at once, with the current protection state. */
  readonly tick: (slices?: number) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<SimulatorSnapshot>
  /** How many requests reached `method path` (health checks and rejected ones included). */
  readonly requestCount: (method: string, path: string) => Effect.Effect<number>
  /** The IPs the traffic generator attacks from. */
  readonly attackerIps: ReadonlyArray<string>
}

export class SimulatorStartError extends Data.TaggedError("SimulatorStartError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export const SIMULATOR_VERSION = `9.3.0${SIMULATOR_VERSION_SUFFIX}`

/** The line the CLI prints once the simulator listens. */
export const readyLine = (url: string) => `SafeLine simulator (stand-in, not a real WAF) listening on ${url}`

const listen = (server: Server, port: number, host: string) =>
  Effect.async<AddressInfo, SimulatorStartError>((resume) => {
    const onError = (error: Error) =>
      resume(
        Effect.fail(
          new SimulatorStartError({
            message: `The SafeLine simulator cannot listen on ${host}:${port} (${(error as NodeJS.ErrnoException).code ?? error.message}): choose another --port.`,
            cause: error
          })
        )
      )
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      resume(Effect.succeed(server.address() as AddressInfo))
    })
  })

const close = (server: Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

export const makeSimulator = (options: SimulatorOptions): Effect.Effect<Simulator, SimulatorStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const now = options.clock ?? Date.now
    const seed = options.seed ?? 1
    const host = options.host ?? "127.0.0.1"
    const historySlices = Math.round(((options.historyMinutes ?? 30) * 60_000) / SLICE_MS)
    const state = new SimulatorState(seed, now(), historySlices)
    const controls: SimulatorControls = { delayMs: 0, failure: "none", requests: [] }
    const handler = makeRequestHandler({
      state,
      token: options.token,
      now,
      controls,
      version: SIMULATOR_VERSION,
      machineId: `simulator-${seed.toString(16).padStart(8, "0")}`
    })
    const onRequest = (req: Parameters<typeof handler>[0], res: Parameters<typeof handler>[1]) => {
      void handler(req, res)
    }
    const server: Server =
      options.tls === undefined
        ? createHttpServer(onRequest)
        : (createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) as unknown as Server)
    const address = yield* Effect.acquireRelease(listen(server, options.port ?? 0, host), () => close(server))
    const printableHost = host.includes(":") ? `[${host}]` : host
    return {
      url: `${options.tls === undefined ? "http" : "https"}://${printableHost}:${address.port}`,
      token: options.token,
      setDelay: (ms) =>
        Effect.sync(() => {
          controls.delayMs = ms
        }),
      setFailure: (mode) =>
        Effect.sync(() => {
          controls.failure = mode
        }),
      tick: (slices = 1) => Effect.sync(() => state.tick(slices, now())),
      snapshot: Effect.sync(() => {
        state.advance(now())
        return {
          modes: { ...state.modes },
          ipGroups: state.ipGroups.map((g) => ({ ...g, ips: [...g.ips] })),
          policies: state.policies.map((p) => ({ ...p })),
          eventCount: state.events.length,
          recordCount: state.records.length,
          lastRecordId: state.records.at(-1)?.id ?? 0
        }
      }),
      requestCount: (method, path) =>
        Effect.sync(() => controls.requests.filter((r) => r.method === method && r.path === path).length),
      attackerIps: ATTACKERS.map((a) => a.ip)
    } satisfies Simulator
  })

/** The simulator as a service, for tests that share one across a file. */
export class SafeLineSimulator extends Context.Tag("security-agent/SafeLineSimulator")<SafeLineSimulator, Simulator>() {
  static readonly layer = (options: SimulatorOptions): Layer.Layer<SafeLineSimulator, SimulatorStartError> =>
    Layer.scoped(SafeLineSimulator, makeSimulator(options))
}

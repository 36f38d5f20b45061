// The service as production composes it (src/app/AppLayer.ts AppLive: JSONL trace sink and audit log,
// live session store, reasoner and OTLP chosen by config) behind the real HTTP app on a random
// 127.0.0.1 port, with its settings from a map instead of the environment. Fault tests point it
// at simulators, LLM stand-ins and Redis servers they control.
import { mkdtempSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { AppLive } from "../../src/app/AppLayer.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import { makeSimulator, type Simulator } from "../../src/simulator/Simulator.js"
import { baseUrl } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { uniqueNamespace } from "../support/layers.js"

export interface LiveService {
  readonly url: string
  readonly namespace: string
  readonly tracePath: string
  readonly auditPath: string
  /** The WAF change records (written and fsynced before each change). */
  readonly changesPath: string
  /** POST /v1/chat with a JSON body. */
  readonly chat: (message: string, sessionId?: string) => Promise<ChatResponse>
  readonly get: (path: string) => Promise<{ status: number; body: any; text: string }>
  readonly metrics: () => Promise<string>
  /** One sample of /metrics; `name` without the namespace prefix unless `raw`. */
  readonly sample: (name: string, labels?: Record<string, string>, raw?: boolean) => Promise<number | undefined>
  /** Stops the server and flushes the trace sink, audit log and OTLP exporter. */
  readonly close: () => Promise<void>
}

export interface ChatResponse {
  readonly status: number
  readonly body: any
  readonly ms: number
}

export const scratchDir = (prefix = "reliability-") => mkdtempSync(join(tmpdir(), prefix))

/** Starts the live service; trace and audit files go to a scratch directory unless `env` says otherwise. */
export const startService = async (env: Record<string, string> = {}): Promise<LiveService> => {
  const dir = scratchDir()
  const namespace = uniqueNamespace("rel")
  const settings: Record<string, string> = {
    AGENT_METRICS_NAMESPACE: namespace,
    AGENT_TRACE_JSONL_PATH: join(dir, "traces.jsonl"),
    GUARDRAIL_AUDIT_PATH: join(dir, "guardrails.jsonl"),
    GUARDRAIL_AUDIT_CHANGES_PATH: join(dir, "waf-changes.jsonl"),
    LOG_LEVEL: "none",
    ...env
  }
  const layer = HttpAppLive.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
    Layer.provideMerge(AppLive),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings)))))
  )
  const runtime = ManagedRuntime.make(layer)
  const url = await runtime.runPromise(baseUrl)
  const metrics = () => fetch(`${url}/metrics`).then((r) => r.text())
  let closed = false
  return {
    url,
    namespace,
    tracePath: settings.AGENT_TRACE_JSONL_PATH!,
    auditPath: settings.GUARDRAIL_AUDIT_PATH!,
    changesPath: settings.GUARDRAIL_AUDIT_CHANGES_PATH!,
    chat: async (message, sessionId) => {
      const started = performance.now()
      const response = await fetch(`${url}/v1/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(sessionId === undefined ? { message } : { message, session_id: sessionId })
      })
      const body = await response.json()
      return { status: response.status, body, ms: performance.now() - started }
    },
    get: async (path) => {
      const response = await fetch(`${url}${path}`)
      const text = await response.text()
      let body: any
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return { status: response.status, body, text }
    },
    metrics,
    sample: async (name, labels = {}, raw = false) =>
      sampleValue(await metrics(), raw ? name : `${namespace}_${name}`, labels),
    close: async () => {
      if (closed) return
      closed = true
      await runtime.dispose()
    }
  }
}

/** A SafeLine simulator of its own (not the embedded one), so a test can slow it down or break it. */
export const startSimulator = async (): Promise<{ simulator: Simulator; close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const simulator = await Effect.runPromise(
    makeSimulator({ token: "reliability-token", seed: 11, historyMinutes: 30 }).pipe(
      Effect.provideService(Scope.Scope, scope)
    )
  )
  return { simulator, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** The settings that point the service at a simulator started by `startSimulator`. */
export const simulatorEnv = (simulator: Simulator): Record<string, string> => ({
  SAFELINE_URL: simulator.url,
  SAFELINE_API_TOKEN: simulator.token
})

export const run = <A>(effect: Effect.Effect<A>): Promise<A> => Effect.runPromise(effect)

/**
 * For one test file: a simulator of its own, started before the tests, and `start` for services
 * pointed at it; all of them are closed after the file's tests.
 */
export const simulatorWithServices = () => {
  let simulator: Simulator | undefined
  let stopSimulator: (() => Promise<void>) | undefined
  const services: Array<LiveService> = []
  beforeAll(async () => {
    ;({ simulator, close: stopSimulator } = await startSimulator())
  })
  afterAll(async () => {
    for (const service of services) await service.close()
    await stopSimulator?.()
  })
  return {
    simulator: (): Simulator => simulator!,
    start: async (env: Record<string, string> = {}) => {
      const service = await startService({ ...simulatorEnv(simulator!), ...env })
      services.push(service)
      return service
    }
  }
}

/** Waits, if needed, until a one-minute window (the rate limit's) has at least 10 s left. */
export const wellInsideAMinute = async () => {
  const intoMinute = Date.now() % 60_000
  if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinute))
}

import { request as httpRequest } from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { announceExposure, checkBinding, isLoopback } from "../../src/http/Auth.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { makeOfflineReasoner } from "../../src/reasoning/OfflineReasoner.js"
import { Reasoner } from "../../src/reasoning/Reasoner.js"
import { loadRoutingExamples } from "../../src/reasoning/RouteClassifier.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { baseUrl, testServer } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat`, { method: "POST", body, headers })
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: (await response.json()) as Record<string, any>
    }
  })

/** A chunked request (no Content-Length) of `size` bytes, sent in 16 KiB pieces. */
const postChunked = (url: string, size: number) =>
  Effect.async<{ status: number; body: string }>((resume) => {
    const target = new URL(`${url}/v1/chat`)
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST" },
      (res) => {
        let body = ""
        res.on("data", (c) => (body += c))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      }
    )
    req.on("error", (error) => resume(Effect.succeed({ status: -1, body: String(error) })))
    const piece = "x".repeat(16 * 1024)
    for (let sent = 0; sent < size; sent += piece.length) req.write(piece)
    req.end()
  })

const NEW_TOKEN = "new-token-0123456789abcdef0123456789"
const OLD_TOKEN = "old-token-0123456789abcdef0123456789"

const metricsText = (url: string) => Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))

describe("POST /v1/chat", () => {
  it.live("answers a JSON body sent as form-urlencoded (curl -d) with the contract's fields", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const first = yield* post(url, JSON.stringify({ message: "what is my traffic?" }), {
        "content-type": "application/x-www-form-urlencoded"
      })
      expect(first.status).toBe(200)
      expect(Object.keys(first.body).sort()).toEqual([
        "data_source",
        "reply",
        "route",
        "session_id",
        "sources",
        "trace_id",
        "turn_id"
      ])
      expect(first.body.data_source).toBe("simulator")
      expect(first.body.turn_id).toBe("1")
      expect(first.body.route).toBe("monitor")
      expect(first.body.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(first.body.sources).toEqual([])
      const second = yield* post(
        url,
        JSON.stringify({ message: "show me recent attacks", session_id: first.body.session_id })
      )
      expect(second.body.turn_id).toBe("2")
      expect(second.body.trace_id).not.toBe(first.body.trace_id)
      const fresh = yield* post(url, JSON.stringify({ message: "hi", session_id: "brand-new.session:1" }))
      expect(fresh.body).toMatchObject({ session_id: "brand-new.session:1", turn_id: "1", route: "direct" })

      const trace = yield* Effect.promise(() =>
        fetch(`${url}/v1/sessions/${first.body.session_id}/turns/1/trace`).then((r) => r.json() as Promise<any>)
      )
      expect(trace.events.map((e: any) => e.event)).toContain("route.selected")
      expect(new Set(trace.events.map((e: any) => e.trace_id))).toEqual(new Set([first.body.trace_id]))
      const missing = yield* Effect.promise(() => fetch(`${url}/v1/sessions/nobody/turns/9/trace`))
      expect(missing.status).toBe(404)

      const text = yield* metricsText(url)
      const ns = text.match(/^(\w+)_chat_requests_total /m)![1]!
      expect(sampleValue(text, `${ns}_chat_requests_total`)).toBe(3)
      expect(sampleValue(text, `${ns}_chat_latency_seconds_count`)).toBe(3)
      expect(sampleValue(text, `${ns}_agent_route_total`, { selected_agent: "monitor" })).toBe(1)
      expect(sampleValue(text, `${ns}_agent_turn_latency_seconds_count`)).toBe(3)
    }).pipe(Effect.provide(testServer()))
  )

  it.live("rejects bad input with 400/413 and a JSON {error, detail}, counted by reason", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const cases: Array<[string, number, string]> = [
        ["{not json", 400, "invalid_json"],
        ["[1,2]", 400, "invalid_body"],
        ['{"message": 42}', 400, "invalid_body"],
        ['{"message": ""}', 400, "invalid_body"],
        ['{"message": "hi", "session_id": "bad id!"}', 400, "invalid_session_id"],
        ['{"message": "hi", "session_id": 7}', 400, "invalid_session_id"],
        [JSON.stringify({ message: "x".repeat(101) }), 400, "message_too_long"],
        [JSON.stringify({ message: "x".repeat(5000) }), 413, "body_too_large"]
      ]
      for (const [body, status, error] of cases) {
        const response = yield* post(url, body, { "content-type": "application/json" })
        expect(response.status, body.slice(0, 40)).toBe(status)
        expect(response.body.error, body.slice(0, 40)).toBe(error)
        expect(typeof response.body.detail).toBe("string")
        expect(response.body.turn_id).toBeUndefined()
      }
      const chunked = yield* postChunked(url, 200 * 1024)
      expect(chunked.status).toBe(413)
      expect(JSON.parse(chunked.body).error).toBe("body_too_large")
      const text = yield* metricsText(url)
      const ns = text.match(/^(\w+)_chat_requests_total /m)![1]!
      expect(sampleValue(text, `${ns}_chat_rejected_total`, { reason: "invalid_json" })).toBe(1)
      expect(sampleValue(text, `${ns}_chat_rejected_total`, { reason: "body_too_large" })).toBe(2)
      expect(sampleValue(text, `${ns}_chat_failures_total`)).toBe(0)
    }).pipe(
      Effect.provide(testServer({ ASSISTANT_API_MAX_MESSAGE_CHARS: "100", ASSISTANT_API_MAX_BODY_BYTES: "4096" }))
    )
  )

  it.live("answers 409 when another turn of the session is still running", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const simulator = yield* SafeLineSimulator
      yield* simulator.setDelay(800)
      const body = JSON.stringify({ message: "what is my traffic?", session_id: "busy-1" })
      const [a, b] = yield* Effect.all(
        [post(url, body), Effect.zipRight(Effect.sleep("100 millis"), post(url, body))],
        {
          concurrency: 2
        }
      )
      expect([a.status, b.status].sort()).toEqual([200, 409])
      expect([a, b].find((r) => r.status === 409)!.body.error).toBe("session_busy")
    }).pipe(Effect.provide(testServer({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.2" })))
  )

  it.live("a broken turn answers 500 chat_failed with its trace id and nothing internal", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const response = yield* post(url, JSON.stringify({ message: "hi", session_id: "boom" }))
      expect(response.status).toBe(500)
      expect(response.headers["content-type"]).toBe("application/problem+json")
      expect(Object.keys(response.body).sort()).toEqual(["detail", "error", "status", "title", "trace_id", "type"])
      expect(response.body).toMatchObject({ status: 500, title: "Internal Server Error", error: "chat_failed" })
      expect(response.body.error).toBe("chat_failed")
      expect(response.body.trace_id).toMatch(/^[0-9a-f]{32}$/)
      const health = yield* Effect.promise(() => fetch(`${url}/healthz`))
      expect(health.status).toBe(200)
      const text = yield* metricsText(url)
      const ns = text.match(/^(\w+)_chat_requests_total /m)![1]!
      expect(sampleValue(text, `${ns}_chat_failures_total`)).toBe(1)
    }).pipe(
      Effect.provide(
        testServer(
          {},
          {
            reasoner: Layer.succeed(Reasoner, {
              ...makeOfflineReasoner(loadRoutingExamples()),
              proposeRoute: () => Effect.die(new Error("internal detail that must not leak"))
            })
          }
        )
      )
    )
  )

  it.live("with ASSISTANT_API_TOKEN, /v1/* needs the bearer token; probes and metrics stay open", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const body = JSON.stringify({ message: "hi" })
      expect((yield* post(url, body)).status).toBe(401)
      expect((yield* post(url, body, { authorization: "Bearer wrong" })).status).toBe(401)
      expect((yield* post(url, body, { authorization: `Bearer ${OLD_TOKEN}` })).status).toBe(200)
      expect((yield* post(url, body, { authorization: `Bearer ${NEW_TOKEN}` })).status).toBe(200)
      const trace = yield* Effect.promise(() => fetch(`${url}/v1/sessions/x/turns/1/trace`))
      expect(trace.status).toBe(401)
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        expect((yield* Effect.promise(() => fetch(`${url}${path}`))).status, path).toBe(200)
      }
    }).pipe(Effect.provide(testServer({ ASSISTANT_API_TOKEN: `${NEW_TOKEN}, ${OLD_TOKEN}` })))
  )
})

describe("readiness, health and docs", () => {
  it.live("/readyz reports local checks and dependencies; a SafeLine outage does not make it 503", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const ready = yield* Effect.promise(() =>
        fetch(`${url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
      )
      expect(ready.status).toBe(200)
      expect(Object.keys(ready.body.checks).sort()).toEqual(["graph", "knowledge_base", "session_store"])
      expect(ready.body.dependencies.safeline.detail).toMatch(/simulator/)
      expect(ready.body.dependencies.llm.detail).toMatch(/offline/)
      const simulator = yield* SafeLineSimulator
      yield* simulator.setFailure("http500")
      const degraded = yield* Effect.promise(() =>
        fetch(`${url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
      )
      expect(degraded.status).toBe(200)
      expect(degraded.body.dependencies.safeline.ok).toBe(false)
      const text = yield* metricsText(url)
      const ns = text.match(/^(\w+)_chat_requests_total /m)![1]!
      expect(sampleValue(text, `${ns}_dependency_up`, { dependency: "safeline" })).toBe(0)
      expect(sampleValue(text, `${ns}_readiness_checks_total`)).toBe(2)
      const openapi = yield* Effect.promise(() => fetch(`${url}/openapi.json`).then((r) => r.json() as Promise<any>))
      expect(Object.keys(openapi.paths)).toContain("/v1/chat")
      // Swagger UI is bundled: the page works without a CDN.
      const docs = yield* Effect.promise(() => fetch(`${url}/docs`).then((r) => r.text()))
      expect(docs.includes("SwaggerUIBundle")).toBe(true)
      expect(docs.includes("security-agent")).toBe(true)
      expect(/unpkg|cdn\./.test(docs)).toBe(false)
      const unknown = yield* Effect.promise(() => fetch(`${url}/nope`))
      expect(unknown.status).toBe(404)
    }).pipe(Effect.provide(testServer({ SAFELINE_RETRIES: "0" })))
  )
})

describe("binding safety", () => {
  const api = (env: Record<string, string>) => Effect.runSync(Effect.provide(AppConfig, AppConfig.layerWith(env))).api

  it("treats only localhost, 127.0.0.0/8 and ::1 as loopback", () => {
    expect(["localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"].every(isLoopback)).toBe(true)
    expect(["0.0.0.0", "10.0.0.1", "::", "example.com"].some(isLoopback)).toBe(false)
  })

  it.effect("refuses a non-loopback address without a token unless explicitly allowed", () =>
    Effect.gen(function* () {
      const refused = yield* Effect.flip(checkBinding(api({ ASSISTANT_API_HOST: "0.0.0.0" })))
      expect(refused.message).toMatch(/ASSISTANT_API_TOKEN/)
      yield* checkBinding(api({ ASSISTANT_API_HOST: "0.0.0.0", ASSISTANT_API_TOKEN: NEW_TOKEN }))
      yield* checkBinding(api({ ASSISTANT_API_HOST: "0.0.0.0", ASSISTANT_API_ALLOW_UNAUTHENTICATED: "true" }))
      yield* checkBinding(api({}))
    })
  )

  it.effect("warns on every start and sets the exposure gauge when serving beyond loopback without a token", () =>
    Effect.gen(function* () {
      const logged: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => logged.push(String(message)))
      )
      const gauge = (text: string) => text.match(/^\w+_api_unauthenticated_exposed (\d)$/m)?.[1]
      const exposed = api({ ASSISTANT_API_HOST: "0.0.0.0", ASSISTANT_API_ALLOW_UNAUTHENTICATED: "true" })
      yield* announceExposure(exposed).pipe(Effect.provide(capture))
      const metrics = yield* AgentMetrics
      expect(gauge(yield* metrics.exposition)).toBe("1")
      expect(logged.join("\n")).toMatch(/WITHOUT authentication/)
      logged.length = 0
      yield* announceExposure(api({})).pipe(Effect.provide(capture))
      expect(gauge(yield* metrics.exposition)).toBe("0")
      expect(logged).toEqual([])
    }).pipe(Effect.provide(testObservability()))
  )
})

// The simulator's HTTP surface as a client sees it (plain fetch, no SafeLine client): paths,
// envelope, status codes, token check, test switches, and traffic that follows the clock.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeSimulator } from "../../src/simulator/Simulator.js"

const TOKEN = "sim-http-token"
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0)

const call = (url: string, path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) =>
  Effect.promise(async () => {
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (init.token !== null) headers["X-SLCE-API-TOKEN"] = init.token ?? TOKEN
    const started = Date.now()
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) })
    })
    return { status: response.status, json: (await response.json()) as any, ms: Date.now() - started }
  })

const start = (clock: () => number = () => T0, seed = 5) =>
  makeSimulator({ token: TOKEN, seed, clock, historyMinutes: 10 })

describe("simulator HTTP contract", () => {
  it.scopedLive("health is open; everything else needs the token (401 login-required)", () =>
    Effect.gen(function* () {
      const sim = yield* start()
      expect(yield* call(sim.url, "/api/open/health", { token: null })).toMatchObject({
        status: 200,
        json: { status: "ok" }
      })
      const rejected = { status: 401, json: { data: null, err: "login-required", msg: "Login required" } }
      expect(yield* call(sim.url, "/api/open/events", { token: null })).toMatchObject(rejected)
      expect(yield* call(sim.url, "/api/open/events", { token: "nope" })).toMatchObject(rejected)
      expect(yield* call(sim.url, "/api/open/global/mode", { method: "PUT", token: "x", body: {} })).toMatchObject(
        rejected
      )
    })
  )

  it.scopedLive("answers in the {data, err, msg} envelope with both list shapes and bare ids for creates", () =>
    Effect.gen(function* () {
      const sim = yield* start()
      const events = yield* call(sim.url, "/api/open/events?page=1&page_size=3")
      expect(events.json).toMatchObject({ err: null, msg: "", data: { total: expect.any(Number) } })
      expect(events.json.data.nodes).toHaveLength(3)
      expect(Object.keys(events.json.data.nodes[0]).sort()).toEqual(
        [
          "city",
          "country",
          "deny_count",
          "dst_port",
          "end_at",
          "finished",
          "host",
          "id",
          "ip",
          "pass_count",
          "protocol",
          "province",
          "start_at",
          "updated_at"
        ].sort()
      )
      const records = yield* call(sim.url, "/api/open/records?page_size=2")
      expect(records.json.data.data).toHaveLength(2)
      expect(records.json.data.data[0]).toMatchObject({ attack_type: expect.any(Number), action: expect.any(Number) })

      const created = yield* call(sim.url, "/api/open/ipgroup", {
        method: "POST",
        body: { comment: "g", ips: ["203.0.113.5"], reference: "" }
      })
      expect(created.json).toEqual({ data: expect.any(Number), err: null, msg: "" })
      const appended = yield* call(sim.url, "/api/open/ipgroup/append", {
        method: "POST",
        body: { ip_group_ids: [created.json.data], ips: ["203.0.113.6"] }
      })
      expect(appended.json).toEqual({ data: null, err: null, msg: "" })
    })
  )

  it.scopedLive("answers 400 for bad input and 404 for unknown objects and paths", () =>
    Effect.gen(function* () {
      const sim = yield* start()
      expect((yield* call(sim.url, "/api/open/events?page_size=101")).status).toBe(400)
      expect((yield* call(sim.url, "/api/open/global/mode", { method: "PUT", body: "{not json" })).status).toBe(400)
      const badMode = yield* call(sim.url, "/api/open/global/mode", {
        method: "PUT",
        body: { semantics: { m_sqli: "block" } }
      })
      expect(badMode).toMatchObject({ status: 400, json: { err: "invalid-params" } })
      const missing = yield* call(sim.url, "/api/open/policy/switch", {
        method: "PUT",
        body: { id: 999, is_enabled: true }
      })
      expect(missing).toMatchObject({ status: 404, json: { err: "data-not-exist" } })
      expect((yield* call(sim.url, "/api/open/nothing")).status).toBe(404)
    })
  )

  it.scopedLive("fails, delays and counts requests on demand", () =>
    Effect.gen(function* () {
      const sim = yield* start()
      yield* sim.setFailure("http500")
      expect(yield* call(sim.url, "/api/open/system")).toMatchObject({ status: 500, json: { err: "internal-error" } })
      yield* sim.setFailure("envelope_error")
      expect(yield* call(sim.url, "/api/open/system")).toMatchObject({ status: 200, json: { err: "internal-error" } })
      yield* sim.setFailure("none")
      yield* sim.setDelay(250)
      const slow = yield* call(sim.url, "/api/open/system")
      expect(slow.status).toBe(200)
      expect(slow.ms).toBeGreaterThanOrEqual(240)
      expect(yield* sim.requestCount("GET", "/api/open/system")).toBe(3)
    })
  )

  it.scopedLive("generates traffic as its clock advances, and the same traffic for the same seed", () =>
    Effect.gen(function* () {
      let now = T0
      const sim = yield* start(() => now)
      const twin = yield* start(() => T0)
      const first = yield* call(sim.url, "/api/open/records?page_size=100")
      expect((yield* call(twin.url, "/api/open/records?page_size=100")).json).toEqual(first.json)
      const again = yield* call(sim.url, "/api/open/records?page_size=1")
      expect(again.json.data.total).toBe(first.json.data.total)
      now += 5 * 60_000
      const later = yield* call(sim.url, "/api/open/records?page_size=1")
      expect(later.json.data.total).toBeGreaterThan(first.json.data.total)
      expect(later.json.data.data[0].timestamp).toBeGreaterThan(T0)
      const qps = yield* call(sim.url, "/api/stat/qps?count=3")
      expect(qps.json.data.nodes.map((n: any) => n.time)).toEqual(["12:04:45", "12:04:50", "12:04:55"])
    })
  )
})

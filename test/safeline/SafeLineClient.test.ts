// Contract tests: the client against the simulator over real HTTP — every endpoint, the envelope
// on HTTP 200, 401, timeouts, retries for reads only, and the token kept out of spans.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { DETECTION_MODULES, SIMULATOR_VERSION_SUFFIX } from "../../src/safeline/SafeLineApi.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import type { SafeLineError } from "../../src/safeline/SafeLineError.js"
import { inMemorySpans } from "../support/spans.js"
import { fastConnection, simulatorAndClient, TEST_TOKEN } from "./SafeLineFixture.js"

const failureOf = <A>(exit: Exit.Exit<A, SafeLineError>): SafeLineError => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail")
    throw new Error(`expected a typed failure, got ${String(exit)}`)
  return exit.cause.error
}

/** A server answering every request with the given status and body, to play a broken SafeLine. */
const fakeSafeLine = (status: number, body: string) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; close: () => void }>((resume) => {
      const server = createServer((_req, res) => {
        res.writeHead(status, { "content-type": "text/html" })
        res.end(body)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            close: () => server.close()
          })
        )
      )
    }),
    (s) => Effect.sync(s.close)
  )

describe("SafeLineClient reads", () => {
  it.scopedLive("reads every endpoint the agent uses, typed", () =>
    Effect.gen(function* () {
      const { client } = yield* simulatorAndClient()
      const system = yield* client.system
      expect(system.version.endsWith(SIMULATOR_VERSION_SUFFIX)).toBe(true)
      expect(system.license.valid).toBe(true)

      const events = yield* client.listEvents({ pageSize: 5 })
      expect(events.nodes.length).toBe(5)
      expect(events.total).toBeGreaterThan(5)
      expect(events.nodes[0]!.start_at).toBeGreaterThanOrEqual(events.nodes[4]!.start_at)
      const ip = events.nodes[0]!.ip
      const mine = yield* client.listEvents({ ip, pageSize: 100 })
      expect(mine.nodes.every((e) => e.ip === ip)).toBe(true)

      const records = yield* client.listRecords({ pageSize: 100 })
      expect(records.data.length).toBe(100)
      expect(records.data[0]).toMatchObject({ src_ip: expect.any(String), module: expect.stringMatching(/^m_/) })
      const sqli = yield* client.listRecords({ attackType: 0, pageSize: 20 })
      expect(sqli.data.every((r) => r.attack_type === 0)).toBe(true)

      expect((yield* client.listAclRecords()).total).toBe(0)

      const qps = yield* client.qps(12)
      expect(qps.nodes.length).toBe(12)
      expect(qps.nodes.at(-1)!.time).toMatch(/^\d\d:\d\d:\d\d$/)
      expect(Number(qps.nodes.at(-1)!["443"])).toBeGreaterThan(0)

      const now = Math.floor(Date.now() / 1000)
      const attack = yield* client.attackStats(now - 3600, now)
      expect(attack.attack_ip).toBeGreaterThan(0)
      expect(attack.intercept.block).toBeGreaterThan(0)
      const access = yield* client.accessStats(now - 3600, now)
      expect(access.access).toBeGreaterThan(attack.intercept.block)

      const mode = yield* client.getMode
      expect(Object.keys(mode).sort()).toEqual([...DETECTION_MODULES].sort())
      expect(new Set(Object.values(mode))).toEqual(new Set(["default"]))

      const groups = yield* client.listIpGroups(100)
      expect(groups.nodes.some((g) => g.builtin)).toBe(true)
      const policies = yield* client.listPolicies()
      expect(policies.data.length).toBe(policies.total)
      const sites = yield* client.listSites
      expect(sites.data.map((s) => s.server_names[0])).toContain("shop.example.com")
    })
  )
})

describe("SafeLineClient writes", () => {
  it.scopedLive("changes the mode map, IP groups and policies", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient()
      yield* client.putMode({ m_sqli: "dry_run", m_xss: "strict" })
      expect((yield* simulator.snapshot).modes).toMatchObject({ m_sqli: "dry_run", m_xss: "strict", m_ssrf: "default" })

      const groupId = yield* client.createIpGroup({ comment: "test group", ips: ["203.0.113.1"] })
      yield* client.appendToIpGroups([groupId], ["198.51.100.0/24"])
      let group = (yield* simulator.snapshot).ipGroups.find((g) => g.id === groupId)!
      expect(group.ips).toEqual(["203.0.113.1", "198.51.100.0/24"])
      yield* client.updateIpGroup({ id: groupId, comment: "test group", ips: ["198.51.100.0/24"], reference: "" })
      group = (yield* simulator.snapshot).ipGroups.find((g) => g.id === groupId)!
      expect(group.ips).toEqual(["198.51.100.0/24"])

      const policyId = yield* client.createPolicy({
        name: "deny test group",
        is_enabled: false,
        action: 1,
        pattern: [[{ k: "src_ip", op: "in", v: [String(groupId)], sub_k: "" }]]
      })
      yield* client.switchPolicy(policyId, true)
      const policy = (yield* client.listPolicies()).data.find((p) => p.id === policyId)!
      expect(policy).toMatchObject({ is_enabled: true, action: 1, name: "deny test group" })
    })
  )

  it.scopedLive("reports a missing object as not_found and a refused body as an HTTP error", () =>
    Effect.gen(function* () {
      const { client } = yield* simulatorAndClient()
      const missing = failureOf(yield* Effect.exit(client.appendToIpGroups([9999], ["203.0.113.1"])))
      expect(missing).toMatchObject({ reason: "not_found", status: 404, code: "data-not-exist" })
      const refused = failureOf(yield* Effect.exit(client.putMode({ m_sqli: "block" })))
      expect(refused).toMatchObject({ reason: "http_error", status: 400 })
      expect(refused.message).toContain("invalid mode block")
    })
  )
})

describe("SafeLineClient failures", () => {
  it.scopedLive("treats an error envelope on HTTP 200 as a failure", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient()
      yield* simulator.setFailure("envelope_error")
      const error = failureOf(yield* Effect.exit(client.listEvents()))
      expect(error).toMatchObject({ reason: "envelope_error", status: 200, code: "internal-error" })
      // A deterministic refusal is not retried.
      expect(yield* simulator.requestCount("GET", "/api/open/events")).toBe(1)
    })
  )

  it.scopedLive("maps 401 login-required to 'SafeLine token rejected', without retrying", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient({}, { token: "wrong-token" })
      const error = failureOf(yield* Effect.exit(client.system))
      expect(error).toMatchObject({ reason: "auth", status: 401, code: "login-required" })
      expect(error.message).toContain("SafeLine token rejected")
      expect(error.message).toContain("SAFELINE_API_TOKEN")
      expect(yield* simulator.requestCount("GET", "/api/open/system")).toBe(1)
    })
  )

  it.scopedLive("times out after SAFELINE_TIMEOUT seconds", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient({}, { timeoutSeconds: 0.2, retries: 0 })
      yield* simulator.setDelay(1500)
      const started = Date.now()
      const error = failureOf(yield* Effect.exit(client.system))
      expect(error.reason).toBe("timeout")
      expect(error.message).toContain("SAFELINE_TIMEOUT")
      expect(Date.now() - started).toBeLessThan(1000)
    })
  )

  it.scopedLive("retries GETs with backoff but never PUT or POST", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient({}, { retries: 2 })
      yield* simulator.setFailure("http500")
      const read = failureOf(yield* Effect.exit(client.system))
      expect(read).toMatchObject({ reason: "http_error", status: 500 })
      expect(read.message).toContain("tried 3 times")
      expect(yield* simulator.requestCount("GET", "/api/open/system")).toBe(3)

      yield* Effect.exit(client.putMode({ m_sqli: "dry_run" }))
      yield* Effect.exit(client.createIpGroup({ comment: "x", ips: ["203.0.113.1"] }))
      yield* Effect.exit(client.appendToIpGroups([1], ["203.0.113.1"]))
      yield* Effect.exit(client.createPolicy({ name: "x", is_enabled: true, action: 1, pattern: [] }))
      yield* Effect.exit(client.switchPolicy(1, true))
      yield* Effect.exit(client.updateIpGroup({ id: 1, comment: "x", ips: [], reference: "" }))
      expect(yield* simulator.requestCount("PUT", "/api/open/global/mode")).toBe(1)
      expect(yield* simulator.requestCount("POST", "/api/open/ipgroup")).toBe(1)
      expect(yield* simulator.requestCount("POST", "/api/open/ipgroup/append")).toBe(1)
      expect(yield* simulator.requestCount("POST", "/api/open/policy")).toBe(1)
      expect(yield* simulator.requestCount("PUT", "/api/open/policy/switch")).toBe(1)
      expect(yield* simulator.requestCount("PUT", "/api/open/ipgroup")).toBe(1)

      // A write that timed out may have been applied: not retried either.
      yield* simulator.setFailure("none")
      yield* simulator.setDelay(600)
      const slow = yield* SafeLineClient.make(fastConnection(simulator.url, { timeoutSeconds: 0.1, retries: 3 }))
      expect(failureOf(yield* Effect.exit(slow.putMode({ m_xss: "dry_run" }))).reason).toBe("timeout")
      expect(yield* simulator.requestCount("PUT", "/api/open/global/mode")).toBe(2)
    })
  )

  it.scopedLive("says what is wrong when SafeLine is unreachable or is not SafeLine", () =>
    Effect.gen(function* () {
      const closed = yield* SafeLineClient.make(fastConnection("http://127.0.0.1:9", { retries: 0 }))
      const unreachable = failureOf(yield* Effect.exit(closed.system))
      expect(unreachable.reason).toBe("unreachable")
      expect(unreachable.message).toContain("SAFELINE_URL")

      const html = yield* fakeSafeLine(200, "<html>router login</html>")
      const notJson = failureOf(yield* Effect.exit((yield* SafeLineClient.make(fastConnection(html.url))).system))
      expect(notJson.reason).toBe("invalid_response")

      const odd = yield* fakeSafeLine(200, JSON.stringify({ data: { nodes: "none" }, err: null, msg: "" }))
      const badShape = failureOf(yield* Effect.exit((yield* SafeLineClient.make(fastConnection(odd.url))).listEvents()))
      expect(badShape.reason).toBe("invalid_response")
      expect(badShape.message).toContain("GET /api/open/events")
    })
  )
})

describe("SafeLineClient tracing", () => {
  it.scopedLive("never puts the API token in a span attribute", () => {
    const { exporter, layer: tracing } = inMemorySpans()
    return Effect.gen(function* () {
      const { client } = yield* simulatorAndClient()
      yield* client.system.pipe(Effect.withSpan("probe"))
      const spans = exporter.getFinishedSpans()
      const http = spans.find((s) => s.attributes["http.request.method"] === "GET")
      expect(http).toBeDefined()
      expect(http!.attributes["http.request.header.x-slce-api-token"]).toBe("<redacted>")
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(TEST_TOKEN)
    }).pipe(Effect.provide(tracing))
  })
})

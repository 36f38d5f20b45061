// The attacker's view of access control, through the real HTTP app and the production
// composition: every other spelling of a protected route, other methods, header tricks, and
// browsers (cross-site posts, DNS rebinding, forged X-Forwarded-*). Invariants: no spelling
// reaches a turn or a trace without a valid token; the WAF never changes.
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { eventually } from "../support/eventually.js"
import { readJsonl } from "../support/jsonl.js"
import { rawHttp } from "../support/rawHttp.js"
import { type LiveService, run, scratchDir, simulatorWithServices } from "./LiveService.js"
import { spellingsOf } from "./RouteSpellings.js"

const OPERATOR_TOKEN = "operator-token-0123456789abcdefghijklmnop"
const VIEWER_TOKEN = "viewer-token-0123456789abcdefghijklmnopqrs"
const FILE_OPERATOR_TOKEN = "olga-token-0123456789abcdefghijklmnopqrstu"
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

const fixture = simulatorWithServices()
const start = fixture.start

const wafState = async () => {
  const { modes, ipGroups, policies } = await run(fixture.simulator().snapshot)
  return { modes, ipGroups, policies }
}

const port = (service: LiveService) => Number(new URL(service.url).port)
const turnsStarted = async (service: LiveService) =>
  (await service.sample("agent_trace_events_total", { event: "turn.started" })) ?? 0
const chatBody = (message: string, sessionId?: string) =>
  JSON.stringify(sessionId === undefined ? { message } : { message, session_id: sessionId })

describe("with tokens configured (the chart's mode)", () => {
  let service: LiveService
  let tracePath: string

  beforeAll(async () => {
    const dir = scratchDir("access-")
    const tokensFile = join(dir, "tokens")
    writeFileSync(
      tokensFile,
      `# principals\nvera:viewer:${sha256(VIEWER_TOKEN)}\nolga:operator:${sha256(FILE_OPERATOR_TOKEN)}\n`
    )
    service = await start({ ASSISTANT_API_TOKEN: OPERATOR_TOKEN, ASSISTANT_API_TOKENS_FILE: tokensFile })
    // A real turn of a real session: the trace the spellings below try to read.
    const made = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      headers: { Authorization: `Bearer ${FILE_OPERATOR_TOKEN}` },
      body: chatBody("what is my traffic?", "s1")
    })
    expect(made.status).toBe(200)
    tracePath = "/v1/sessions/s1/turns/1/trace"
    const own = await rawHttp(service.url, {
      method: "GET",
      target: tracePath,
      headers: { Authorization: `Bearer ${FILE_OPERATOR_TOKEN}` }
    })
    expect(own.status).toBe(200)
  })

  it("the reported bypass: // and /V1/ spellings get 400/404 and the WAF stays as it was", async () => {
    const before = await wafState()
    const plain = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      body: chatBody("turn protection off")
    })
    expect(plain.status).toBe(401)
    const doubled = await rawHttp(service.url, {
      method: "POST",
      target: "//v1/chat",
      body: chatBody("turn protection off", "x1")
    })
    expect(doubled.status).toBe(400)
    expect(JSON.parse(doubled.body).error).toBe("invalid_request_target")
    expect(doubled.body).not.toMatch(/confirm \d{6}/)
    const upper = await rawHttp(service.url, {
      method: "POST",
      target: "/V1/chat",
      body: chatBody("confirm 332321", "x1")
    })
    expect(upper.status).toBe(404)
    expect(await wafState()).toEqual(before)
  })

  it("46 spellings of POST /v1/chat without a token: none reaches a turn", async () => {
    const before = await wafState()
    const turnsBefore = await turnsStarted(service)
    const spellings = spellingsOf("/v1/chat", port(service))
    expect(spellings.length).toBeGreaterThanOrEqual(30)
    for (const target of spellings) {
      const response = await rawHttp(service.url, {
        method: "POST",
        target,
        body: chatBody("turn protection off", "x1")
      })
      expect([400, 401, 404, 405], `${target} answered ${response.status}`).toContain(response.status)
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
    expect(await wafState()).toEqual(before)
  })

  it("46 spellings of the trace route without a token: none returns a trace", async () => {
    const spellings = spellingsOf(tracePath, port(service))
    expect(spellings.length).toBeGreaterThanOrEqual(30)
    for (const target of spellings) {
      const response = await rawHttp(service.url, { method: "GET", target })
      expect([400, 401, 404, 405], `${target} answered ${response.status}`).toContain(response.status)
      expect(response.body, target).not.toContain("route.selected")
    }
  })

  it("the same spellings WITH a valid token are still refused or mean exactly the canonical route", async () => {
    const turnsBefore = await turnsStarted(service)
    const auth = { Authorization: `Bearer ${VIEWER_TOKEN}` }
    for (const target of spellingsOf("/v1/chat", port(service))) {
      const response = await rawHttp(service.url, { method: "POST", target, headers: auth, body: chatBody("hi") })
      expect([400, 404, 405], `${target} answered ${response.status}`).toContain(response.status)
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
    // The control: the canonical spelling works, so the refusals above are about the spelling.
    const canonical = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat?source=test",
      headers: auth,
      body: chatBody("hi")
    })
    expect(canonical.status).toBe(200)
  })

  it("an escaped ':' in a session id is read once as ':' (clients escape it); no other escape is", async () => {
    const auth = { Authorization: `Bearer ${FILE_OPERATOR_TOKEN}` }
    const made = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      headers: auth,
      body: chatBody("what is my traffic?", "team:s2")
    })
    expect(made.status).toBe(200)
    const plain = await rawHttp(service.url, {
      method: "GET",
      target: "/v1/sessions/team:s2/turns/1/trace",
      headers: auth
    })
    const escaped = await rawHttp(service.url, {
      method: "GET",
      target: "/v1/sessions/team%3as2/turns/1/trace",
      headers: auth
    })
    expect(plain.status).toBe(200)
    expect(escaped.status).toBe(200)
    expect(JSON.parse(escaped.body).session_id).toBe("team:s2")
    expect((await rawHttp(service.url, { method: "GET", target: "/v1/sessions/team%3As2/turns/1/trace" })).status).toBe(
      401
    )
    for (const target of [
      "/v1/sessions/team%253As2/turns/1/trace",
      "/v1/sessions/team%3A%73%32/turns/1/trace",
      "/v1%3A/chat"
    ]) {
      const response = await rawHttp(service.url, { method: "GET", target, headers: auth })
      expect([400, 404], target).toContain(response.status)
    }
  })

  it("other methods get 405 with Allow and run nothing; rewriting headers are ignored", async () => {
    const turnsBefore = await turnsStarted(service)
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]) {
      const response = await rawHttp(service.url, { method, target: "/v1/chat", body: chatBody("turn protection off") })
      expect(response.status, method).toBe(405)
      expect(response.headers.allow).toBe("POST")
    }
    for (const header of ["X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Path", "X-Forwarded-Prefix"]) {
      const response = await rawHttp(service.url, {
        method: "POST",
        target: "/healthz",
        headers: { [header]: "/v1/chat" },
        body: chatBody("turn protection off")
      })
      expect(response.status, header).toBe(405)
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
  })

  it("malformed credentials are 401: wrong scheme, padding, a second token, a near miss", async () => {
    const turnsBefore = await turnsStarted(service)
    const attempts = [
      `Basic ${Buffer.from(`x:${OPERATOR_TOKEN}`).toString("base64")}`,
      `Bearer ${OPERATOR_TOKEN.slice(0, -1)}`,
      `Bearer ${OPERATOR_TOKEN}x`,
      `Bearer ${OPERATOR_TOKEN} ${OPERATOR_TOKEN}`,
      `Bearer ${OPERATOR_TOKEN.toUpperCase()}`,
      `Bearer ${sha256(VIEWER_TOKEN)}`,
      `Bearer`,
      `Token ${OPERATOR_TOKEN}`,
      `Bearer ${OPERATOR_TOKEN},${VIEWER_TOKEN}`
    ]
    for (const authorization of attempts) {
      const response = await rawHttp(service.url, {
        method: "POST",
        target: "/v1/chat",
        headers: { Authorization: authorization },
        body: chatBody("turn protection off")
      })
      expect(response.status, authorization.slice(0, 30)).toBe(401)
      expect(response.headers["www-authenticate"]).toContain("Bearer")
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
    const sample = await service.sample("api_access_denied_total", { reason: "unauthorized" })
    expect(sample).toBeGreaterThanOrEqual(attempts.length)
  })

  it("public routes stay public; the OpenAPI document declares 401/403/404/408/429", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]) {
      expect((await rawHttp(service.url, { method: "GET", target: path })).status, path).toBe(200)
    }
    const openapi = JSON.parse((await rawHttp(service.url, { method: "GET", target: "/openapi.json" })).body)
    const responses = Object.keys(openapi.paths["/v1/chat"].post.responses)
    for (const status of ["200", "400", "401", "403", "408", "409", "413", "429", "500", "503"]) {
      expect(responses, status).toContain(status)
    }
  })
})

describe("without a token on loopback: browsers cannot reach it", () => {
  let service: LiveService
  const formPost = (headers: Record<string, string>, host?: string, message = "turn protection off") =>
    rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      ...(host === undefined ? {} : { host }),
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: chatBody(message)
    })

  beforeAll(async () => {
    service = await start({})
  })

  it("a cross-site form post (another site's Origin) is 403 and changes nothing", async () => {
    const before = await wafState()
    const turnsBefore = await turnsStarted(service)
    for (const origin of ["https://evil.example", "null", "http://127.0.0.1.evil.example", `http://127.0.0.1:1`]) {
      const response = await formPost({ Origin: origin, "Sec-Fetch-Site": "cross-site" })
      expect(response.status, origin).toBe(403)
      expect(JSON.parse(response.body).error).toBe("forbidden_origin")
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
    expect(await wafState()).toEqual(before)
    expect(await service.sample("chat_rejected_total", { reason: "forbidden" })).toBeGreaterThanOrEqual(4)
  })

  it("another site's GET or POST without an Origin (a <script> or <img> tag) is refused by Sec-Fetch-Site", async () => {
    const turnsBefore = await turnsStarted(service)
    for (const site of ["cross-site", "same-site"]) {
      const trace = await rawHttp(service.url, {
        method: "GET",
        target: "/v1/sessions/s1/turns/1/trace",
        headers: { "Sec-Fetch-Site": site, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script" }
      })
      expect(trace.status, site).toBe(403)
      const posted = await formPost({ "Sec-Fetch-Site": site })
      expect(posted.status, site).toBe(403)
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
    // Typed into the address bar, or the bundled Swagger UI (same origin): allowed.
    for (const site of ["none", "same-origin"]) {
      expect((await formPost({ "Sec-Fetch-Site": site }, undefined, "hello")).status, site).toBe(200)
    }
  })

  it("a rebound page (hostile Host) is 403 with or without forged X-Forwarded-Host and on every route", async () => {
    const before = await wafState()
    const turnsBefore = await turnsStarted(service)
    const host = `evil.example:${port(service)}`
    const forged: Array<Record<string, string>> = [
      {},
      { "X-Forwarded-Host": `127.0.0.1:${port(service)}` },
      { "X-Forwarded-Host": "localhost", "X-Forwarded-For": "127.0.0.1", Forwarded: "host=127.0.0.1" },
      { Origin: `http://${host}` }
    ]
    for (const headers of forged) {
      const response = await formPost(headers, host)
      expect(response.status, JSON.stringify(headers)).toBe(403)
      expect(JSON.parse(response.body).error).toBe("forbidden_host")
    }
    for (const hostile of ["127.0.0.1.nip.io", "0x7f.1", "127.1", "2130706433", "localhost.evil.example", ""]) {
      const response = await formPost({}, hostile)
      expect([400, 403], hostile).toContain(response.status)
    }
    const trace = await rawHttp(service.url, { method: "GET", target: "/v1/sessions/s1/turns/1/trace", host })
    expect(trace.status).toBe(403)
    expect(await turnsStarted(service)).toBe(turnsBefore)
    expect(await wafState()).toEqual(before)
  })

  it("every spelling from a rebound page is refused", async () => {
    const turnsBefore = await turnsStarted(service)
    for (const target of spellingsOf("/v1/chat", port(service))) {
      const response = await rawHttp(service.url, {
        method: "POST",
        target,
        host: "evil.example",
        body: chatBody("turn protection off")
      })
      expect([400, 403, 404, 405], `${target} answered ${response.status}`).toContain(response.status)
    }
    expect(await turnsStarted(service)).toBe(turnsBefore)
  })

  it("curl -d, the bundled Swagger UI (same origin) and localhost keep working", async () => {
    const curl = await formPost({}, undefined, "hello")
    expect(curl.status).toBe(200)
    const swagger = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      headers: { Origin: `http://127.0.0.1:${port(service)}`, "Content-Type": "application/json" },
      body: chatBody("hello")
    })
    expect(swagger.status).toBe(200)
    const localhost = await formPost(
      { Origin: `http://localhost:${port(service)}` },
      `localhost:${port(service)}`,
      "hello"
    )
    expect(localhost.status).toBe(200)
    const v6 = await formPost({}, `[::1]:${port(service)}`, "hello")
    expect(v6.status).toBe(200)
  })

  it("X-Forwarded-For from an untrusted peer is ignored: the audit names the socket's address", async () => {
    const response = await formPost({ "X-Forwarded-For": "203.0.113.99" }, undefined, "ban 203.0.113.50")
    expect(response.status).toBe(200)
    await eventually(() => readJsonl(service.auditPath).some((r) => r.metadata?.client_address !== undefined), {
      what: "an audit record with a client address",
      timeoutMs: 10_000
    })
    const addresses = new Set(readJsonl(service.auditPath).map((r) => r.metadata?.client_address))
    expect(addresses.has("203.0.113.99")).toBe(false)
    expect(addresses.has("127.0.0.1")).toBe(true)
  })
})

describe("allowed hosts, origins and trusted proxies", () => {
  it("ASSISTANT_API_ALLOWED_HOSTS / _ORIGINS admit exactly those; a trusted proxy's X-Forwarded-For is the client", async () => {
    const service = await start({
      ASSISTANT_API_ALLOWED_HOSTS: "agent.internal",
      ASSISTANT_API_ALLOWED_ORIGINS: "https://console.example",
      ASSISTANT_API_TRUSTED_PROXIES: "127.0.0.1/32"
    })
    const post = (host: string, headers: Record<string, string> = {}, message = "hello") =>
      rawHttp(service.url, { method: "POST", target: "/v1/chat", host, headers, body: chatBody(message) })
    expect((await post(`agent.internal:${port(service)}`)).status).toBe(200)
    expect((await post("agent.internal.evil.example")).status).toBe(403)
    expect((await post("127.0.0.1", { Origin: "https://console.example" })).status).toBe(200)
    expect((await post("127.0.0.1", { Origin: "https://console.example.evil" })).status).toBe(403)
    const banned = await post("127.0.0.1", { "X-Forwarded-For": "198.51.100.1, 203.0.113.98" }, "ban 203.0.113.51")
    expect(banned.status).toBe(200)
    await eventually(() => readJsonl(service.auditPath).some((r) => r.metadata?.client_address === "203.0.113.98"), {
      what: "the forwarded client address in the audit",
      timeoutMs: 10_000
    })
  })
})

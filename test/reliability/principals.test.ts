// Principals and roles through the real HTTP app: named tokens from a file (no token in clear),
// reloaded when it changes; sessions and traces belong to the principal that made them; viewers
// cannot change the WAF; per-principal rate limits; a slow body gets 408; start-up refusals.
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { eventually } from "../support/eventually.js"
import { readJsonl } from "../support/jsonl.js"
import { freePort, runCli } from "../support/processes.js"
import { type RawResponse, rawHttp } from "../support/rawHttp.js"
import { type LiveService, run, scratchDir, simulatorWithServices, wellInsideAMinute } from "./LiveService.js"

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const token = (name: string) => `${name}-token-${sha256(name).slice(0, 32)}`
const line = (name: string, role: string) => `${name}:${role}:${sha256(token(name))}`

const fixture = simulatorWithServices()
const start = fixture.start

const chatAs = (service: LiveService, name: string, message: string, sessionId?: string) =>
  rawHttp(service.url, {
    method: "POST",
    target: "/v1/chat",
    headers: { Authorization: `Bearer ${token(name)}`, "Content-Type": "application/json" },
    body: JSON.stringify(sessionId === undefined ? { message } : { message, session_id: sessionId })
  })
const traceAs = (service: LiveService, name: string, sessionId: string, turnId: string) =>
  rawHttp(service.url, {
    method: "GET",
    target: `/v1/sessions/${sessionId}/turns/${turnId}/trace`,
    headers: { Authorization: `Bearer ${token(name)}` }
  })
const json = (response: RawResponse) => JSON.parse(response.body)
const codeOf = (reply: string) => reply.match(/`confirm (\d{6})`/)?.[1]
const mode = async () => (await run(fixture.simulator().snapshot)).modes

describe("principals from ASSISTANT_API_TOKENS_FILE", () => {
  let service: LiveService
  let tokensFile: string

  beforeAll(async () => {
    tokensFile = join(scratchDir("tokens-"), "tokens")
    writeFileSync(tokensFile, [line("olga", "operator"), line("otto", "operator"), line("vera", "viewer")].join("\n"))
    service = await start({ ASSISTANT_API_TOKENS_FILE: tokensFile, ASSISTANT_API_RATE_LIMIT: "0" })
  })

  it("a viewer chats and reads its own traces, but cannot request a WAF change", async () => {
    const before = await mode()
    const traffic = await chatAs(service, "vera", "what is my traffic?", "v1")
    expect(traffic.status).toBe(200)
    expect(json(traffic).route).toBe("monitor")
    expect((await traceAs(service, "vera", "v1", "1")).status).toBe(200)
    const change = await chatAs(service, "vera", "turn protection off", "v1")
    expect(change.status).toBe(200)
    expect(codeOf(json(change).reply)).toBeUndefined()
    expect(json(change).reply).toMatch(/operator/)
    expect(json(change).pending_action).toBeUndefined()
    expect(await mode()).toEqual(before)
  })

  it("sessions belong to their principal: the same session_id elsewhere is a new session, and a code does not travel", async () => {
    const before = await mode()
    const asked = await chatAs(service, "olga", "switch to detect mode", "shared")
    const code = codeOf(json(asked).reply)
    expect(code).toMatch(/^\d{6}$/)
    // Another operator with the same session id: their own, new session with nothing pending.
    const stolen = await chatAs(service, "otto", `confirm ${code}`, "shared")
    expect(stolen.status).toBe(200)
    expect(json(stolen).turn_id).toBe("1")
    expect(json(stolen).reply).toMatch(/no pending change/i)
    expect(await mode()).toEqual(before)
    // Traces: unknown and foreign turns answer the same 404, so nothing can be probed.
    expect((await chatAs(service, "olga", "what is my traffic?", "olga-only")).status).toBe(200)
    expect((await traceAs(service, "olga", "olga-only", "1")).status).toBe(200)
    const foreign = await traceAs(service, "otto", "olga-only", "1")
    const unknown = await traceAs(service, "otto", "never-made-0", "1")
    expect(foreign.status).toBe(404)
    expect(unknown.status).toBe(404)
    expect(foreign.body).toBe(unknown.body.replace("never-made-0", "olga-only"))
    // Otto's own session "shared" (the refused confirm above) is readable by Otto.
    const own = await traceAs(service, "otto", "shared", "1")
    expect(own.status).toBe(200)
    expect(json(own).events.every((e: { session_id: string }) => e.session_id === "shared")).toBe(true)
    // Otto tried the code in his own session: his trace is readable, and the code is not in it.
    expect(own.body).not.toMatch(new RegExp(`(?<![0-9a-f.])${code}(?![0-9a-f])`))
    // The owner still confirms with the code.
    const confirmed = await chatAs(service, "olga", `confirm ${code}`, "shared")
    expect(json(confirmed).reply).toMatch(/now detect|dry_run|detect/i)
    expect(await mode()).not.toEqual(before)
    await chatAs(service, "olga", "restore the previous mode", "shared").then(async (r) => {
      const restoreCode = codeOf(json(r).reply)
      await chatAs(service, "olga", `confirm ${restoreCode}`, "shared")
    })
    expect(await mode()).toEqual(before)
  })

  it("audit records of a change name the principal and role", async () => {
    const asked = await chatAs(service, "olga", "ban 203.0.113.77", "audit")
    expect(codeOf(json(asked).reply)).toMatch(/^\d{6}$/)
    await eventually(
      () =>
        readJsonl(service.auditPath).some(
          (r) => r.session_id === "audit" && r.metadata.reason === "confirmation_required"
        ),
      { what: "the challenge in the audit log", timeoutMs: 10_000 }
    )
    const records = readJsonl(service.auditPath).filter((r) => r.session_id === "audit")
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) expect(record.metadata).toMatchObject({ principal: "olga", role: "operator" })
    await chatAs(service, "olga", "cancel", "audit")
  })

  it("reloads the file when it changes; a bad file keeps the last good set", async () => {
    expect((await chatAs(service, "vera", "hi")).status).toBe(200)
    expect((await chatAs(service, "victor", "hi")).status).toBe(401)
    writeFileSync(tokensFile, [line("olga", "operator"), line("otto", "operator"), line("victor", "viewer")].join("\n"))
    await eventually(async () => (await chatAs(service, "victor", "hi")).status === 200, {
      what: "victor admitted",
      timeoutMs: 10_000
    })
    expect((await chatAs(service, "vera", "hi")).status).toBe(401)
    const errorsBefore = (await service.sample("api_tokens_file_reloads_total", { result: "error" })) ?? 0
    writeFileSync(tokensFile, `victor:viewer:${token("victor")}\n`) // a token in clear: refused
    await eventually(
      async () => ((await service.sample("api_tokens_file_reloads_total", { result: "error" })) ?? 0) > errorsBefore,
      { what: "the bad reload counted", timeoutMs: 10_000 }
    )
    expect((await chatAs(service, "victor", "hi")).status).toBe(200)
    writeFileSync(tokensFile, [line("olga", "operator"), line("otto", "operator"), line("vera", "viewer")].join("\n"))
    await eventually(async () => (await chatAs(service, "vera", "hi")).status === 200, {
      what: "vera back",
      timeoutMs: 10_000
    })
  })
})

describe("request limits", () => {
  it("ASSISTANT_API_RATE_LIMIT: 429 with Retry-After per principal, counted; other principals unaffected", {
    timeout: 60_000
  }, async () => {
    const file = join(scratchDir("tokens-"), "tokens")
    writeFileSync(file, [line("olga", "operator"), line("vera", "viewer")].join("\n"))
    const service = await start({ ASSISTANT_API_TOKENS_FILE: file, ASSISTANT_API_RATE_LIMIT: "3" })
    await wellInsideAMinute()
    const statuses: Array<number> = []
    let limited: RawResponse | undefined
    for (let i = 0; i < 5; i++) {
      const response = await chatAs(service, "olga", "hi")
      statuses.push(response.status)
      if (response.status === 429) limited = response
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(limited?.headers["retry-after"]).toMatch(/^\d+$/)
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(Number(limited?.headers["retry-after"])).toBeLessThanOrEqual(60)
    expect(json(limited!).error).toBe("rate_limited")
    expect((await chatAs(service, "vera", "hi")).status).toBe(200)
    expect(await service.sample("chat_rejected_total", { reason: "rate_limited" })).toBeGreaterThanOrEqual(1)
  })

  it("with tokens the default limit is on (120/min); without tokens on loopback it is off", async () => {
    const file = join(scratchDir("tokens-"), "tokens")
    writeFileSync(file, line("olga", "operator"))
    const limited = await start({ ASSISTANT_API_TOKENS_FILE: file })
    const open = await start({})
    const burst = async (send: () => Promise<RawResponse>, n: number) => {
      const statuses = await Promise.all(Array.from({ length: n }, send))
      return statuses.filter((r) => r.status === 429).length
    }
    expect(await burst(() => chatAs(limited, "olga", "hi"), 130)).toBeGreaterThan(0)
    expect(
      await burst(
        () => rawHttp(open.url, { method: "POST", target: "/v1/chat", body: JSON.stringify({ message: "hi" }) }),
        130
      )
    ).toBe(0)
  }, 120_000)

  it("a body slower than ASSISTANT_API_BODY_TIMEOUT_SECONDS gets a JSON 408 and the connection closes", async () => {
    const service = await start({ ASSISTANT_API_BODY_TIMEOUT_SECONDS: "1" })
    const started = Date.now()
    const response = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      headers: { "Content-Length": "200" },
      body: '{"message": "turn prot'
    })
    expect(response.status).toBe(408)
    expect(json(response).error).toBe("body_timeout")
    expect(Date.now() - started).toBeLessThan(9_000)
    expect(await service.sample("chat_rejected_total", { reason: "body_timeout" })).toBe(1)
  })
})

describe("start-up refusals and the token command", () => {
  it("refuses a short ASSISTANT_API_TOKEN, a token in clear in the file and a missing file, naming the fix", async () => {
    const short = await runCli(["serve"], {
      ASSISTANT_API_TOKEN: "short-token",
      ASSISTANT_API_PORT: String(await freePort())
    })
    expect(short.code).not.toBe(0)
    expect(short.stderr).toMatch(/shorter than 32 characters/)
    expect(short.stderr).not.toContain("short-token")
    const file = join(scratchDir("tokens-"), "tokens")
    writeFileSync(file, `# ok\n${line("olga", "operator")}\nvera:viewer:${token("vera")}\n`)
    const clear = await runCli(["serve"], {
      ASSISTANT_API_TOKENS_FILE: file,
      ASSISTANT_API_PORT: String(await freePort())
    })
    expect(clear.code).not.toBe(0)
    expect(clear.stderr).toMatch(/line 3/)
    expect(clear.stderr).not.toContain(token("vera"))
    const missing = await runCli(["serve"], {
      ASSISTANT_API_TOKENS_FILE: "/nonexistent/tokens",
      ASSISTANT_API_PORT: String(await freePort())
    })
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/ASSISTANT_API_TOKENS_FILE/)
  })

  it("security-agent token prints a token and the line that admits it, and refuses bad names and roles", async () => {
    const made = await runCli(["token", "ci-bot", "viewer"])
    expect(made.code).toBe(0)
    const printed = made.stdout.match(/token: (\S+)/)?.[1] ?? ""
    const fileLine = made.stdout.match(/line: +(\S+)/)?.[1] ?? ""
    expect(printed.length).toBeGreaterThanOrEqual(32)
    expect(fileLine).toBe(`ci-bot:viewer:${sha256(printed)}`)
    const file = join(scratchDir("tokens-"), "tokens")
    writeFileSync(file, `${fileLine}\n`)
    const service = await start({ ASSISTANT_API_TOKENS_FILE: file })
    const response = await rawHttp(service.url, {
      method: "POST",
      target: "/v1/chat",
      headers: { Authorization: `Bearer ${printed}` },
      body: JSON.stringify({ message: "hi" })
    })
    expect(response.status).toBe(200)
    for (const [name, role] of [
      ["default", "operator"],
      ["bad name", "viewer"],
      ["x", "admin"],
      ["a:b", "viewer"]
    ] as const) {
      const refused = await runCli(["token", name, role])
      expect(refused.code, `${name} ${role}`).not.toBe(0)
      expect(refused.stderr).toMatch(/name|role/)
    }
  })
})

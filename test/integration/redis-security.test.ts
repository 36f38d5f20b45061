// Access control across replicas: two live services (the production composition behind the real
// HTTP app) sharing one real Redis and one SafeLine. The rate limit and the wrong-code throttle
// are one budget for the whole deployment, and a dump of Redis holds no code and no key.
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type LiveService,
  run,
  scratchDir,
  simulatorWithServices,
  wellInsideAMinute
} from "../reliability/LiveService.js"
import { rawHttp } from "../support/rawHttp.js"
import { type RedisServer, startRedis } from "../support/redis.js"

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const token = (name: string) => `${name}-token-${sha256(name).slice(0, 32)}`
const CODE_KEY = "replicas-share-this-code-key-0123456789abcdef"

const fixture = simulatorWithServices()
let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.dispose()
})

/** Two replicas on Redis db `db`, admitting olga (operator). */
const replicas = async (db: number, env: Record<string, string> = {}) => {
  const file = join(scratchDir("tokens-"), "tokens")
  writeFileSync(file, `olga:operator:${sha256(token("olga"))}\n`)
  const settings = {
    SESSION_STORE: "redis",
    REDIS_URL: redis.url(db),
    ASSISTANT_CODE_KEY: CODE_KEY,
    ASSISTANT_API_TOKENS_FILE: file,
    ...env
  }
  return [await fixture.start(settings), await fixture.start(settings)] as const
}

const chat = async (service: LiveService, message: string, sessionId: string) => {
  const response = await rawHttp(service.url, {
    method: "POST",
    target: "/v1/chat",
    headers: { Authorization: `Bearer ${token("olga")}` },
    body: JSON.stringify({ message, session_id: sessionId })
  })
  return { status: response.status, headers: response.headers, body: JSON.parse(response.body) }
}
const codeOf = (reply: string) => reply.match(/`confirm (\d{6})`/)?.[1] ?? ""

describe("two replicas on one Redis", () => {
  it("share one rate limit per principal: 429 with Retry-After once the deployment-wide budget is spent", {
    timeout: 90_000
  }, async () => {
    const [a, b] = await replicas(4, { ASSISTANT_API_RATE_LIMIT: "4" })
    // The budget is a one-minute window: start well inside one, so all the turns below share it.
    await wellInsideAMinute()
    const statuses: Array<number> = []
    for (let i = 0; i < 8; i++) statuses.push((await chat(i % 2 === 0 ? a : b, "hi", `rate-${i}`)).status)
    // Per replica, alternating 8 turns (4 each) would all pass: a shared budget refuses the last 4.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429])
    const limited = await chat(a, "hi", "rate-x")
    expect(limited.status).toBe(429)
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect((await a.sample("chat_rejected_total", { reason: "rate_limited" })) ?? 0).toBeGreaterThan(0)
    expect((await b.sample("chat_rejected_total", { reason: "rate_limited" })) ?? 0).toBeGreaterThan(0)
  })

  it("share the wrong-code throttle: wrong codes on one replica, no code and no change on the other", async () => {
    const [a, b] = await replicas(5, { CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "2" })
    const before = (await run(fixture.simulator().snapshot)).modes
    const asked = await chat(a, "switch to strict mode", "guess")
    const code = codeOf(asked.body.reply)
    const wrong = code === "000000" ? "000001" : "000000"
    await chat(a, `confirm ${wrong}`, "guess")
    const throttled = await chat(a, `confirm ${wrong}`, "guess")
    expect(throttled.body.reply).toMatch(/Too many wrong confirmation codes from olga/)
    const elsewhere = await chat(b, "switch to detect mode", "other")
    expect(elsewhere.body.reply).toMatch(/no code was issued/)
    expect((await run(fixture.simulator().snapshot)).modes).toEqual(before)
    expect(
      await b.sample("agent_guardrail_total", {
        decision: "deny",
        gate: "action_confirmation",
        reason: "code_throttled"
      })
    ).toBe(1)
  })

  it("a code issued on one replica confirms on the other, and Redis never holds a code or the key", async () => {
    const [a, b] = await replicas(6)
    const asked = await chat(a, "ban 203.0.113.61", "dump")
    const code = codeOf(asked.body.reply)
    expect(code).toMatch(/^\d{6}$/)
    const client = new Redis(redis.url(6))
    try {
      const dump: Array<string> = []
      for (const key of await client.keys("*")) {
        const type = await client.type(key)
        if (type === "string") dump.push(`${key}=${await client.get(key)}`)
        else if (type === "hash") dump.push(`${key}=${JSON.stringify(await client.hgetall(key))}`)
        else if (type === "zset") dump.push(`${key}=${JSON.stringify(await client.zrange(key, 0, -1))}`)
        else dump.push(key)
      }
      const text = dump.join("\n")
      expect(text).toContain("olga/dump")
      expect(text).not.toContain(code)
      expect(text).not.toContain(CODE_KEY)
      // The stored hash is keyed: the plain sha256 an offline brute force would try is not in it.
      expect(text).not.toContain(sha256(`dump\u0000${code}`))
    } finally {
      client.disconnect()
    }
    const confirmed = await chat(b, `confirm ${code}`, "dump")
    expect(confirmed.body.reply).toMatch(/blacklisted/)
  })
})

// Issue 15 through POST /v1/chat against the simulator: orders route to config_manager however
// they are phrased, assent without a code gets the pending change and the code format (never the
// code), WAF figures carry the data-source line and the API names the source, CVEs are answered
// from the CISA KEV catalog with our own evidence, time windows are honoured (or refused), and a
// report's figures match the simulator's own events.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { baseUrl, SIMULATOR_TOKEN, testServer } from "../support/app.js"

interface ChatBody {
  readonly session_id: string
  readonly route: string
  readonly reply: string
  readonly data_source: string
  readonly pending_action?: { readonly action: string; readonly summary: string; readonly expires_at: string }
}

const chat = (url: string, message: string, session: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, session_id: session })
    })
    expect(response.status).toBe(200)
    return (await response.json()) as ChatBody
  })

interface RawEvent {
  readonly ip: string
  readonly deny_count: number
  readonly pass_count: number
  readonly start_at: number
}

/** Every attack event the simulator holds, read from its own API page by page: the reference. */
const simulatorEvents = Effect.gen(function* () {
  const simulator = yield* SafeLineSimulator
  return yield* Effect.promise(async () => {
    const all: Array<RawEvent> = []
    for (let page = 1; ; page++) {
      const response = await fetch(`${simulator.url}/api/open/events?page=${page}&page_size=100`, {
        headers: { "X-SLCE-API-TOKEN": SIMULATOR_TOKEN }
      })
      const body = (await response.json()) as { data: { nodes: Array<RawEvent>; total: number } }
      all.push(...body.data.nodes)
      if (body.data.nodes.length === 0 || all.length >= body.data.total) return all
    }
  })
})

const attackIpsStat = Effect.gen(function* () {
  const simulator = yield* SafeLineSimulator
  return yield* Effect.promise(async () => {
    const end = Math.floor(Date.now() / 1000) + 60
    const response = await fetch(`${simulator.url}/api/stat/advance/attack?begin_time=1&end_time=${end}`, {
      headers: { "X-SLCE-API-TOKEN": SIMULATOR_TOKEN }
    })
    return ((await response.json()) as { data: { attack_ip: number } }).data.attack_ip
  })
})

const number = (text: string) => Number(text.replace(/,/g, ""))

const codeIn = (reply: string) => reply.match(/reply `confirm (\d{6})`/)?.[1]

describe("answers an operator can trust (POST /v1/chat, simulator)", () => {
  it.live("routes polite, typo'd and reasoned orders to config_manager, which asks for a code", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const orders = [
        "could you please blacklist 198.51.100.23, thanks",
        "switch to detect mode because the new release trips the sqli rule",
        "pls blok 203.0.113.9 its scanning us",
        "turn protection off for the maintenance window"
      ]
      for (const [i, order] of orders.entries()) {
        const answer = yield* chat(url, order, `orders-${i}`)
        expect(answer.route, order).toBe("config_manager")
        expect(answer.reply, order).toMatch(/reply `confirm \d{6}`/)
        expect(answer.pending_action, order).toBeDefined()
      }
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("meets assent without a code with the pending change, its expiry and the code format, never the code", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const asked = yield* chat(url, "ban 203.0.113.77", "assent")
      const code = codeIn(asked.reply)
      expect(code).toMatch(/^\d{6}$/)
      for (const assent of ["confirm", "yes, do it", "ok", "go ahead please", "confirm 12345", "Yes"]) {
        const answer = yield* chat(url, assent, "assent")
        expect(answer.route, assent).toBe("config_manager")
        expect(answer.reply, assent).toContain("A change is waiting for its confirmation code: blacklist 203.0.113.77")
        expect(answer.reply, assent).toMatch(/expires at \d{2}:\d{2}:\d{2} UTC/)
        expect(answer.reply, assent).toContain("6-digit code")
        expect(answer.reply, assent).not.toContain(code)
        expect(answer.reply, assent).not.toMatch(/\d{6}/)
        expect(answer.pending_action?.summary, assent).toContain("203.0.113.77")
      }
      const simulator = yield* SafeLineSimulator
      expect(JSON.stringify((yield* simulator.snapshot).ipGroups)).not.toContain("203.0.113.77")
      const cancelled = yield* chat(url, "cancel", "assent")
      expect(cancelled.reply).toMatch(/^Cancelled: blacklist 203\.0\.113\.77/)
      expect(cancelled.pending_action).toBeUndefined()
      // With nothing pending, "ok" is small talk again.
      expect((yield* chat(url, "ok", "assent")).route).toBe("direct")
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("says the figures come from the simulator, in the reply and in data_source", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const traffic = yield* chat(url, "what is my traffic?", "source")
      expect(traffic.route).toBe("monitor")
      expect(traffic.data_source).toBe("simulator")
      expect(traffic.reply).toMatch(
        /\n\nData source: the SafeLine simulator \(generated demo traffic, not a real WAF\)/
      )
      const attacks = yield* chat(url, "show me recent attacks", "source")
      expect(attacks.route).toBe("log_analyst")
      expect(attacks.reply).toContain("Data source: the SafeLine simulator")
      // No WAF figures, no line; the field is there all the same.
      const hello = yield* chat(url, "hello", "source")
      expect(hello.reply).not.toContain("Data source")
      expect(hello.data_source).toBe("simulator")
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("answers a CVE from the CISA KEV catalog and checks our own events for it", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const log4shell = yield* chat(url, "what is CVE-2021-44228 and are we seeing it?", "kev")
      expect(log4shell.route).toBe("threat_intel")
      for (const fact of [
        "Apache Log4j2 Remote Code Execution Vulnerability",
        "Apache Log4j2",
        "since 2021-12-10",
        "known ransomware use: Known",
        "CWE-20, CWE-400, CWE-502",
        "Required action:",
        "CISA KEV catalog 2025.08.25"
      ]) {
        expect(log4shell.reply).toContain(fact)
      }
      expect(log4shell.reply).toMatch(
        /Are we seeing CVE-2021-44228\? (Evidence|No evidence) in the newest [\d,]+ of the [\d,]+ detection records in the last 24 hours/
      )
      // The simulator's Log4Shell probe (a JNDI lookup) is the evidence: counted over the same newest records.
      const examined = number(log4shell.reply.match(/in the newest ([\d,]+) of the/)![1]!)
      const simulator = yield* SafeLineSimulator
      const records = yield* Effect.promise(async () => {
        const all: Array<{ payload: string }> = []
        for (let page = 1; all.length < examined; page++) {
          const response = await fetch(`${simulator.url}/api/open/records?page=${page}&page_size=100`, {
            headers: { "X-SLCE-API-TOKEN": SIMULATOR_TOKEN }
          })
          all.push(...((await response.json()) as { data: { data: Array<{ payload: string }> } }).data.data)
        }
        return all.slice(0, examined)
      })
      const jndi = records.filter((r) => r.payload.toLowerCase().includes("${jndi:")).length
      // Whether the newest records hold a probe depends on when the traffic was generated: the
      // answer must match the reference count either way.
      if (jndi > 0) {
        expect(log4shell.reply).toMatch(/Are we seeing CVE-2021-44228\? Evidence/)
        expect(log4shell.reply).toMatch(new RegExp(`\\b${jndi} records carry its indicators \\(\\$\\{jndi:\\)`))
      } else {
        // No indicator: either no evidence at all, or only the attack classes its CWEs map to.
        expect(log4shell.reply).toMatch(/\? No evidence in |No record carries its request indicators \(\$\{jndi:/)
        expect(log4shell.reply).not.toMatch(/records carry its indicators/)
      }
      expect(log4shell.reply).toContain("Data source: the SafeLine simulator")

      const unknown = yield* chat(url, "tell me about CVE-2099-12345", "kev")
      expect(unknown.route).toBe("threat_intel")
      expect(unknown.reply).toContain(
        "CVE-2099-12345 is not in the bundled CISA Known Exploited Vulnerabilities catalog (version 2025.08.25, released 2025-08-25)"
      )
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("honours the time window asked for, with every figure matching the simulator's events", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const answer = yield* chat(url, "what attacks did we see in the last hour?", "window")
      expect(answer.route).toBe("log_analyst")
      const events = yield* simulatorEvents
      // The frozen simulator's 30 minutes of history all fall in the last hour.
      const total = answer.reply.match(
        /has ([\d,]+) attack events in the last hour \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} – [\d -]*\d{2}:\d{2} UTC\)/
      )
      expect(total, answer.reply).not.toBeNull()
      expect(number(total![1]!)).toBe(events.length)
      const figures = answer.reply.match(
        /Of these ([\d,]+) events: ([\d,]+) attack requests blocked and ([\d,]+) passed, from ([\d,]+) distinct source IPs/
      )
      expect(figures, answer.reply).not.toBeNull()
      expect(number(figures![1]!)).toBe(events.length)
      expect(number(figures![2]!)).toBe(events.reduce((n, e) => n + e.deny_count, 0))
      expect(number(figures![3]!)).toBe(events.reduce((n, e) => n + e.pass_count, 0))
      expect(number(figures![4]!)).toBe(new Set(events.map((e) => e.ip)).size)

      const refused = yield* chat(url, "show attacks since last tuesday", "window")
      expect(refused.route).toBe("log_analyst")
      expect(refused.reply).toContain(`I can't answer for "since last tuesday"`)
      expect(refused.reply).toContain("I did not answer for another period instead")
      expect(refused.reply).not.toMatch(/attack events/)
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("monitor asks SafeLine's counters for the window named, says which, and refuses one it cannot read", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const hour = yield* chat(url, "what is my traffic in the last hour?", "monitor-window")
      expect(hour.route).toBe("monitor")
      expect(hour.reply).toMatch(
        /Attacks in the last hour \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} – [\d -]*\d{2}:\d{2} UTC\) \(SafeLine stats\): \d+ attacking IPs/
      )
      expect(hour.reply).not.toMatch(/last 24 h/)
      const plain = yield* chat(url, "what is my traffic?", "monitor-window")
      expect(plain.reply).toMatch(/Attacks in the last 24 h \(SafeLine stats\)/)
      const refused = yield* chat(url, "what was my traffic since last tuesday?", "monitor-window")
      expect(refused.reply).toContain(`I can't answer for "since last tuesday"`)
      expect(refused.reply).not.toMatch(/SafeLine stats/)
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )

  it.live("reports who passed, the session's actions, blocks by mode, and skips what is already done", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const simulator = yield* SafeLineSimulator
      const banned = simulator.attackerIps[0]!
      const ban = yield* chat(url, `ban ${banned}`, "report")
      yield* chat(url, `confirm ${codeIn(ban.reply)}`, "report")
      const detect = yield* chat(url, "switch to detect mode", "report")
      const switched = yield* chat(url, `confirm ${codeIn(detect.reply)}`, "report")
      expect(switched.reply).toMatch(/Protection mode is now detect/)
      yield* simulator.tick(24)

      const report = yield* chat(url, "write an incident report for the last hour", "report")
      expect(report.route).toBe("reporter")
      const text = report.reply
      const events = yield* simulatorEvents
      const figures = text.match(
        /Of these ([\d,]+) events: ([\d,]+) attack requests blocked, ([\d,]+) passed, from ([\d,]+) distinct source IPs/
      )
      expect(figures, text).not.toBeNull()
      expect(number(figures![1]!)).toBe(events.length)
      expect(number(figures![2]!)).toBe(events.reduce((n, e) => n + e.deny_count, 0))
      expect(number(figures![3]!)).toBe(events.reduce((n, e) => n + e.pass_count, 0))
      expect(number(figures![4]!)).toBe(new Set(events.map((e) => e.ip)).size)
      const attackIps = text.match(/([\d,]+) attacking IPs in the last hour \(.*\) \(SafeLine stats\)/)
      expect(attackIps, text).not.toBeNull()
      expect(number(attackIps![1]!)).toBe(yield* attackIpsStat)

      // Who passed: exactly the IPs of the events with passed requests.
      const passing = [...new Set(events.filter((e) => e.pass_count > 0).map((e) => e.ip))]
      expect(passing.length).toBeGreaterThan(0)
      const reached = text.match(/reached the application, from ([\d,]+) IPs: (.*)\. Review/)
      expect(reached, text).not.toBeNull()
      expect(number(reached![1]!)).toBe(passing.length)
      for (const ip of reached![2]!.split(", ").filter((s) => s !== "…")) {
        expect(passing).toContain(ip.replace(/ \(.*\)$/, ""))
      }

      // The session's actions, with time and principal; no recommendation to redo one.
      expect(text).toMatch(
        new RegExp(
          `- \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z anonymous: blacklisted ${banned.replace(/\./g, "\\.")}`
        )
      )
      expect(text).toMatch(
        /- \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z anonymous: switched protection from block to detect mode/
      )
      expect(text).not.toContain(`"ban ${banned}"`)
      // Blocks are attributed to the mode in force when each event started, and add up.
      const byMode = text.match(
        /blocked ([\d,]+) attack requests in these events, by the mode in force when each event started: (.*)\./
      )
      expect(byMode, text).not.toBeNull()
      const parts = [...byMode![2]!.matchAll(/([\d,]+) in (\w+) mode/g)]
      expect(parts.reduce((n, m) => n + number(m[1]!), 0)).toBe(number(byMode![1]!))
    }).pipe(Effect.provide(testServer({}, { frozenClock: true })))
  )
})

// GET /metrics as a scraper sees it: text 0.0.4 by default, OpenMetrics with trace exemplars when
// the Accept header asks for it (as Prometheus does with exemplar storage), and the WAF's protection
// mode read from SafeLine at start.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { readWafProtectionMode } from "../../src/observability/WafModePoller.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { baseUrl, testApp, testServer } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"

const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

const scrape = (url: string, accept?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/metrics`, accept === undefined ? {} : { headers: { accept } })
    return {
      contentType: response.headers.get("content-type"),
      vary: response.headers.get("vary"),
      body: await response.text()
    }
  })

describe("GET /metrics", () => {
  it.live("negotiates OpenMetrics with exemplars that name the chat's trace; text 0.0.4 stays the default", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const chat = yield* Effect.promise(() =>
        fetch(`${url}/v1/chat`, { method: "POST", body: JSON.stringify({ message: "what is my traffic?" }) }).then(
          (r) => r.json() as Promise<{ trace_id: string }>
        )
      )
      const plain = yield* scrape(url)
      expect(plain.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(plain.vary).toBe("Accept")
      expect(plain.body).not.toContain("# EOF")

      const om = yield* scrape(url, PROMETHEUS_ACCEPT)
      expect(om.contentType).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8")
      expect(om.body.endsWith("# EOF\n")).toBe(true)
      const turnBuckets = om.body.split("\n").filter((l) => /_agent_turn_latency_seconds_bucket\{/.test(l))
      const withExemplar = turnBuckets.find((l) => l.includes(" # {"))
      expect(withExemplar).toContain(`trace_id="${chat.trace_id}"`)
      const toolExemplar = om.body
        .split("\n")
        .find((l) => l.includes('tool="tool_get_traffic_stats"') && l.includes("_bucket{") && l.includes(" # {"))
      expect(toolExemplar).toContain(`trace_id="${chat.trace_id}"`)

      // The embedded simulator's protection mode was read at start: one mode per module is 1.
      const ns = plain.body.match(/^(\w+)_chat_requests_total /m)![1]!
      expect(sampleValue(plain.body, `${ns}_waf_protection_mode_reads_total`, { result: "ok" })).toBeGreaterThan(0)
      const on = plain.body.split("\n").filter((l) => l.startsWith(`${ns}_waf_protection_mode{`) && l.endsWith(" 1"))
      expect(on.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(testServer()))
  )
})

describe("the WAF protection-mode poller", () => {
  it.live("follows a mode change made on SafeLine: every module of the new mode reads 1, the old mode 0", () =>
    Effect.gen(function* () {
      const client = yield* SafeLineClient
      const before = yield* client.getMode
      const modules = Object.keys(before)
      expect(modules.length).toBeGreaterThan(0)
      yield* client.putMode(Object.fromEntries(modules.map((m) => [m, "disable"])))
      yield* readWafProtectionMode
      const { namespace } = yield* AgentMetrics
      const text = yield* Effect.flatMap(AgentMetrics, (m) => m.exposition)
      for (const module of modules) {
        expect(sampleValue(text, `${namespace}_waf_protection_mode`, { module, mode: "disable" }), module).toBe(1)
        expect(sampleValue(text, `${namespace}_waf_protection_mode`, { module, mode: "default" }), module).toBe(0)
      }
    }).pipe(Effect.provide(testApp({ WAF_MODE_POLL_INTERVAL_SECONDS: "0" })))
  )
})

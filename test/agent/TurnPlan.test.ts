import { describe, expect, it } from "@effect/vitest"
import { refersToEarlierTarget, targetFromEarlierStep } from "../../src/agent/EarlierStepTarget.js"
import type { StepResult } from "../../src/agent/GraphState.js"
import { splitClauses } from "../../src/agent/MessageClauses.js"
import { boundPlan, parseModelPlan } from "../../src/agent/TurnPlan.js"

describe("splitClauses (the rule-based planner's parts)", () => {
  it("splits the compound requests operators make", () => {
    expect(splitClauses("who attacked us most in the last hour? ban the worst one")).toEqual([
      "who attacked us most in the last hour?",
      "ban the worst one"
    ])
    expect(splitClauses("switch to detect mode and tell me what it would have blocked today")).toEqual([
      "switch to detect mode",
      "tell me what it would have blocked today"
    ])
    expect(splitClauses("write an incident report and blacklist the top source")).toEqual([
      "write an incident report",
      "blacklist the top source"
    ])
    expect(splitClauses("show me the traffic, then list recent attacks; after that explain CWE-89")).toEqual([
      "show me the traffic",
      "list recent attacks",
      "explain CWE-89"
    ])
  })

  it("keeps one request whole: noun lists, addresses, decimals, durations, single sentences", () => {
    for (const message of [
      "show me SQL injection and XSS attacks",
      "ban 203.0.113.7",
      "what is 203.0.113.7 doing? ",
      "block mode for 2.5 hours",
      "ban 2001:db8::1 because it scans us and probes /admin",
      "which CWE is sql injection",
      "legit requests to /api/search and /api/cart are being blocked",
      "restore the previous mode",
      "confirm 123456"
    ]) {
      expect(splitClauses(message), message).toEqual([message.trim()])
    }
  })

  it("drops parts without a word of their own and bounds hostile input", () => {
    expect(splitClauses("! ? show me the traffic")).toEqual(["! ? show me the traffic"])
    const many = Array.from({ length: 50 }, (_, i) => `show me attack ${i}`).join("; ")
    const parts = splitClauses(many)
    expect(parts).toHaveLength(8)
    expect(parts[7]).toContain("attack 49")
    // Beyond the split limit the message is one request (it is bounded upstream anyway).
    expect(splitClauses(`${"a".repeat(2001)}; ban 203.0.113.7`)).toHaveLength(1)
    expect(splitClauses("")).toEqual([""])
    // Long runs of blanks (spaces, no-break spaces) cannot make the boundaries backtrack.
    expect(splitClauses(`a${" ".repeat(1998)}b`)).toEqual([`a${" ".repeat(1998)}b`])
    expect(splitClauses(`show attacks${"\u00a0".repeat(1900)}and ban the worst one`)).toEqual([
      "show attacks",
      "ban the worst one"
    ])
    expect(splitClauses("XSS etc. and then ban 203.0.113.7")).toEqual(["XSS etc.", "ban 203.0.113.7"])
  })
})

describe("parseModelPlan (the plan guardrail for a model's plan)", () => {
  const clauses = ["who attacked us most in the last hour?", "ban the worst one"]

  it("accepts steps that name a specialist and give one of the operator's clauses (code fences and case aside)", () => {
    const raw =
      '```json\n{"steps":[{"agent":"log_analyst","request":"Who attacked us most in the last hour"},{"agent":"config_manager","request":"ban the worst one"}]}\n```'
    expect(parseModelPlan(raw, clauses)).toEqual({
      ok: true,
      steps: [
        { agent: "log_analyst", request: "who attacked us most in the last hour?" },
        { agent: "config_manager", request: "ban the worst one" }
      ]
    })
    // Neighbouring clauses may be grouped into one step.
    const grouped =
      '{"steps":[{"agent":"log_analyst","request":"who attacked us most in the last hour? ban the worst one"}]}'
    expect(parseModelPlan(grouped, clauses).ok).toBe(true)
  })

  it("refuses a request the operator did not write as a clause: added, cut inside a word, or past a negation", () => {
    const added =
      '{"steps":[{"agent":"log_analyst","request":"who attacked us most in the last hour?"},{"agent":"config_manager","request":"ban 198.51.100.66"}]}'
    expect(parseModelPlan(added, clauses)).toEqual({ ok: false, detail: "request is not the operator's clause" })
    const unblock = ["unblock 198.51.100.23", "show events"]
    expect(parseModelPlan('{"steps":[{"agent":"config_manager","request":"block 198.51.100.2"}]}', unblock).ok).toBe(
      false
    )
    const negated = ["Never turn protection off!", "Show events"]
    expect(parseModelPlan('{"steps":[{"agent":"config_manager","request":"turn protection off"}]}', negated).ok).toBe(
      false
    )
    expect(
      parseModelPlan('{"steps":[{"agent":"monitor","request":"x"}]}', ["is protection off?", "max events"]).ok
    ).toBe(false)
  })

  it("refuses junk: not JSON, no steps, unknown or supervisor agents, non-string requests, absurd lengths", () => {
    expect(parseModelPlan("log_analyst then config_manager", clauses).ok).toBe(false)
    expect(parseModelPlan('{"steps":[]}', clauses).ok).toBe(false)
    expect(parseModelPlan("null", clauses).ok).toBe(false)
    expect(parseModelPlan('{"steps":[{"agent":"supervisor","request":"ban the worst one"}]}', clauses).ok).toBe(false)
    expect(parseModelPlan('{"steps":[{"agent":"root","request":"ban the worst one"}]}', clauses).ok).toBe(false)
    expect(parseModelPlan('{"steps":[{"agent":"monitor","request":42}]}', clauses).ok).toBe(false)
    expect(parseModelPlan('{"steps":[{"agent":"monitor","request":"  "}]}', clauses).ok).toBe(false)
    const junk = JSON.stringify({
      steps: Array.from({ length: 33 }, () => ({ agent: "monitor", request: "ban the worst one" }))
    })
    expect(parseModelPlan(junk, clauses)).toEqual({ ok: false, detail: "33 steps" })
    // Longer than the hop budget is still a plan: boundPlan cuts it (and says so).
    const long = JSON.stringify({
      steps: Array.from({ length: 7 }, () => ({ agent: "monitor", request: "ban the worst one" }))
    })
    expect(parseModelPlan(long, clauses).ok).toBe(true)
  })
})

describe("boundPlan", () => {
  const isChange = (s: { agent: string; request: string }) =>
    s.agent === "config_manager" && /ban|switch/.test(s.request)

  it("runs the one change last, merges neighbours, and cuts at the hop budget", () => {
    const bounded = boundPlan(
      [
        { agent: "config_manager", request: "switch to detect mode" },
        { agent: "direct", request: "thanks" },
        { agent: "log_analyst", request: "show attacks" },
        { agent: "log_analyst", request: "from the last hour" },
        { agent: "monitor", request: "what is my traffic" },
        { agent: "reporter", request: "write a report" }
      ],
      3,
      isChange
    )
    expect(bounded.steps).toEqual([
      { agent: "log_analyst", request: "show attacks from the last hour" },
      { agent: "monitor", request: "what is my traffic" },
      { agent: "reporter", request: "write a report" }
    ])
    expect(bounded.overBudget).toEqual([{ agent: "config_manager", request: "switch to detect mode" }])
    expect(bounded.extraChanges).toEqual([])
  })

  it("runs no change when a message asks for several, and a config_manager step that only chats is a read", () => {
    const bounded = boundPlan(
      [
        { agent: "config_manager", request: "my boss likes the current mode" },
        { agent: "config_manager", request: "switch to detect mode" },
        { agent: "config_manager", request: "ban 203.0.113.7" }
      ],
      3,
      isChange
    )
    expect(bounded.steps).toEqual([{ agent: "config_manager", request: "my boss likes the current mode" }])
    expect(bounded.extraChanges.map((s) => s.request)).toEqual(["switch to detect mode", "ban 203.0.113.7"])
  })

  it("keeps a greeting alone when it is all there is", () => {
    expect(boundPlan([{ agent: "direct", request: "hi" }], 3, isChange).steps).toEqual([
      { agent: "direct", request: "hi" }
    ])
  })
})

describe("targetFromEarlierStep", () => {
  const step = (facts: StepResult["facts"]): StepResult => ({
    agent: "log_analyst",
    request: "who attacked us most in the last hour?",
    reply: "… 1. 203.0.113.45 …",
    failed: false,
    sources: [],
    facts
  })
  const found = step({ topSource: { ip: "203.0.113.45", description: "the top source in the last hour" } })

  it("replaces a reference with the earlier step's top source and says where it came from", () => {
    expect(targetFromEarlierStep("ban the worst one for 24 h", [found])).toEqual({
      request: "ban 203.0.113.45 for 24 h",
      ip: "203.0.113.45",
      provenance: "the top source in the last hour: 203.0.113.45"
    })
    expect(targetFromEarlierStep("blacklist the top source", [found])?.request).toBe("blacklist 203.0.113.45")
    expect(targetFromEarlierStep("block them", [found])?.request).toBe("block 203.0.113.45")
  })

  it("never overrides an address the operator wrote, and needs a structured fact", () => {
    expect(targetFromEarlierStep("ban 198.51.100.9, the worst one", [found])).toBeUndefined()
    expect(targetFromEarlierStep("ban the worst one", [step({})])).toBeUndefined()
    expect(targetFromEarlierStep("switch to detect mode", [found])).toBeUndefined()
    // Only a ban points back: an unban never takes the worst attacker as its target.
    expect(targetFromEarlierStep("unblock the top one", [found])).toBeUndefined()
    expect(targetFromEarlierStep("block them all", [found])).toBeUndefined()
    expect(refersToEarlierTarget("ban the worst one")).toBe(true)
    expect(refersToEarlierTarget("ban 203.0.113.7")).toBe(false)
    expect(refersToEarlierTarget("what is the worst one?")).toBe(false)
  })
})

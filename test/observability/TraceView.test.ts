import { appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { TraceEvent } from "../../src/observability/TraceEvent.js"
import { followTraceFile, loadTraceEvents, parseTraceLine, traceFilesOf } from "../../src/observability/TraceFiles.js"
import { describeEvent, groupTurns, renderTurns, renderTurnTree } from "../../src/observability/TraceView.js"
import { eventually } from "../support/eventually.js"
import { repoPath } from "../support/tools.js"

const FIXTURE = repoPath("test", "fixtures", "agent-traces.jsonl")
const fixtureLines = () => readFileSync(FIXTURE, "utf8").split("\n")
const fixtureEvents = () => fixtureLines().flatMap((line) => parseTraceLine(line) ?? [])
const turnOf = (traceId: string) => fixtureEvents().filter((e) => e.trace_id === traceId)

const event = (name: string, ms: number, metadata: Record<string, unknown>, span = "s1"): TraceEvent => ({
  ts: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, ms)).toISOString(),
  event: name,
  trace_id: "1234567890abcdef1234567890abcdef",
  span_id: span,
  session_id: "s",
  turn_id: "1",
  metadata
})

describe("renderTurnTree", () => {
  it("renders a turn as a tree: supervisor steps at the top, the specialist's work under its handoff", () => {
    expect(renderTurnTree(turnOf("4bf92f3577b34da6a3ce929d0e0e4736"))).toBe(
      [
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  session demo-1  turn 1  (1.24 s)",
        "├─ llm.call openai gpt-4o-mini 412 ms 512→3 tokens        +413 ms",
        "├─ guardrail.decision route_parse allow (allowed_token)   +414 ms",
        "├─ route.selected → monitor                               +415 ms",
        "├─ route.handoff supervisor → monitor                     +418 ms",
        "│  ├─ tool.call tool_get_traffic_stats ok 41 ms           +423 ms",
        "│  └─ llm.call openai gpt-4o-mini 768 ms 1840→212 tokens  +468 ms",
        "└─ turn.completed 1.24 s"
      ].join("\n")
    )
  })

  it("shows a failed tool with its duration and error, and a degraded turn in the header", () => {
    const tree = renderTurnTree(turnOf("0af7651916cd43dd8448eb211c80319c"))
    expect(tree.split("\n")).toEqual([
      "trace 0af7651916cd43dd8448eb211c80319c  session demo-1  turn 2  (2.02 s, degraded)",
      "├─ guardrail.decision route_parse allow (allowed_token)         +3 ms",
      "├─ route.selected → log_analyst                                 +4 ms",
      "├─ route.handoff supervisor → log_analyst                       +5 ms",
      "│  ├─ tool.call tool_get_attack_events error 2.00 s          +2009 ms",
      "│  │  └─ error: SafeLine API timed out after 2 s (GET /api/open/records)",
      "│  └─ guardrail.decision post_tool_result deny (tool_error)  +2012 ms",
      "└─ turn.completed 2.02 s degraded"
    ])
  })

  it("shows a Self-RAG retry in order under the rag agent, untouched by a turn interleaved with it", () => {
    const lines = renderTurnTree(turnOf("9e107d9d372bb6826bd81d3542a419d6")).split("\n")
    expect(lines[0]).toBe("trace 9e107d9d372bb6826bd81d3542a419d6  session demo-2  turn 1  (2.25 s)")
    expect(lines).toContain('├─ route.selected → rag_agent (raw "rag")                                   +3 ms')
    const nested = lines.filter((l) => l.startsWith("│  ")).map((l) => l.replace(/\s+\+\d+ ms$/, ""))
    expect(nested).toEqual([
      "│  ├─ tool.call tool_rag_search ok 18 ms",
      "│  ├─ llm.call openai gpt-4o-mini 604 ms 2310→198 tokens",
      "│  ├─ selfrag.decision attempt 1 RETRY (missing_citations) citations []",
      "│  ├─ tool.call tool_rag_search ok 21 ms",
      "│  ├─ llm.call openai gpt-4o-mini 550 ms 2480→231 tokens",
      "│  └─ selfrag.decision attempt 2 FINAL (grounded) citations [1,2]"
    ])
    expect(lines.at(-1)).toBe("└─ turn.completed 2.25 s")
    expect(lines.join("\n")).not.toContain("log_analyst")
  })

  it("keeps the supervisor's events at the top even after its handoff, the specialist's below it", () => {
    const tree = renderTurnTree([
      event("turn.started", 0, {}, "turn"),
      event("route.selected", 2, { selected_agent: "config_manager" }, "sup"),
      event("route.handoff", 3, { from_agent: "supervisor", to_agent: "config_manager" }, "sup"),
      event("guardrail.decision", 4, { gate: "route_parse", decision: "allow", reason: "allowed_token" }, "sup"),
      event(
        "guardrail.decision",
        6,
        { gate: "action_confirmation", decision: "challenge", reason: "confirmation_required" },
        "cm"
      ),
      event("turn.completed", 9, { duration_seconds: 0.009, status: "ok" }, "turn")
    ])
    expect(tree.split("\n").slice(1)).toEqual([
      "├─ route.selected → config_manager                                              +2 ms",
      "├─ route.handoff supervisor → config_manager                                    +3 ms",
      "│  └─ guardrail.decision action_confirmation challenge (confirmation_required)  +6 ms",
      "├─ guardrail.decision route_parse allow (allowed_token)                         +4 ms",
      "└─ turn.completed 9 ms"
    ])
  })

  it("puts an agent's events under a section of its own when no handoff names it", () => {
    const tree = renderTurnTree([
      event("turn.started", 0, {}),
      event("tool.call", 30, { agent: "direct", tool: "tool_cve_lookup", status: "ok", duration_seconds: 0.02 }, "t1")
    ])
    expect(tree.split("\n")).toEqual([
      "trace 1234567890abcdef1234567890abcdef  session s  turn 1  (in progress)",
      "└─ agent direct",
      "   └─ tool.call tool_cve_lookup ok 20 ms  +30 ms"
    ])
  })

  it("describes every documented event and unknown ones with their metadata", () => {
    expect(describeEvent(event("route.handoff", 0, { from_agent: "supervisor", to_agent: "tuner" }))).toBe(
      "route.handoff supervisor → tuner"
    )
    expect(
      describeEvent(
        event("guardrail.decision", 0, {
          gate: "action_confirmation",
          decision: "challenge",
          reason: "confirmation_required"
        })
      )
    ).toBe("guardrail.decision action_confirmation challenge (confirmation_required)")
    expect(describeEvent(event("turn.completed", 0, { duration_seconds: 0.5, status: "error", error: "boom" }))).toBe(
      "turn.completed 500 ms error"
    )
    expect(describeEvent(event("node.custom", 0, { count: 3, what: "x" }))).toBe("node.custom count=3 what=x")
  })
})

describe("parseTraceLine and groupTurns", () => {
  it("skips malformed lines and groups the rest by turn, in order of first appearance", () => {
    const lines = fixtureLines().filter((l) => l.trim() !== "")
    const malformed = lines.filter((l) => parseTraceLine(l) === undefined)
    expect(malformed).toHaveLength(2)
    const turns = groupTurns(fixtureEvents())
    expect(turns.map((t) => [t.traceId, t.sessionId, t.turnId, t.events.length])).toEqual([
      ["4bf92f3577b34da6a3ce929d0e0e4736", "demo-1", "1", 8],
      ["0af7651916cd43dd8448eb211c80319c", "demo-1", "2", 7],
      ["9e107d9d372bb6826bd81d3542a419d6", "demo-2", "1", 11]
    ])
    expect(parseTraceLine('{"ts":"x","event":"e"}')).toBeUndefined() // no trace_id
    expect(parseTraceLine("[1,2]")).toBeUndefined()
  })

  it("renders every turn of a file, latest last", () => {
    const headers = renderTurns(fixtureEvents())
      .split("\n")
      .filter((l) => l.startsWith("trace "))
    expect(headers.map((h) => h.split(" ")[1])).toEqual([
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "0af7651916cd43dd8448eb211c80319c",
      "9e107d9d372bb6826bd81d3542a419d6"
    ])
  })
})

describe("loadTraceEvents", () => {
  it("names the rotated files oldest first", () => {
    expect(traceFilesOf("t.jsonl", 3)).toEqual(["t.jsonl.2", "t.jsonl.1", "t.jsonl"])
    expect(traceFilesOf("t.jsonl", 1)).toEqual(["t.jsonl"])
  })

  it.live("reads the rotated files oldest first, skipping missing ones and malformed lines", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "trace-view-"))
      const path = join(dir, "agent-traces.jsonl")
      const [turn1, turn2, turn3] = groupTurns(fixtureEvents())
      const jsonl = (events: ReadonlyArray<TraceEvent>) => events.map((e) => JSON.stringify(e)).join("\n") + "\n"
      writeFileSync(`${path}.3`, jsonl(turn1!.events))
      writeFileSync(`${path}.1`, `${jsonl(turn2!.events)}{"cut off`)
      writeFileSync(path, jsonl(turn3!.events))
      const log = yield* loadTraceEvents(traceFilesOf(path, 5))
      expect(log.files).toEqual([`${path}.3`, `${path}.1`, path])
      expect(log.malformed).toBe(1)
      expect(groupTurns(log.events).map((t) => t.traceId)).toEqual([turn1!.traceId, turn2!.traceId, turn3!.traceId])
      expect(log.latest.map((t) => t.traceId)).toEqual([turn1!.traceId, turn2!.traceId, turn3!.traceId])

      const only = yield* loadTraceEvents(traceFilesOf(path, 5), (e) => e.trace_id === turn2!.traceId)
      expect(only.events).toHaveLength(turn2!.events.length)
      expect(only.latest).toHaveLength(3)

      const none = yield* loadTraceEvents([join(dir, "missing.jsonl")])
      expect(none).toMatchObject({ events: [], files: [], malformed: 0 })
    })
  )
})

describe("followTraceFile", () => {
  it.live("prints each turn when it completes, through rotation and truncation", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "trace-follow-"))
      const path = join(dir, "agent-traces.jsonl")
      const [turn1, turn2, turn3] = groupTurns(fixtureEvents()).map((t) => t.events.map((e) => JSON.stringify(e)))
      // History before following starts is not printed; a turn already running is, once complete.
      writeFileSync(path, `${turn2!.join("\n")}\n${turn1!.slice(0, 3).join("\n")}\n`)
      const printed: Array<string> = []
      const follower = yield* Effect.fork(
        followTraceFile(path, (events) => Effect.sync(() => printed.push(events[0]!.trace_id)))
      )
      const waitFor = (count: number) =>
        Effect.promise(() =>
          eventually(() => expect(printed).toHaveLength(count), { what: `${count} turns printed`, timeoutMs: 4000 })
        )
      yield* Effect.sleep("300 millis")
      expect(printed).toEqual([])
      appendFileSync(path, `${turn1!.slice(3, 5).join("\n")}\n`)
      yield* Effect.sleep("300 millis")
      expect(printed).toEqual([]) // not completed yet
      appendFileSync(path, `${turn1!.slice(5).join("\n")}\n`)
      yield* waitFor(1)

      renameSync(path, `${path}.1`) // rotation, as the JSONL writer does it
      writeFileSync(path, `${turn3!.join("\n")}\n`)
      yield* waitFor(2)

      writeFileSync(path, "") // truncation
      yield* Effect.sleep("300 millis")
      appendFileSync(path, `${turn2!.join("\n")}\n`)
      yield* waitFor(3)
      yield* Fiber.interrupt(follower)
      expect(printed).toEqual([
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "9e107d9d372bb6826bd81d3542a419d6",
        "0af7651916cd43dd8448eb211c80319c"
      ])
    })
  )
})

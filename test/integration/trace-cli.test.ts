// `security-agent trace` as a user runs it: the built CLI on the recorded fixture, on the
// configured file with its rotations, and `--follow` on a file another process appends to.
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { runCli, type Started, startProcess } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

const FIXTURE = "test/fixtures/agent-traces.jsonl"
const fixtureLinesOf = (traceId: string) =>
  readFileSync(repoPath(FIXTURE), "utf8")
    .split("\n")
    .filter((line) => line.includes(`"trace_id":"${traceId}"`))

describe("security-agent trace", () => {
  const started: Array<Started> = []
  afterAll(async () => {
    for (const s of started) await s.stop("SIGKILL")
  })

  it("prints one turn's tree by trace id from --file", async () => {
    const result = await runCli(["trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--file", FIXTURE])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(
      [
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  session demo-1  turn 1  (1.24 s)",
        "├─ llm.call openai gpt-4o-mini 412 ms 512→3 tokens        +413 ms",
        "├─ guardrail.decision route_parse allow (allowed_token)   +414 ms",
        "├─ route.selected → monitor                               +415 ms",
        "├─ route.handoff supervisor → monitor                     +418 ms",
        "│  ├─ tool.call tool_get_traffic_stats ok 41 ms           +423 ms",
        "│  └─ llm.call openai gpt-4o-mini 768 ms 1840→212 tokens  +468 ms",
        "└─ turn.completed 1.24 s",
        ""
      ].join("\n")
    )
    expect(result.stderr).toContain("skipped 2 malformed line(s)")
  })

  it("accepts the first characters of an id, and says which traces exist when it matches none", async () => {
    const prefix = await runCli(["trace", "0af76519", "--file", FIXTURE])
    expect(prefix.code).toBe(0)
    expect(prefix.stdout).toContain(
      "trace 0af7651916cd43dd8448eb211c80319c  session demo-1  turn 2  (2.02 s, degraded)"
    )
    expect(prefix.stdout).toContain("error: SafeLine API timed out after 2 s")

    const missing = await runCli(["trace", "ffffffffffffffffffffffffffffffff", "--file", FIXTURE])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`No trace ffffffffffffffffffffffffffffffff in ${FIXTURE}`)
    for (const id of [
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "0af7651916cd43dd8448eb211c80319c",
      "9e107d9d372bb6826bd81d3542a419d6"
    ]) {
      expect(missing.stderr).toContain(id)
    }
    expect(missing.stderr).not.toMatch(/\n\s+at /)
  })

  it("renders every turn of a file given instead of an id, latest last", async () => {
    const result = await runCli(["trace", FIXTURE])
    expect(result.code).toBe(0)
    const headers = result.stdout.split("\n").filter((l) => l.startsWith("trace "))
    expect(headers.map((h) => h.split(" ")[1])).toEqual([
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "0af7651916cd43dd8448eb211c80319c",
      "9e107d9d372bb6826bd81d3542a419d6"
    ])
    expect(result.stdout).toContain("│  └─ selfrag.decision attempt 2 FINAL (grounded) citations [1,2]")
  })

  it("finds a turn in a rotated file of AGENT_TRACE_JSONL_PATH", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trace-cli-"))
    const path = join(dir, "agent-traces.jsonl")
    writeFileSync(`${path}.2`, `${fixtureLinesOf("9e107d9d372bb6826bd81d3542a419d6").join("\n")}\n`)
    writeFileSync(path, `${fixtureLinesOf("4bf92f3577b34da6a3ce929d0e0e4736").join("\n")}\n`)
    const env = { AGENT_TRACE_JSONL_PATH: path, AGENT_TRACE_MAX_FILES: "3" }
    const result = await runCli(["trace", "9e107d9d372bb6826bd81d3542a419d6"], env)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("trace 9e107d9d372bb6826bd81d3542a419d6  session demo-2  turn 1  (2.25 s)")
    const list = await runCli(["trace"], env)
    expect(list.stdout).toMatch(/9e107d9d372bb6826bd81d3542a419d6[^\n]*\n[^\n]*4bf92f3577b34da6a3ce929d0e0e4736/)
  })

  it("refuses an argument that is neither a file nor a trace id", async () => {
    const result = await runCli(["trace", "not-a-trace.jsonl"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("neither a file nor a trace id")
  })

  it("--follow prints each new turn as it completes, until interrupted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trace-follow-"))
    const path = join(dir, "agent-traces.jsonl")
    copyFileSync(repoPath(FIXTURE), path) // history: not printed again
    const follower = await startProcess(
      process.execPath,
      [repoPath("bin", "security-agent.js"), "trace", "--follow", "--file", path],
      { ready: /Following/, timeoutMs: 20_000 }
    )
    started.push(follower)
    const waitFor = (pattern: RegExp) =>
      eventually(() => expect(follower.output()).toMatch(pattern), {
        what: `${pattern} in the output`,
        timeoutMs: 5000
      })
    const turn = fixtureLinesOf("0af7651916cd43dd8448eb211c80319c").map((line) =>
      line
        .replaceAll("0af7651916cd43dd8448eb211c80319c", "11111111111111111111111111111111")
        .replace('"turn_id":"2"', '"turn_id":"7"')
    )
    appendFileSync(path, `${turn.slice(0, 4).join("\n")}\n`)
    await new Promise((r) => setTimeout(r, 500))
    expect(follower.output()).not.toContain("11111111111111111111111111111111")
    appendFileSync(path, `${turn.slice(4).join("\n")}\n`)
    await waitFor(/trace 11111111111111111111111111111111 {2}session demo-1 {2}turn 7 {2}\(2\.02 s, degraded\)/)
    expect(follower.output()).toContain("│  ├─ tool.call tool_get_attack_events error 2.00 s")
    expect(follower.output()).not.toContain("trace 4bf92f3577b34da6a3ce929d0e0e4736")
    expect(await follower.stop("SIGINT")).toBe(0)
  })
})

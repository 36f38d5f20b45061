import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoPath } from "../support/tools.js"

/** Runs `security-agent chat`, feeding one line after each reply (piped stdin, no TTY). */
const chat = (lines: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), "chat-cli-"))
    const child = spawn(process.execPath, [repoPath("bin", "security-agent.js"), "chat"], {
      cwd: repoPath(),
      env: {
        ...process.env,
        AGENT_TRACE_JSONL_PATH: join(dir, "t.jsonl"),
        GUARDRAIL_AUDIT_PATH: join(dir, "a.jsonl"),
        ...env
      }
    })
    let stdout = ""
    let stderr = ""
    let sent = 0
    const sendNext = () => {
      if (sent < lines.length) child.stdin.write(`${lines[sent++]}\n`)
      else child.stdin.end()
    }
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      // The banner, a reply's "(session … trace …)" footer or a command's output: send the next line.
      const answered = (
        stdout.match(/\(session \S+ · turn \d+ · trace [0-9a-f]{32}\)|security-agent chat —|└─|No turn yet/g) ?? []
      ).length
      while (sent < answered && sent < lines.length) sendNext()
      if (answered > lines.length - 1 && sent === lines.length) child.stdin.end()
    })
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`chat did not finish:\n${stdout}\n${stderr}`))
    }, 60_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("security-agent chat (piped stdin)", () => {
  it("answers on the Turn code path, shows the route and trace id, and /trace prints the turn's tree", async () => {
    const result = await chat(["what is my traffic?", "/trace", "show me recent attacks", "/exit"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\[monitor\] Current traffic: [\d.,]+ requests\/s/)
    expect(result.stdout).toMatch(/\(session \S+ · turn 1 · trace [0-9a-f]{32}\)/)
    expect(result.stdout).toMatch(/\[log_analyst\]/)
    expect(result.stdout).toMatch(/turn 2 · trace/)
    const traceId = result.stdout.match(/turn 1 · trace ([0-9a-f]{32})/)![1]
    expect(result.stdout).toContain(`trace ${traceId}`)
    expect(result.stdout).toMatch(/tool\.call tool_get_traffic_stats ok/)
  })
})

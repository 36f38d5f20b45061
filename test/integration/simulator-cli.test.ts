// `security-agent simulator --port P --token T` from the built CLI: one ready line, the API with
// its token check over plain HTTP, real-looking events for curl, and a clean stop.
import { execFileSync } from "node:child_process"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, runCli, type Started, startProcess } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

describe("security-agent simulator", () => {
  const started: Array<Started> = []
  afterAll(async () => {
    for (const s of started) await s.stop()
  })

  it("serves the SafeLine API on 127.0.0.1 and answers curl with real-looking events", async () => {
    const port = await freePort()
    const token = "cli-test-token"
    const simulator = await startProcess(
      process.execPath,
      [repoPath("bin", "security-agent.js"), "simulator", "--port", String(port), "--token", token],
      { ready: /listening on http:\/\/127\.0\.0\.1:\d+/ }
    )
    started.push(simulator)
    expect(simulator.output()).toContain(
      `SafeLine simulator (stand-in, not a real WAF) listening on http://127.0.0.1:${port}`
    )
    expect(simulator.output()).not.toContain(token)

    const body = execFileSync("curl", ["-s", "-H", `X-SLCE-API-TOKEN: ${token}`, `127.0.0.1:${port}/api/open/events`], {
      encoding: "utf8"
    })
    const events = JSON.parse(body)
    expect(events.err).toBeNull()
    expect(events.data.total).toBeGreaterThan(0)
    const event = events.data.nodes[0]
    expect(event.ip).toMatch(/^[0-9a-f.:]+$/)
    expect(event.host).toMatch(/\.example\.com$/)
    expect(event.country).toMatch(/^[A-Z]{2}$/)
    expect(event.deny_count + event.pass_count).toBeGreaterThan(0)

    const health = await fetch(`http://127.0.0.1:${port}/api/open/health`)
    expect(await health.json()).toEqual({ status: "ok" })
    const rejected = await fetch(`http://127.0.0.1:${port}/api/open/events`, { headers: { "X-SLCE-API-TOKEN": "bad" } })
    expect(rejected.status).toBe(401)
    expect(await rejected.json()).toEqual({ data: null, err: "login-required", msg: "Login required" })

    expect(await simulator.stop("SIGTERM")).toBe(0)
  })

  it("prints a generated token when none is given", async () => {
    const port = await freePort()
    const simulator = await startProcess(
      process.execPath,
      [repoPath("bin", "security-agent.js"), "simulator", "--port", String(port)],
      { ready: /Generated API token: [0-9a-f]{32}/, env: { SAFELINE_API_TOKEN: "" } }
    )
    started.push(simulator)
    const token = simulator.output().match(/Generated API token: ([0-9a-f]{32})/)![1]!
    const ok = await fetch(`http://127.0.0.1:${port}/api/open/system`, { headers: { "X-SLCE-API-TOKEN": token } })
    expect(((await ok.json()) as { data: { version: string } }).data.version).toMatch(/-simulator$/)
    await simulator.stop()
  })

  it("refuses a port in use with a one-line reason and exit code 1", async () => {
    const port = await freePort()
    const first = await startProcess(
      process.execPath,
      [repoPath("bin", "security-agent.js"), "simulator", "--port", String(port), "--token", "t"],
      { ready: /listening on/ }
    )
    started.push(first)
    const second = await runCli(["simulator", "--port", String(port), "--token", "t"])
    expect(second.code).toBe(1)
    expect(second.stderr).toContain("choose another --port")
    expect(second.stderr).not.toMatch(/\n\s+at /)
    await first.stop()
  })
})

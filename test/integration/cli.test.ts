import { readFileSync, statSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, runCli, type Started, startProcess } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

describe("the security-agent command", () => {
  const started: Array<Started> = []
  afterAll(async () => {
    for (const s of started) await s.stop()
  })

  it("is an executable with a shebang, declared as the package's bin", () => {
    const bin = repoPath("bin", "security-agent.js")
    expect(statSync(bin).mode & 0o111).toBe(0o111)
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
    const pkg = JSON.parse(readFileSync(repoPath("package.json"), "utf8"))
    expect(pkg.bin["security-agent"]).toBe("bin/security-agent.js")
    // `exec`: Debian's sh would otherwise stand between npm and node and swallow SIGTERM.
    expect(pkg.scripts.start).toBe("exec node dist/main.js serve")
  })

  it("serve starts the API and answers /healthz and /metrics", async () => {
    const port = await freePort()
    const server = await startProcess(process.execPath, [repoPath("bin", "security-agent.js"), "serve"], {
      env: { ASSISTANT_API_PORT: String(port), AGENT_TRACE_JSONL_PATH: "/tmp/sa-cli-test/traces.jsonl" },
      ready: /Listening on/
    })
    started.push(server)
    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    expect(health.status).toBe(200)
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(await metrics.text()).toContain('security_agent_agent_route_total{selected_agent="monitor"} 0')
    expect(await server.stop("SIGTERM")).toBe(0)
  })

  it("refuses a malformed setting with a message naming the variable, not a stack trace", async () => {
    const result = await runCli(["serve"], { ASSISTANT_API_PORT: "abc" })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("ASSISTANT_API_PORT")
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it("prints help for the command and its subcommands", async () => {
    const result = await runCli(["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("serve")
  })
})

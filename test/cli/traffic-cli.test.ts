// `security-agent traffic` through the real entry point (src/main.ts, as bin/security-agent.js
// runs it once built): registered, exit codes, the refusal on stderr without a stack trace, and
// a small run against a local server started here.
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { describe, expect, it } from "vitest"
import { repoPath } from "../support/tools.js"

const runMain = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", repoPath("src", "main.ts"), ...args], {
      cwd: repoPath(),
      env: { ...process.env, LOG_LEVEL: "info" }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c) => (stdout += c))
    child.stderr.on("data", (c) => (stderr += c))
    child.once("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("security-agent traffic (the CLI)", () => {
  it("refuses a public target with exit 1 and one sentence, and runs against a local site", async () => {
    let hits = 0
    const server = createServer((_req, res) => {
      hits++
      res.writeHead(403).end()
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const [refused, ran] = await Promise.all([
        runMain(["traffic", "--target", "http://[::ffff:8.8.8.8]/", "--count", "5"]),
        runMain(["traffic", "--target", `http://localhost:${port}`, "--count", "4", "--rate", "20"])
      ])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("security-agent: --target ::ffff:808:808 is 8.8.8.8 (unicast)")
      expect(refused.stderr).toContain("--i-own-this-target")
      expect(refused.stderr).not.toMatch(/\n\s+at /)

      expect(ran.code).toBe(0)
      expect(hits).toBe(4)
      expect(ran.stderr).toMatch(/message="traffic run starting".*target=http:\/\/localhost:\d+\//)
      expect(ran.stderr).toContain("by_status=403:4")
      expect(ran.stdout).toContain("Sent 4 requests to http://localhost:")
    } finally {
      server.close()
    }
  }, 90_000)
})

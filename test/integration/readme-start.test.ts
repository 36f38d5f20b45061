import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type Started, startProcess } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("the README's two commands, on a fresh clone", () => {
  const dir = mkdtempSync(join(tmpdir(), "fresh-clone-"))
  let server: Started | undefined
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("`npm ci && npm start`, then the README's curl answers with real numbers from the simulator", async () => {
    // The README's curl targets the default port.
    expect(await portIsFree(8081), "port 8081 must be free for the README's exact command").toBe(true)
    execFileSync("git", ["clone", "--quiet", "--no-hardlinks", repoPath(), dir])
    execFileSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir, stdio: "ignore" })
    server = await startProcess("npm", ["start"], {
      cwd: dir,
      ready: /Listening on http:\/\/127\.0\.0\.1:8081/,
      timeoutMs: 120_000
    })
    expect(server.output()).toMatch(/embedded SafeLine simulator/)
    const reply = execFileSync("curl", ["-s", "localhost:8081/v1/chat", "-d", '{"message":"what is my traffic?"}'], {
      encoding: "utf8"
    })
    const body = JSON.parse(reply)
    expect(body.route).toBe("monitor")
    expect(body.turn_id).toBe("1")
    expect(body.reply).toMatch(/Current traffic: \d[\d.,]* requests\/s/)
    expect(body.reply).toMatch(/[1-9][\d,]* requests from [1-9][\d,]* IPs/)
    // SIGTERM to npm must reach the server: nothing may be left listening (no orphaned server).
    await server.stop("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(await portIsFree(8081), "the server outlived npm start").toBe(true)
  }, 300_000)
})

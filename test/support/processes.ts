// Starting the real CLI and other servers as child processes on 127.0.0.1, and always
// stopping them, whatever the test did.
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { repoPath } from "./tools.js"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

export interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Spawns a command and resolves once a line of its output matches `ready`. */
export const startProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number; cwd?: string }
): Promise<Started> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoPath(),
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let output = ""
    let settled = false
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
    const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      child.kill("SIGKILL")
      reject(new Error(`${command} ${args.join(" ")} not ready after ${options.timeoutMs ?? 30_000} ms:\n${output}`))
    }, options.timeoutMs ?? 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (!settled && options.ready.test(output)) {
        settled = true
        clearTimeout(timer)
        resolve({ child, output: () => output, stop })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`))
    })
  })

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [repoPath("bin", "security-agent.js"), ...args], {
      cwd: repoPath(),
      env: { ...process.env, ...env }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c) => (stdout += c))
    child.stderr.on("data", (c) => (stderr += c))
    child.once("exit", (code) => resolve({ code, stdout, stderr }))
  })

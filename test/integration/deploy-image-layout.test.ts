// The image without Docker: the runtime stage's files (production node_modules from
// `npm ci --omit=dev`, dist, data, bin, manifests) in a temp dir, started the way the image's
// ENTRYPOINT does with the image's ENV, its paths mapped into temp dirs. Nothing may be written
// outside /tmp and the data volume, as with a read-only root filesystem.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { envOf, execForm, last, parseDockerfile, runtimeTopLevelPaths, volumesOf } from "../deploy/DockerfileStages.js"
import { eventually } from "../support/eventually.js"
import { freePort } from "../support/processes.js"
import { repoPath } from "../support/tools.js"

const stages = parseDockerfile()
const runtime = stages.at(-1)!
const workdir = last(runtime, "WORKDIR")!.args
const volumes = volumesOf(runtime)

/** Resolves once `url` answers at all; rejects when the process exits or after `timeoutMs`. */
const waitForHttp = async (url: string, timeoutMs: number, child: ChildProcess, output: () => string) => {
  await eventually(
    async () => {
      if (child.exitCode === null) await fetch(url)
    },
    { what: `${url} to answer`, timeoutMs }
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${output()}`)
  })
  if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output()}`)
}

/** Every file and directory under `dir`, relative, sorted. */
const listing = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      out.push(relative(dir, path) + (entry.isDirectory() ? "/" : ""))
      if (entry.isDirectory()) walk(path)
    }
  }
  walk(dir)
  return out.sort()
}

describe("the image's runtime layout, started without Docker", () => {
  const root = mkdtempSync(join(tmpdir(), "sa-image-"))
  const app = join(root, "app")
  const tmp = join(root, "tmp")
  const volumeDirs = new Map(volumes.map((v, i) => [v, join(root, `volume-${i}`)]))
  /** An image path as seen by this test. */
  const hostPath = (path: string) => {
    if (path === workdir || path.startsWith(`${workdir}/`)) return app + path.slice(workdir.length)
    if (path === "/tmp" || path.startsWith("/tmp/")) return tmp + path.slice("/tmp".length)
    for (const [volume, dir] of volumeDirs) if (path.startsWith(`${volume}/`)) return dir + path.slice(volume.length)
    return path
  }
  let before: Array<string> = []

  beforeAll(() => {
    mkdirSync(app)
    mkdirSync(tmp)
    for (const dir of volumeDirs.values()) mkdirSync(dir)
    for (const path of runtimeTopLevelPaths(stages)) {
      if (path === "node_modules") continue
      expect(existsSync(repoPath(path)), `${path} exists (dist is built by the integration globalSetup)`).toBe(true)
      cpSync(repoPath(path), join(app, path), {
        recursive: true,
        filter: (source) => !relative(repoPath(), source).startsWith(join("data", "logs"))
      })
    }
    const install = spawnSync(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
      { cwd: app, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } }
    )
    expect(install.status, install.stderr).toBe(0)
    expect(existsSync(join(app, "node_modules", "typescript")), "no devDependencies").toBe(false)
    before = listing(app)
  }, 180_000)

  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it("holds every file `node dist/main.js serve` needs: it starts, is ready, answers a chat, writes only to /tmp and the volume", async () => {
    const port = await freePort()
    const token = randomBytes(16).toString("hex")
    const imageEnv = Object.fromEntries([...envOf(runtime)].map(([k, v]) => [k, hostPath(v)]))
    for (const name of ["AGENT_TRACE_JSONL_PATH", "GUARDRAIL_AUDIT_PATH", "GUARDRAIL_AUDIT_CHANGES_PATH"]) {
      expect(imageEnv[name], `${name} is mapped into a writable temp dir`).not.toBe(envOf(runtime).get(name))
    }
    const [command, ...args] = [...execForm(last(runtime, "ENTRYPOINT")!.args), ...execForm(last(runtime, "CMD")!.args)]
    expect(command).toBe("node")
    // Only what the container would have: no developer .env, keys or settings leak in.
    const child = spawn(process.execPath, args, {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: tmp,
        TMPDIR: tmp,
        ...imageEnv,
        ASSISTANT_API_PORT: String(port),
        ASSISTANT_API_TOKEN: token
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      const base = `http://127.0.0.1:${port}`
      await waitForHttp(`${base}/healthz`, 60_000, child, () => output)
      expect((await fetch(`${base}/healthz`)).status).toBe(200)
      const ready = await fetch(`${base}/readyz`)
      expect(ready.status, await ready.clone().text()).toBe(200)
      const metrics = await fetch(`${base}/metrics`)
      expect(metrics.status).toBe(200)
      const exposition = await metrics.text()
      expect(exposition).toContain(`${imageEnv.AGENT_METRICS_NAMESPACE ?? "security_agent"}_chat_requests_total`)
      expect((await fetch(`${base}/v1/chat`, { method: "POST", body: '{"message":"hi"}' })).status).toBe(401)
      const chat = await fetch(`${base}/v1/chat`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ message: "what is my traffic?" })
      })
      expect(chat.status, await chat.clone().text()).toBe(200)
    } finally {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      const code = await exited
      clearTimeout(timer)
      expect(code, output).toBe(0)
    }
    expect(listing(app)).toEqual(before)
    const trace = imageEnv.AGENT_TRACE_JSONL_PATH!
    expect(existsSync(trace), `${trace} written`).toBe(true)
    expect(readFileSync(trace, "utf8")).toContain('"event":"turn.completed"')
  })
})

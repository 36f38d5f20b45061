// The API is served from its contract, and the contract holds: /openapi.json passes two
// independent validators, and schemathesis (every check, generated and negative cases) finds no
// failure against the live server — once with a token configured and sent, once without one.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, type Started, startProcess } from "../support/processes.js"
import { repoPath, requireTool } from "../support/tools.js"

const TOKEN = "schemathesis-token-0123456789abcdefghij"
const started: Array<Started> = []
afterAll(async () => {
  for (const server of started) await server.stop()
})

const serve = async (env: Record<string, string>) => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "sa-openapi-"))
  const server = await startProcess(process.execPath, [repoPath("bin", "security-agent.js"), "serve"], {
    env: {
      ASSISTANT_API_PORT: String(port),
      // Schemathesis sends hundreds of turns a minute: the limit would answer 429, correctly but uselessly.
      ASSISTANT_API_RATE_LIMIT: "0",
      AGENT_TRACE_JSONL_PATH: join(dir, "traces.jsonl"),
      GUARDRAIL_AUDIT_PATH: join(dir, "guardrails.jsonl"),
      GUARDRAIL_AUDIT_CHANGES_PATH: join(dir, "waf-changes.jsonl"),
      ...env
    },
    ready: /Listening on/
  })
  started.push(server)
  return { url: `http://127.0.0.1:${port}`, dir }
}

const run = (command: string, args: ReadonlyArray<string>) => {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 240_000 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

const checkContract = async (url: string, dir: string, headers: ReadonlyArray<string>) => {
  const document = await fetch(`${url}/openapi.json`).then((r) => r.text())
  const path = join(dir, "openapi.json")
  writeFileSync(path, document)
  const python = run(requireTool("openapi-spec-validator"), [path])
  expect(python.status, python.output).toBe(0)
  const node = run(process.execPath, [repoPath("node_modules", ".bin", "validate-api"), path])
  expect(node.status, node.output).toBe(0)
  expect(JSON.parse(node.output).valid).toBe(true)
  const fuzz = run(requireTool("schemathesis"), [
    "run",
    `${url}/openapi.json`,
    "--checks",
    "all",
    "--max-examples",
    "25",
    "--seed",
    "20261130",
    "--no-color",
    ...headers.flatMap((h) => ["-H", h])
  ])
  expect(fuzz.status, fuzz.output.slice(-4000)).toBe(0)
  expect(fuzz.output).toMatch(/\d+ generated, \d+ passed/)
  return JSON.parse(document)
}

describe("the OpenAPI contract against the live server", () => {
  it("without a token: valid, security declared optional, and schemathesis finds nothing", async () => {
    const { url, dir } = await serve({})
    const document = await checkContract(url, dir, [])
    expect(document.paths["/v1/chat"].post.security).toEqual([{ bearer: [] }, {}])
    expect(document.info.version).toBe(JSON.parse(readFileSync(repoPath("package.json"), "utf8")).version)
  })

  it("with a token configured and sent: valid, security required, and schemathesis finds nothing", async () => {
    const { url, dir } = await serve({ ASSISTANT_API_TOKEN: TOKEN })
    const document = await checkContract(url, dir, [`Authorization: Bearer ${TOKEN}`])
    expect(document.paths["/v1/chat"].post.security).toEqual([{ bearer: [] }])
    expect(document.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" })
  })
})

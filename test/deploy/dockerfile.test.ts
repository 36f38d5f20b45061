import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { repoPath } from "../support/tools.js"
import {
  copiesOf,
  DOCKERIGNORE,
  envOf,
  execForm,
  last,
  parseDockerfile,
  runtimeTopLevelPaths,
  volumesOf
} from "./DockerfileStages.js"

const stages = parseDockerfile()
const runtime = stages.at(-1)!
const pkg = JSON.parse(readFileSync(repoPath("package.json"), "utf8")) as { files: Array<string>; main: string }

/** Whether the build context (after the dockerignore) still holds `path`. */
const inContext = (path: string) => {
  let included = true
  for (const raw of readFileSync(DOCKERIGNORE, "utf8").split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const negated = line.startsWith("!")
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, "")
    const matches =
      pattern === "*" ||
      path === pattern ||
      path.startsWith(`${pattern}/`) ||
      (pattern.startsWith("**/") && path.endsWith(pattern.slice(3).replace("*", "")))
    if (matches) included = negated
  }
  return included
}

describe("deploy/Dockerfile", () => {
  it("is multi-stage: npm ci and tsc in a build stage, production dependencies in another, a slim Node 24 runtime", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const stage of stages) expect(stage.image).toMatch(/^node:24[.\w-]*slim/)
    const build = stages.find((s) => s.instructions.some((i) => i.op === "RUN" && /\btsc\b/.test(i.args)))
    expect(build, "a stage runs tsc").toBeDefined()
    expect(build!.instructions.some((i) => i.op === "RUN" && /npm ci\b/.test(i.args))).toBe(true)
    const deps = stages.find((s) => s.instructions.some((i) => i.op === "RUN" && /npm ci .*--omit=dev/.test(i.args)))
    expect(deps, "a stage installs production dependencies only").toBeDefined()
    expect(copiesOf(runtime).some((c) => c.from === build!.name && c.sources.some((s) => s.endsWith("dist")))).toBe(
      true
    )
    expect(
      copiesOf(runtime).some((c) => c.from === deps!.name && c.sources.some((s) => s.endsWith("node_modules")))
    ).toBe(true)
  })

  it("copies every top-level path the runtime needs: package.json `files`, the manifests, node_modules", () => {
    const copied = runtimeTopLevelPaths(stages)
    for (const path of [...pkg.files, "dist", "data", "bin", "package.json", "package-lock.json", "node_modules"]) {
      expect(copied, `runtime stage copies ${path}`).toContain(path)
    }
    expect(pkg.main.startsWith("dist/")).toBe(true)
  })

  it("leaves no runtime file behind in src/: tsc emits only .js, so prompts and data must be TypeScript or live in data/", () => {
    const copiedFromSrc = copiesOf(runtime)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources)
      .filter((s) => s.startsWith("src/"))
    const nonTypeScript = readdirSync(repoPath("src"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith(".ts"))
      .map((e) => relative(repoPath(), join(e.parentPath, e.name)))
      .filter((path) => !copiedFromSrc.some((s) => path.startsWith(s.replace(/\/?$/, "/")) || path === s))
    expect(nonTypeScript, "copy these in deploy/Dockerfile's runtime stage, or move them to data/").toEqual([])
  })

  it("has every build-context path it copies in the context (the dockerignore is an allow-list)", () => {
    const fromContext = stages.flatMap((s) =>
      copiesOf(s)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources)
    )
    expect(fromContext.length).toBeGreaterThan(0)
    for (const source of fromContext) expect(inContext(source.replace(/^\.\//, "")), source).toBe(true)
    for (const secret of [".env", ".git", "node_modules", "dist", ".cache", "data/logs"]) {
      expect(inContext(secret), `${secret} stays out of the context`).toBe(false)
    }
  })

  it("runs `node dist/main.js serve` as a numeric non-root user, on 0.0.0.0, with a /healthz HEALTHCHECK", () => {
    const user = last(runtime, "USER")!.args
    expect(user).toMatch(/^\d+(:\d+)?$/)
    expect(Number(user.split(":")[0])).toBeGreaterThan(0)
    const entry = [...execForm(last(runtime, "ENTRYPOINT")!.args), ...execForm(last(runtime, "CMD")!.args)]
    expect(entry).toEqual(["node", "dist/main.js", "serve"])
    expect(envOf(runtime).get("ASSISTANT_API_HOST")).toBe("0.0.0.0")
    const healthcheck = last(runtime, "HEALTHCHECK")!.args
    expect(healthcheck).toContain("/healthz")
    expect(healthcheck).toContain("ASSISTANT_API_PORT")
    expect(last(runtime, "EXPOSE")!.args).toBe(envOf(runtime).get("ASSISTANT_API_PORT"))
  })

  it("puts the trace and audit logs under a volume or /tmp, the only writable paths with a read-only root", () => {
    const env = envOf(runtime)
    const writable = [...volumesOf(runtime), "/tmp"]
    for (const name of ["AGENT_TRACE_JSONL_PATH", "GUARDRAIL_AUDIT_PATH", "GUARDRAIL_AUDIT_CHANGES_PATH"]) {
      const path = env.get(name)
      expect(path, name).toBeDefined()
      expect(
        writable.some((dir) => path!.startsWith(`${dir}/`)),
        `${name}=${path} under ${writable.join(", ")}`
      ).toBe(true)
    }
  })
})

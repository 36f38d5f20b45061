import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { repoPath, requireTool } from "../support/tools.js"

/** Shell scripts under deploy/ (by extension or shebang), plus the CI entry point. */
const scripts = (() => {
  const found: Array<string> = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".sh") || /^#!.*\b(bash|sh)\b/.test(readFileSync(path, "utf8").split("\n")[0]!)) {
        found.push(path)
      }
    }
  }
  walk(repoPath("deploy"))
  return [...found.sort(), repoPath(".ci", "run")]
})()
const name = (path: string) => relative(repoPath(), path)
/** Sourced libraries (`# shellcheck shell=bash`, no shebang) are not run on their own. */
const isLibrary = (path: string) => !readFileSync(path, "utf8").startsWith("#!")

describe("deploy scripts", () => {
  it("include the kind demo scripts", () => {
    expect(scripts.map(name)).toEqual(
      expect.arrayContaining(
        ["cluster-up.sh", "build-load-image.sh", "deploy.sh", "status.sh", "cluster-down.sh"].map(
          (s) => `deploy/kind/${s}`
        )
      )
    )
  })

  it.each(scripts.map((s) => [name(s), s]))("%s passes `bash -n`", (_, path) => {
    const result = spawnSync("bash", ["-n", path], { encoding: "utf8" })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  it("pass shellcheck (deploy/.shellcheckrc lets it follow `source common.sh`)", () => {
    const result = spawnSync(requireTool("shellcheck"), ["--format=gcc", ...scripts], {
      encoding: "utf8",
      cwd: repoPath()
    })
    expect(result.stdout + result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  it.each(scripts.filter((s) => !isLibrary(s)).map((s) => [name(s), s]))(
    "%s is executable, runs under bash and stops on the first error",
    (_, path) => {
      const text = readFileSync(path, "utf8")
      expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true)
      expect(statSync(path).mode & 0o111).not.toBe(0)
      // .ci/run counts failures itself, so it only sets -uo pipefail.
      expect(text).toMatch(name(path) === ".ci/run" ? /^set -uo pipefail$/m : /^set -euo pipefail$/m)
    }
  )

  it("render-prometheus-rule.sh reproduces the committed deploy/k8s/observability/prometheus-rule.yaml", () => {
    const out = join(mkdtempSync(join(tmpdir(), "sa-render-")), "prometheus-rule.yaml")
    const result = spawnSync(repoPath("deploy", "k8s", "observability", "render-prometheus-rule.sh"), [], {
      encoding: "utf8",
      env: { ...process.env, PROMETHEUS_RULE_OUT: out, RUNBOOK_BASE_URL: "" }
    })
    expect(result.status, result.stderr).toBe(0)
    expect(readFileSync(out, "utf8")).toBe(
      readFileSync(repoPath("deploy", "k8s", "observability", "prometheus-rule.yaml"), "utf8")
    )
  })
})

// Locating the real external tools the integration tests drive (installed by .ci/run).
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"

const REPO = join(import.meta.dirname, "..", "..")
export const repoPath = (...parts: Array<string>) => join(REPO, ...parts)

/** The path of a tool on PATH or in the git-ignored Go tool cache; throws with the install hint. */
export const requireTool = (name: string): string => {
  const cached = repoPath(".cache", "bin", name)
  if (existsSync(cached)) return cached
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" })
  if (found.status === 0 && found.stdout.trim() !== "") return found.stdout.trim()
  throw new Error(`${name} is not installed: run .ci/run (or see README "Development") to install it`)
}

export const runTool = (tool: string, args: ReadonlyArray<string>, input?: string) => {
  const result = spawnSync(requireTool(tool), args, { input, encoding: "utf8" })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    output: `${result.stdout}${result.stderr}`
  }
}

export const execTool = (tool: string, args: ReadonlyArray<string>) =>
  execFileSync(requireTool(tool), args, { encoding: "utf8" })

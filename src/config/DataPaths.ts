// Where the bundled data lives: relative paths resolve against the working directory when it
// has them, else against the installed package (so `npx security-agent` works from anywhere).
import { existsSync } from "node:fs"
import { isAbsolute, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** The package root: two levels up from this module, in src/ (tsx, vitest) and dist/ alike. */
export const packageRoot = fileURLToPath(new URL("../..", import.meta.url))

export const resolveDataPath = (path: string): string => {
  if (isAbsolute(path)) return path
  const fromCwd = resolve(path)
  return existsSync(fromCwd) ? fromCwd : join(packageRoot, path)
}

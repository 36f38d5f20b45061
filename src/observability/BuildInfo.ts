// What is running: the package version (package.json), the source revision the image was built
// from (BUILD_REVISION, baked in by deploy/Dockerfile) and the Node.js version, for
// `security_agent_build_info` — join on it to tell versions apart during a rollout.
import { readFileSync } from "node:fs"

export interface BuildInfo {
  readonly version: string
  readonly revision: string
  readonly nodeVersion: string
}

/** The version field of the package.json two levels up (src/observability or dist/observability). */
const packageVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown
    }
    return typeof pkg.version === "string" ? pkg.version : "unknown"
  } catch {
    // A build info without a version is still worth exporting; the metric says "unknown".
    return "unknown"
  }
}

export const readBuildInfo = (revision: string): BuildInfo => ({
  version: packageVersion(),
  revision: revision === "" ? "unknown" : revision,
  nodeVersion: process.version
})

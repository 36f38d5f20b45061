// Integration tests drive the compiled CLI (bin/security-agent.js → dist/): build it once first.
import { execFileSync } from "node:child_process"
import { join } from "node:path"

export default function setup() {
  execFileSync(process.execPath, [join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    stdio: "inherit"
  })
}

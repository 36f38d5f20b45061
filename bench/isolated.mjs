// Runs one benchmark function in a fresh Node process (its own heap, nothing else loaded), so
// what it measures is not coloured by the other benchmarks' apps in the runner's heap. The child
// is bench/isolatedChild.mjs; a benchmark module may itself call runIsolated (no import cycle).
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const child = fileURLToPath(new URL("isolatedChild.mjs", import.meta.url))

export const runIsolated = (module, name, options) =>
  new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ["--expose-gc", child, module, name, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    process_.stdout.on("data", (chunk) => {
      out += chunk
    })
    process_.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (code !== 0 || line === undefined) reject(new Error(`${module} ${name} exited with ${code}: ${out}`))
      else resolve(JSON.parse(line.slice("RESULT ".length)))
    })
  })

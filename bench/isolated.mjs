// Runs one benchmark function in a fresh Node process (its own heap, nothing else loaded), so
// what it measures is not coloured by the other benchmarks' apps in the runner's heap.
// `node --expose-gc bench/isolated.mjs <module> <export> <json options>` prints the outcome as JSON.
import { spawn } from "node:child_process"
import { fileURLToPath, pathToFileURL } from "node:url"

const self = fileURLToPath(import.meta.url)

export const runIsolated = (module, name, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", self, module, name, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (code !== 0 || line === undefined) reject(new Error(`${module} ${name} exited with ${code}: ${out}`))
      else resolve(JSON.parse(line.slice("RESULT ".length)))
    })
  })

if (process.argv[1] === self) {
  const [module, name, options] = process.argv.slice(2)
  const loaded = await import(pathToFileURL(fileURLToPath(new URL(module, import.meta.url))).href)
  const outcome = await loaded[name](JSON.parse(options))
  console.log(`RESULT ${JSON.stringify(outcome)}`)
}

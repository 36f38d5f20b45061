// The child of runIsolated (bench/isolated.mjs):
// `node --expose-gc bench/isolatedChild.mjs <module> <export> <json options>` runs the export with
// the options and prints its outcome as one `RESULT <json>` line.
import { fileURLToPath, pathToFileURL } from "node:url"

const [module, name, options] = process.argv.slice(2)
const loaded = await import(pathToFileURL(fileURLToPath(new URL(module, import.meta.url))).href)
const outcome = await loaded[name](JSON.parse(options))
console.log(`RESULT ${JSON.stringify(outcome)}`)

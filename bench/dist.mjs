// Where the compiled service is: `dist/` (what `npm run bench` builds), or BENCH_DIST for a
// build elsewhere (e.g. a baseline kept beside the working tree to measure before and after).
import { resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const REPO = fileURLToPath(new URL("..", import.meta.url))
export const DIST = process.env.BENCH_DIST === undefined ? resolve(REPO, "dist") : resolve(process.env.BENCH_DIST)

/** Imports a module of the compiled service, e.g. `await fromDist("agent/Turn.js")`. */
export const fromDist = (path) => import(pathToFileURL(resolve(DIST, path)).href)

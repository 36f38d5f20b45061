// Preloaded into the server by the API benchmark (NODE_OPTIONS=--require): on SIGUSR2 it runs
// a full GC and prints the process memory, so live heap can be told apart from V8's slack.
process.on("SIGUSR2", () => {
  if (typeof global.gc === "function") global.gc()
  process.stderr.write(`MEMORY ${JSON.stringify(process.memoryUsage())}\n`)
})

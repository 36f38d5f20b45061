// What the benchmarks ran on, recorded beside the figures: cores, CPU model, memory, Node.
import { execFileSync } from "node:child_process"
import os from "node:os"

const nproc = () => {
  try {
    return Number(execFileSync("nproc", { encoding: "utf8" }).trim())
  } catch {
    return os.availableParallelism()
  }
}

export const describeMachine = () => ({
  nproc: nproc(),
  cpu_model: os.cpus()[0]?.model ?? "unknown",
  memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`
})

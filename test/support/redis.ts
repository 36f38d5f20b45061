// A throw-away redis-server for integration tests: on a free 127.0.0.1 port, nothing persisted,
// stoppable and restartable on the same port (to test an outage and the recovery after it).
import { mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually } from "./eventually.js"
import { freePort, type Started, startProcess } from "./processes.js"
import { requireTool } from "./tools.js"

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>/<db>`: give each test its own db so their keys never meet. */
  readonly url: (db?: number) => string
  /** Stops the server (SIGTERM, then SIGKILL after 10 s). */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port, empty, and waits until it answers PING. */
  readonly start: () => Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  readonly pause: () => void
  /** Thaws it (SIGCONT). */
  readonly resume: () => void
  /** Stops it for good and removes its scratch directory (afterAll). */
  readonly dispose: () => Promise<void>
}

/** Whether `PING` on the port gets `+PONG` (within a second). */
const pong = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    let reply = ""
    socket.setTimeout(1000, () => socket.destroy())
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      reply += chunk.toString()
      if (reply.includes("\r\n")) socket.end()
    })
    socket.once("close", () => resolve(reply.startsWith("+PONG")))
    socket.once("error", () => resolve(false))
  })

/** Resolves once `PING` on the port gets `+PONG`; rejects after `timeoutMs`. */
export const waitForPong = async (port: number, timeoutMs = 10_000): Promise<void> => {
  await eventually(() => pong(port), { what: `redis-server on port ${port} to answer PING`, timeoutMs, intervalMs: 50 })
}

export const startRedis = async (): Promise<RedisServer> => {
  const binary = requireTool("redis-server")
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "sa-redis-"))
  let running: Started | undefined

  const start = async () => {
    if (running !== undefined) return
    running = await startProcess(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { ready: /Ready to accept connections/, cwd: dir, timeoutMs: 15_000 }
    )
    await waitForPong(port)
  }

  const stop = async () => {
    const stopping = running
    running = undefined
    stopping?.child.kill("SIGCONT")
    await stopping?.stop("SIGTERM")
  }

  await start()
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    start,
    stop,
    pause: () => {
      running?.child.kill("SIGSTOP")
    },
    resume: () => {
      running?.child.kill("SIGCONT")
    },
    dispose: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

// A throw-away three-node Redis Cluster on 127.0.0.1 for tests: three `redis-server
// --cluster-enabled yes` processes joined by `redis-cli --cluster create`, nothing persisted.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { eventually } from "../support/eventually.js"
import { freePort, type Started, startProcess } from "../support/processes.js"
import { waitForPong } from "../support/redis.js"
import { requireTool, runTool } from "../support/tools.js"

export interface RedisCluster {
  readonly ports: ReadonlyArray<number>
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` */
  readonly url: string
  /** Empties every node (between tests: a cluster has one database). */
  readonly flush: () => Promise<void>
  readonly dispose: () => Promise<void>
}

const clusterState = async (port: number) => {
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 })
  try {
    await client.connect()
    return String(await client.call("CLUSTER", "INFO"))
  } catch {
    return ""
  } finally {
    client.disconnect()
  }
}

export const startRedisCluster = async (): Promise<RedisCluster> => {
  const binary = requireTool("redis-server")
  requireTool("redis-cli")
  const dir = mkdtempSync(join(tmpdir(), "sa-redis-cluster-"))
  const ports = [await freePort(), await freePort(), await freePort()]
  const nodes: Array<Started> = []
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.stop("SIGTERM")))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      nodes.push(
        await startProcess(
          binary,
          [
            "--port",
            String(port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            join(dir, `nodes-${port}.conf`),
            "--cluster-node-timeout",
            "2000",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir
          ],
          { ready: /Ready to accept connections/, cwd: dir, timeoutMs: 15_000 }
        )
      )
      await waitForPong(port)
    }
    const created = runTool("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes"
    ])
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.output}`)
    for (const port of ports) {
      await eventually(async () => (await clusterState(port)).includes("cluster_state:ok"), {
        what: `cluster node ${port} to report cluster_state:ok`,
        timeoutMs: 15_000,
        intervalMs: 100
      })
    }
  } catch (error) {
    await dispose()
    throw error
  }
  return {
    ports,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    flush: async () => {
      for (const port of ports) {
        const client = new Redis({ host: "127.0.0.1", port })
        await client.flushall()
        client.disconnect()
      }
    },
    dispose
  }
}

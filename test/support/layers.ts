// The test composition root: in-memory trace sink and audit log over real metrics, under a
// fresh metric namespace per call so tests never see each other's series.
import { randomBytes } from "node:crypto"
import { Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { AuditLog } from "../../src/observability/AuditLog.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { TraceSink } from "../../src/observability/TraceSink.js"

export const uniqueNamespace = (prefix = "t") => `${prefix}_${randomBytes(4).toString("hex")}`

/** Settings for tests: a unique namespace and no files unless the test asks for them. */
export const testEnv = (env: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  AGENT_METRICS_NAMESPACE: uniqueNamespace(),
  ...env
})

export const testConfig = (env: Readonly<Record<string, string>> = {}) => AppConfig.layerWith(testEnv(env))

/** Telemetry over the in-memory sink and audit log (inspect them via MemoryTraceEvents / MemoryAuditRecords). */
export const testObservability = (env: Readonly<Record<string, string>> = {}) =>
  Telemetry.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(TraceSink.memory, AuditLog.memory)),
    Layer.provideMerge(AgentMetrics.layer),
    Layer.provideMerge(testConfig(env))
  )

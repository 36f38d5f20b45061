// Test settings and observability: the app's in-memory trace sink and audit log over real
// metrics, under a fresh metric namespace per call so tests never see each other's series.
import { randomBytes } from "node:crypto"
import { Layer } from "effect"
import { MemorySinks, observabilityLayer } from "../../src/app/ObservabilityLayer.js"
import { AppConfig } from "../../src/config/AppConfig.js"

export const uniqueNamespace = (prefix = "t") => `${prefix}_${randomBytes(4).toString("hex")}`

/** Settings for tests: a unique namespace and no files unless the test asks for them. */
export const testEnv = (env: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  AGENT_METRICS_NAMESPACE: uniqueNamespace(),
  ...env
})

export const testConfig = (env: Readonly<Record<string, string>> = {}) => AppConfig.layerWith(testEnv(env))

/** Telemetry over the in-memory sink and audit log (inspect them via MemoryTraceEvents / MemoryAuditRecords). */
export const testObservability = (env: Readonly<Record<string, string>> = {}) =>
  observabilityLayer(MemorySinks).pipe(Layer.provideMerge(testConfig(env)))

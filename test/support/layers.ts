// Test settings and observability: the app's in-memory trace sink and audit log over real
// metrics, under a fresh metric namespace per call so tests never see each other's series.
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer } from "effect"
import { MemorySinks, observabilityLayer } from "../../src/app/ObservabilityLayer.js"
import { AppConfig } from "../../src/config/AppConfig.js"

export const uniqueNamespace = (prefix = "t") => `${prefix}_${randomBytes(4).toString("hex")}`

/** Settings for tests: a unique namespace and no files unless the test asks for them. */
export const testEnv = (env: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  AGENT_METRICS_NAMESPACE: uniqueNamespace(),
  // Scheduled reverts are kept beside the change audit: a test app's own directory, so one test's
  // timed change is never loaded (and run) by a later test's app.
  GUARDRAIL_AUDIT_CHANGES_PATH: join(tmpdir(), `sa-test-${randomBytes(6).toString("hex")}`, "waf-changes.jsonl"),
  ...env
})

export const testConfig = (env: Readonly<Record<string, string>> = {}) => AppConfig.layerWith(testEnv(env))

/** Telemetry over the in-memory sink and audit log (inspect them via MemoryTraceEvents / MemoryAuditRecords). */
export const testObservability = (env: Readonly<Record<string, string>> = {}) =>
  observabilityLayer(MemorySinks).pipe(Layer.provideMerge(testConfig(env)))

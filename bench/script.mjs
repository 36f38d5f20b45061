// The scripted conversation the benchmarks replay, and the single-kind messages of the per-turn
// CPU benchmark.

/** One conversation touching every kind of specialist, a guardrail challenge and its cancel. */
export const SCRIPT = [
  "what is my traffic?",
  "show me recent attacks",
  "what is SQL injection?",
  "how do I configure rate limiting in SafeLine?",
  "which IPs should I worry about?",
  "hi",
  "switch to detect mode",
  "cancel",
  "generate an incident report",
  "what is the protection mode?"
]

/** A monitor turn: four SafeLine reads (QPS, attack and access counters, the protection mode). */
export const MONITOR_MESSAGE = "what is my traffic?"

/** A documentation turn: retrieval over the bundled knowledge base, no SafeLine read. */
export const DOCUMENTATION_MESSAGE = "how do I configure rate limiting in SafeLine?"

/** A direct turn (a greeting): the supervisor and the direct node, no tool, no retrieval; what every turn costs at least. */
export const DIRECT_MESSAGE = "hi"

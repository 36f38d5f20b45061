// The agents of the team: the supervisor and the specialists it may hand a turn to. Their names
// are label values, span names and the API's `route`: a public contract (CONTRACT.md).

export const AGENTS = [
  "supervisor",
  "monitor",
  "log_analyst",
  "config_manager",
  "threat_intel",
  "tuner",
  "reporter",
  "rag_agent",
  "direct"
] as const

export type AgentName = (typeof AGENTS)[number]

/** The agents the supervisor may hand a turn to. */
export const SPECIALISTS = AGENTS.filter((a): a is Exclude<AgentName, "supervisor"> => a !== "supervisor")

export type SpecialistName = Exclude<AgentName, "supervisor">

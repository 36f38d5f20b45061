// The tools the specialists call, under their contract names, and which agent calls which:
// these pairs start at 0 in the metrics so rates exist before the first call.
import type { AgentName } from "./Agents.js"

export const TOOLS = [
  "tool_get_traffic_stats",
  "tool_get_attack_events",
  "tool_get_system_info",
  "tool_get_protection_mode",
  "tool_set_protection_mode",
  "tool_manage_ip_blacklist",
  "tool_cve_lookup",
  "tool_rag_search"
] as const

export type ToolName = (typeof TOOLS)[number]

/** Which agent calls which tool: these pairs start at 0 so rates exist before the first call. */
export const TOOLS_BY_AGENT: Readonly<Record<AgentName, ReadonlyArray<ToolName>>> = {
  supervisor: [],
  monitor: ["tool_get_traffic_stats", "tool_get_system_info", "tool_get_protection_mode"],
  log_analyst: ["tool_get_attack_events"],
  config_manager: ["tool_get_protection_mode", "tool_set_protection_mode", "tool_manage_ip_blacklist"],
  threat_intel: ["tool_get_attack_events", "tool_cve_lookup"],
  tuner: ["tool_get_attack_events", "tool_rag_search"],
  reporter: ["tool_get_attack_events", "tool_get_traffic_stats", "tool_get_protection_mode", "tool_cve_lookup"],
  rag_agent: ["tool_rag_search"],
  direct: []
}

export const TOOL_STATUSES = ["ok", "error"] as const

export type ToolStatus = (typeof TOOL_STATUSES)[number]

// The LangGraph.js graph of one turn: supervisor → specialist, and back to the supervisor while
// its plan has steps left (at most AGENT_MAX_HOPS) → end; each node says where the turn goes
// next. Compiled once when the layer is built; each node is an instrumented Effect run on the
// turn's runtime.
import { END, START, StateGraph } from "@langchain/langgraph"
import { Context, Effect, Layer, type Runtime } from "effect"
import type { AppConfig } from "../config/AppConfig.js"
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"
import type { AuditLog } from "../observability/AuditLog.js"
import type { Telemetry } from "../observability/Telemetry.js"
import type { Reasoner } from "../reasoning/Reasoner.js"
import type { RagSearchTool } from "../tools/RagSearchTool.js"
import type { SafeLineTools } from "../tools/SafeLineTools.js"
import type { ConfirmationGuard } from "./ConfirmationGuard.js"
import { GraphState, type GraphTurn, type TurnState, type TurnUpdate } from "./GraphState.js"
import { installLightRunContext } from "./LightRunContext.js"
import { toGraphNode } from "./NodeRunner.js"
import { configManagerNode } from "./nodes/ConfigManager.js"
import { directNode } from "./nodes/Direct.js"
import { logAnalystNode } from "./nodes/LogAnalyst.js"
import { monitorNode } from "./nodes/Monitor.js"
import { ragAgentNode } from "./nodes/RagAgent.js"
import { reporterNode } from "./nodes/Reporter.js"
import { supervisorNode } from "./nodes/Supervisor.js"
import { threatIntelNode } from "./nodes/ThreatIntel.js"
import { tunerNode } from "./nodes/Tuner.js"

/** Everything a node may use: the runtime handed to the graph must provide all of it. */
export type NodeDeps = AppConfig | Telemetry | AuditLog | Reasoner | SafeLineTools | RagSearchTool | ConfirmationGuard

const specialistNodes = {
  monitor: monitorNode,
  log_analyst: logAnalystNode,
  config_manager: configManagerNode,
  threat_intel: threatIntelNode,
  tuner: tunerNode,
  reporter: reporterNode,
  rag_agent: ragAgentNode,
  direct: directNode
} satisfies Record<SpecialistName, unknown>

/**
 * A specialist as one step of the plan: its reply, sources and structured facts become the
 * step's result, and the step counter moves on.
 */
const asStep =
  <R>(agent: SpecialistName, node: (state: TurnState) => Effect.Effect<TurnUpdate, never, R>) =>
  (state: TurnState): Effect.Effect<TurnUpdate, never, R> =>
    Effect.map(node(state), (update) => ({
      ...update,
      facts: {},
      step: state.step + 1,
      results: [
        ...state.results,
        {
          agent,
          request: state.message,
          reply: update.reply ?? "",
          failed: update.failed ?? false,
          sources: update.sources ?? [],
          facts: update.facts ?? {}
        }
      ]
    }))

/** After a step: back to the supervisor while the plan has steps left (a change is always the last). */
const afterStep = (state: TurnState): "supervisor" | typeof END => (state.step < state.plan.length ? "supervisor" : END)

const compile = () => {
  // The builder's node-name generics cannot follow a loop; the names are typed by SPECIALISTS.
  // Each node names where the turn goes next (`ends` lists where it may): no step to run (every
  // part refused by the plan's guardrail) ends the turn at the supervisor with its reply.
  let graph: any = new StateGraph(GraphState).addNode(
    "supervisor",
    toGraphNode<NodeDeps>(supervisorNode, (state) => state.next ?? END),
    { ends: [...SPECIALISTS, END] }
  )
  for (const name of SPECIALISTS) {
    const node = specialistNodes[name] as (state: TurnState) => Effect.Effect<TurnUpdate, never, NodeDeps>
    graph = graph.addNode(name, toGraphNode<NodeDeps>(asStep(name, node), afterStep), { ends: ["supervisor", END] })
  }
  return graph.addEdge(START, "supervisor").compile() as {
    invoke: (input: GraphTurn, config: object) => Promise<GraphTurn>
  }
}

export interface GraphService {
  readonly nodes: ReadonlyArray<string>
  readonly invoke: (input: TurnState, runtime: Runtime.Runtime<NodeDeps>, signal: AbortSignal) => Promise<TurnState>
}

export class Graph extends Context.Tag("security-agent/Graph")<Graph, GraphService>() {
  static readonly layer = Layer.effect(
    Graph,
    Effect.sync(() => {
      installLightRunContext()
      const compiled = compile()
      return {
        nodes: ["supervisor", ...SPECIALISTS],
        invoke: (input, runtime, signal) =>
          compiled.invoke({ turn: input }, { configurable: { runtime }, signal }).then((out) => out.turn)
      }
    })
  )
}

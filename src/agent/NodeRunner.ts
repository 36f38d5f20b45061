// Graph nodes are Effects: this runs one inside LangGraph with the turn's captured runtime, in
// its `invoke_agent <node>` span, counts the run on success, failure and interruption, and
// turns a typed failure into a clear reply instead of a crashed turn.
import { Command, type LangGraphRunnableConfig } from "@langchain/langgraph"
import { ATTR_ERROR_TYPE, ERROR_TYPE_VALUE_OTHER } from "@opentelemetry/semantic-conventions/incubating"
import { Cause, Effect, Exit, Runtime } from "effect"
import type { AgentName } from "../domain/Agents.js"
import { withAgentSpan } from "../observability/Correlation.js"
import { Telemetry } from "../observability/Telemetry.js"
import { applyUpdate, type GraphTurn, type TurnState, type TurnUpdate } from "./GraphState.js"

/** What a node can fail with: every expected failure carries a user-readable message. */
export interface NodeFailure {
  readonly _tag: string
  readonly message: string
  readonly errorType?: string
}

const failureReply = (agent: AgentName, error: NodeFailure): string =>
  `I couldn't finish that (${agent.replace("_", " ")}): ${error.message}`

/** Instruments a node's work and converts its typed failure into the turn's reply. */
export const instrumentNode = <E extends NodeFailure, R>(
  agent: AgentName,
  body: Effect.Effect<TurnUpdate, E, R>
): Effect.Effect<TurnUpdate, never, R | Telemetry> =>
  Effect.flatMap(Telemetry, (telemetry) =>
    body.pipe(
      Effect.tapError((error) =>
        Effect.annotateCurrentSpan({
          [ATTR_ERROR_TYPE]: error.errorType ?? error._tag ?? ERROR_TYPE_VALUE_OTHER,
          "error.message": error.message.slice(0, 300)
        })
      ),
      Effect.onExit((exit) =>
        telemetry.recordNodeRun(
          agent,
          Exit.isSuccess(exit) ? "ok" : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "error"
        )
      ),
      withAgentSpan(agent),
      Effect.catchAll((error) =>
        Effect.succeed<TurnUpdate>({ reply: failureReply(agent, error), failed: true, sources: [] })
      )
    )
  )

/**
 * Adapts an instrumented node Effect to a LangGraph node: it runs on the runtime captured
 * inside the turn span (so FiberRefs, services and the parent span are the turn's), and the
 * graph's abort signal interrupts it. The node names where the turn goes next (`goto`, from the
 * state its update leaves), so no conditional edge re-reads the state after it.
 */
export const toGraphNode =
  <R>(program: (state: TurnState) => Effect.Effect<TurnUpdate, never, R>, goto: (state: TurnState) => string) =>
  async ({ turn }: GraphTurn, config: LangGraphRunnableConfig): Promise<Command> => {
    const runtime = config.configurable?.runtime as Runtime.Runtime<R> | undefined
    if (runtime === undefined) throw new Error("graph invoked without the turn's Effect runtime in config.configurable")
    const exit = await Runtime.runPromiseExit(runtime)(program(turn), { signal: config.signal })
    if (Exit.isSuccess(exit)) {
      const next = applyUpdate(turn, exit.value)
      return new Command({ update: { turn: next }, goto: goto(next) })
    }
    // Defects and interruptions stay what they are: LangGraph rethrows, Turn.run reports them.
    throw Cause.squash(exit.cause)
  }

/**
 * @troupe/llm: language models for agents, over the official `openai` SDK. The guide is docs/llm.md.
 */

/** Agents: actors that think with a language model, keep their conversation and answer asks. */
export * as Agent from "./Agent.ts"
/** What agents do (model calls, tool calls, turns, approvals), as events on the actor system's stream. */
export * as AgentEvent from "./AgentEvent.ts"
/** The language model over Anthropic's Messages API, through its official SDK. */
export * as Anthropic from "./Anthropic.ts"
/** A real HTTP server speaking Anthropic's Messages API, for offline tests of the real SDK. */
export * as AnthropicTestServer from "./AnthropicTestServer.ts"
/** Tool calls a person approves (or edits, or refuses) before they run. */
export * as Approval from "./Approval.ts"
/** Spending limits per agent (tokens, cost), checked before each call. */
export * as Budget from "./Budget.ts"
/** Durable agents: conversation, usage and journaled model calls that survive crashes (never billed twice). */
export * as DurableAgent from "./DurableAgent.ts"
/** Our model offered as `effect/ai`'s `LanguageModel`. */
export * as EffectAi from "./EffectAi.ts"
/** The language model service: generate, stream, generate objects; retries, timeouts, budgets, telemetry. */
export * as LanguageModel from "./LanguageModel.ts"
/** Every error of a model call, each with `retryable`. */
export * as LlmError from "./LlmError.ts"
/** A language model playing a role in a choreography session, its moves checked against the protocol. */
export * as LlmRole from "./LlmRole.ts"
/** The tools of MCP servers (stdio or Streamable HTTP), typed from their JSON Schema, for agents. */
export * as Mcp from "./Mcp.ts"
/** A Troupe system as an MCP server: agents, actors' requests and tools served to any MCP client. */
export * as McpServer from "./McpServer.ts"
/** Conversation items (transcripts): system, user, assistant, tool calls and results, reasoning. */
export * as Message from "./Message.ts"
/** The language model over the openai SDK: OpenAI or any OpenAI-compatible server. */
export * as OpenAi from "./OpenAi.ts"
/** A real HTTP server speaking the OpenAI wire format, for offline tests of the real SDK. */
export * as OpenAiTestServer from "./OpenAiTestServer.ts"
/** Model prices (USD per million tokens) and the cost of a call. */
export * as Pricing from "./Pricing.ts"
/** What a model answers: responses and stream events. */
export * as Response from "./Response.ts"
/** A deterministic model that plays scripted turns and records requests. */
export * as ScriptedModel from "./ScriptedModel.ts"
/** The calling agent, and metrics per model and agent. */
export * as Telemetry from "./Telemetry.ts"
/** Schema-typed tools with Effect handlers. */
export * as Tool from "./Tool.ts"
/** Runs a model with tools until it answers, in bounded steps. */
export * as ToolLoop from "./ToolLoop.ts"
/** Scripted turns for the scripted model and the test server. */
export * as Turn from "./Turn.ts"
/** Token usage, normalised across APIs. */
export * as Usage from "./Usage.ts"

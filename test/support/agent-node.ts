/**
 * A process with durable agents (entities on SQLite or PostgreSQL) that think with the real OpenAI SDK against
 * an OpenAI-wire test server of the parent test, for the kill -9 tests. Driven by JSON lines on stdin:
 *
 *   node test/support/agent-node.ts '{"sqlite":"/tmp/x.db","model":"http://127.0.0.1:4000/v1"}'
 *
 * `ask` sends a durable ask (id `ref`) to an agent and answers `answer` once the answer is committed; `report`
 * answers an agent's stored state. The agents have a `note` tool; each run of it appends a line to the file
 * `notes` names (what really ran, crashes included). With `kill: { at: "tool", nth }` the process SIGKILLs
 * itself inside the nth run of the tool.
 */
import { appendFileSync } from "node:fs"
import { Agent, DurableAgent, type LanguageModel, OpenAi, Tool } from "@troupe/llm"
import { ActorSystem, Durable, Entity, Storage } from "@troupe/runtime"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { emit, main, serve } from "./node-process.ts"

export interface Config {
  readonly sqlite?: string
  readonly postgres?: string
  /** The test server's base URL. */
  readonly model: string
  readonly notes: string
  readonly kill?: { readonly at: "tool"; readonly nth: number }
}

export type Command =
  | { readonly id: number; readonly cmd: "ask"; readonly agent: string; readonly prompt: string; readonly ref: string }
  | { readonly id: number; readonly cmd: "report"; readonly agent: string }
  | { readonly id: number; readonly cmd: "stop" }

const config = JSON.parse(process.argv[2] ?? "{}") as Config
let runs = 0

const note = Tool.make("note", {
  description: "Writes a note down",
  parameters: Schema.Struct({ text: Schema.String }),
  success: Schema.String,
  handler: ({ text }) =>
    Effect.sync(() => {
      appendFileSync(config.notes, `${text}\n`)
      if (config.kill?.at === "tool" && ++runs === config.kill.nth) process.kill(process.pid, "SIGKILL")
      return `noted: ${text}`
    })
})

const Assistants = DurableAgent.entity("assistant", {
  name: "assistant",
  system: "Note every question down, then answer it.",
  tools: [note],
  passivateAfter: "300 millis"
})

const storage =
  config.postgres !== undefined
    ? Storage.layerPostgres({ url: config.postgres })
    : Storage.layerSqlite({ filename: config.sqlite ?? "agent-node.db" })

const model = OpenAi.layer({ apiKey: Redacted.make("test-key"), baseUrl: config.model, model: "gpt-test" })

main(
  Effect.gen(function* () {
    emit({ event: "ready", pid: process.pid })
    const context = yield* Effect.context<ActorSystem.ActorSystem | Storage.Storage | LanguageModel.LanguageModel>()
    yield* serve<Command>((command) =>
      Effect.gen(function* () {
        switch (command.cmd) {
          case "ask": {
            const agent = yield* Entity.ref(Assistants, command.agent)
            const answer = yield* Durable.ask(agent, Agent.Protocol.Ask({ prompt: command.prompt }), {
              id: command.ref,
              timeout: "60 seconds"
            })
            emit({ event: "answer", id: command.id, ref: command.ref, answer })
            return "answered"
          }
          case "report": {
            const stored = yield* Storage.Storage.use((s) => s.state(Entity.persistenceId(Assistants, command.agent)))
            emit({ event: "report", id: command.id, agent: command.agent, state: Option.getOrUndefined(stored)?.state })
            return "answered"
          }
          case "stop":
            return "answered"
        }
      }).pipe(Effect.provideContext(context))
    )
  }).pipe(
    Effect.provide(
      Layer.provideMerge(ActorSystem.layer({ name: "agent-node" }), Layer.merge(storage, Layer.orDie(model)))
    )
  )
)

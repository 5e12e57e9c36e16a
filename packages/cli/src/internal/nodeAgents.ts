/** What a node hosts: the module's agents, each with its language model, and its sharded types as a cluster runner. */
import { type LanguageModel, OpenAi, ScriptedModel, Turn } from "@troupe/llm"
import { type ActorRef, ActorSystem, Cluster, type Protocol, Receptionist, Sharded } from "@troupe/runtime"
import { Console, type Context, Effect, Layer } from "effect"
import type * as AgentsModule from "../AgentsModule.ts"
import type { Options } from "../TroupeNode.ts"
import { firstLine } from "./load.ts"
import { AgentNotStarted, ClusterFailed, ModelNotConfigured } from "./nodeErrors.ts"

const noModel = ScriptedModel.layer(() =>
  Turn.error(401, {
    message: "no language model: set OPENAI_API_KEY, or give this agent a script (see docs/cli.md)"
  })
)

/** Which model the agents get: the configured OpenAI-compatible one, or a scripted one per script. */
export const models = Effect.fnUntraced(function* (module: AgentsModule.AgentsModule) {
  const build = (layer: Layer.Layer<LanguageModel.LanguageModel, unknown>) =>
    Effect.mapError(Layer.build(layer), (error) => new ModelNotConfigured({ detail: firstLine(error) }))
  if (process.env.OPENAI_API_KEY !== undefined && process.env.OPENAI_API_KEY !== "") {
    const real = yield* build(OpenAi.layerConfig())
    yield* Console.log(`  model: ${process.env.OPENAI_MODEL ?? "gpt-4.1-mini"} (OpenAI-compatible, from OPENAI_*)`)
    return { forNode: real, forAgent: (_: AgentsModule.AgentSpec) => Effect.succeed(real) }
  }
  const scripted = (script: Turn.Script | undefined) =>
    build(script === undefined ? noModel : ScriptedModel.layer(script))
  yield* Console.log("  model: scripted (set OPENAI_API_KEY to use a real one)")
  const forNode = yield* scripted(module.script)
  return {
    forNode,
    forAgent: (spec: AgentsModule.AgentSpec) =>
      spec.script === undefined ? Effect.succeed(forNode) : scripted(spec.script)
  }
})

/** The models of a node (see `models`). */
type Models = Effect.Success<ReturnType<typeof models>>

/** Spawns the module's agents as `/user/<name>`, each with its model, and registers those that ask for it. */
export const spawnAgents = Effect.fnUntraced(function* (
  system: ActorSystem.ActorSystemService,
  module: AgentsModule.AgentsModule,
  model: Models
) {
  const agents: Record<string, ActorRef.ActorRef<Protocol.Any>> = {}
  for (const [agent, spec] of module.agents) {
    const context: Context.Context<LanguageModel.LanguageModel> = yield* model.forAgent(spec)
    const ref = yield* system
      .spawn(spec.behavior, {
        name: agent,
        ...(spec.mailbox === undefined ? {} : { mailbox: spec.mailbox }),
        ...(spec.restart === undefined ? {} : { restart: spec.restart }),
        ...(spec.shutdownTimeout === undefined ? {} : { shutdownTimeout: spec.shutdownTimeout })
      })
      .pipe(
        Effect.provide(context),
        Effect.mapError((error) => new AgentNotStarted({ agent, detail: error.message }))
      )
    agents[agent] = ref
    if (spec.register !== undefined) {
      yield* Receptionist.register(spec.register, ref).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
    }
    const registered = spec.register === undefined ? "" : `, registered as "${spec.register.id}"`
    yield* Console.log(`  agent ${ref.path} (${spec.behavior.protocol.name})${registered}`)
  }
  return agents
})

/** The node as a cluster runner: the module's sharded types on the cluster at `options.url`. */
export const runner = (
  system: ActorSystem.ActorSystemService,
  module: AgentsModule.AgentsModule,
  options: NonNullable<Options["cluster"]>
) =>
  Effect.gen(function* () {
    if (module.sharded.length === 0) {
      return yield* new ClusterFailed({ detail: `${module.module} exports no \`sharded\` types to host` })
    }
    const [first, ...rest] = module.sharded.map((type) => Sharded.layer(type))
    const layer = Layer.mergeAll(first!, ...rest).pipe(
      Layer.provideMerge(
        Cluster.layerFromUrl(options.url, {
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.port === undefined ? {} : { port: options.port })
        })
      ),
      Layer.provide(Layer.succeed(ActorSystem.ActorSystem, system))
    )
    const context = yield* Layer.build(layer).pipe(
      Effect.mapError((error) => new ClusterFailed({ detail: firstLine(error) }))
    )
    yield* Console.log(
      `  cluster runner on ${options.url.replace(/\/\/[^@]*@/, "//")}: ${module.sharded.map((t) => t.name).join(", ")}`
    )
    return context
  })

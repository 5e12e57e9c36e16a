/**
 * The sharded types of the tests of sharded refs in replies (`ShardedRefReplies.test.ts`, `ShardedRefKill.test.ts`):
 * echoes that answer their id and their runner's name, and directories that answer refs to echoes.
 */
import { ActorRef, Behavior, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Schema } from "effect"

/** Few buckets: a test finds ids on a given runner's shard quickly. */
export const BUCKETS = 16

/** An echo: answers its id and the runner it runs on. */
export const Echo = Protocol.make("RefEcho", { Ping: Protocol.request({}, { success: Schema.String }) })
const echo = (id: string) =>
  Behavior.make(Echo, {
    initial: 0,
    receive: { Ping: (n, _, ctx) => Effect.succeed({ state: n + 1, reply: `${id}@${ctx.system.name}` }) }
  })
export const Echoes = Sharded.make("RefEcho", { behavior: echo, buckets: BUCKETS })
/** Echoes of a type only runner b hosts. */
export const Hidden = Sharded.make("RefHidden", { behavior: echo, protocol: Echo, buckets: BUCKETS })

/** A directory: answers refs to echoes (of a type both runners host, or of the type only b hosts). */
export const Directory = Protocol.make("RefDirectory", {
  Find: Protocol.request({ id: Schema.String }, { success: ActorRef.schema(Echo) }),
  FindHidden: Protocol.request({ id: Schema.String }, { success: ActorRef.schema(Echo) })
})
const directory = () =>
  Behavior.make(Directory, {
    initial: 0,
    receive: {
      Find: (n, { id }) => Effect.map(Sharded.ref(Echoes, id), (reply) => ({ state: n, reply })),
      FindHidden: (n, { id }) => Effect.map(Sharded.ref(Hidden, id), (reply) => ({ state: n, reply }))
    }
  })
export const Directories = Sharded.make("RefDirectory", { behavior: directory, buckets: BUCKETS })
/** The same directory, durable: its requests are stored by the cluster, and their replies read back from storage. */
export const Registries = Sharded.make("RefRegistry", {
  behavior: directory,
  protocol: Directory,
  state: Schema.Number,
  buckets: BUCKETS
})

/**
 * The sharded roles of the multi-runner session tests: the durable tests' ledger choreography (a client makes
 * deposits at a bank, which has each recorded by an auditor), its three roles as sharded types. Each `once`
 * effect of a bank or auditor prints `{"event":"once","key":"<session>/<role>/<n>"}` on its runner's stdout, so
 * that the test sees an effect run twice; a bank takes 20 ms per deposit, so that sessions are in flight when a
 * runner is killed. And what a runner hosts for ledger sessions ({@link hosting}), and a batch of them ({@link batch}).
 */
import { type ActorSystem, type Protocol, Sharded, ShardedSession, type Storage } from "@troupe/runtime"
import { type Duration, Effect, Layer } from "effect"
import type { Sharding } from "effect/cluster"
import { auditor, bank, client, Ledger } from "../durable/ledger.ts"

/** How many deposits a session's client makes: the number its id ends with. */
export const roundsOf = (session: string): number => Number(/(\d+)$/.exec(session)?.[1] ?? 10)

const once = (session: string, role: string, n: number) =>
  Effect.andThen(
    role === "B" ? Effect.sleep("20 millis") : Effect.void,
    Effect.sync(() => console.log(JSON.stringify({ event: "once", key: `${session}/${role}/${n}` })))
  )

export const Clients = Sharded.make("SessionClient", { behavior: () => client(roundsOf), buckets: 64 })
export const Banks = Sharded.make("SessionBank", { behavior: () => bank(once), buckets: 64 })
export const Auditors = Sharded.make("SessionAuditor", { behavior: () => auditor(once), buckets: 64 })

/** Sharded types a runner of ledger sessions may host (a tuple: each type keeps its own protocol). */
export type Hosted<Ps extends ReadonlyArray<Protocol.Any>> = {
  readonly [K in keyof Ps]: Sharded.Sharded<Ps[K], ActorSystem.ActorSystem | Storage.Storage>
}

/**
 * What a runner hosts for ledger sessions: the sharded types `types` (the roles) and the ledger's coordinators.
 *
 * @example
 * const runner = hosting([Clients, Banks, Auditors]).pipe(Layer.provideMerge(ActorSystem.layer()))
 */
export const hosting = <const Ps extends ReadonlyArray<Protocol.Any>>(
  types: Hosted<Ps>
): Layer.Layer<never, never, Sharding.Sharding | ActorSystem.ActorSystem | Storage.Storage> =>
  (types as ReadonlyArray<Sharded.Sharded<Protocol.Any, ActorSystem.ActorSystem | Storage.Storage>>).reduce(
    (hosted, type) => Layer.merge(hosted, Sharded.layer(type)),
    ShardedSession.layer([Ledger])
  )

/**
 * Starts `count` ledger sessions `<name>-<i>-<rounds>` with `run` (a cluster client's), and answers each one's
 * outcome (as an Exit) once every one ended.
 *
 * @example
 * const outcomes = await batch(client.runPromise, "k", 24, 30, { deadline: "40 seconds", stepTimeout: "40 seconds" })
 */
export const batch = (
  run: <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding | Storage.Storage>) => Promise<A>,
  name: string,
  count: number,
  rounds: number,
  options: { readonly deadline: Duration.Input; readonly stepTimeout: Duration.Input }
) =>
  run(
    Effect.forEach(
      Array.from({ length: count }, (_, i) => `${name}-${i}-${rounds}`),
      (id) =>
        Effect.gen(function* () {
          const roles = {
            C: yield* Sharded.ref(Clients, `c-${id}`),
            B: yield* Sharded.ref(Banks, `b-${id}`),
            A: yield* Sharded.ref(Auditors, `a-${id}`)
          }
          return [id, yield* ShardedSession.start(Ledger, { roles, id, ...options })] as const
        })
    )
  ).then((handles) =>
    Promise.all(handles.map(([id, handle]) => run(Effect.exit(handle.await)).then((exit) => [id, exit] as const)))
  )

/**
 * The peers, measured side by side with Troupe in the same run: nact (Akka-style actors for Node) and an
 * in-process Effect Cluster entity (`effect/cluster` on `TestRunner`: in-memory storage, no network).
 *
 * Each peer runs the same counter: one-way increments, a request that answers the count, and bytes per
 * actor (an idle nact actor; an entity that has handled one request and is now idle, since an entity only
 * exists once addressed).
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer, Ref, Schema } from "effect"
import { Entity, type Sharding, TestRunner } from "effect/cluster"
import { Rpc } from "effect/rpc"
import * as nact from "nact"
import { Counter, counter } from "./counter.ts"
import { type Case, type Figure, heapUsed, median, onSystem, time } from "./support.ts"

const TELLS = 300_000
const ASKS = 50_000
const ACTORS = 20_000
/** A runner keeps at most 10 k entities resident by default. */
const ENTITIES = 10_000

// ---------------------------------------------------------------------------------------------------------
// Troupe
// ---------------------------------------------------------------------------------------------------------

const troupeTells = () =>
  onSystem(
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(counter)
      const add = Counter.Add({ n: 1 })
      for (let i = 0; i < TELLS; i++) yield* ref.tell(add)
      if ((yield* ref.ask(Counter.Get())) !== TELLS) throw new Error("troupe lost messages")
    })
  )

const troupeAsks = () =>
  onSystem(
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(counter)
      for (let i = 0; i < ASKS; i++) yield* ref.ask(Counter.Get())
    })
  )

// ---------------------------------------------------------------------------------------------------------
// nact
// ---------------------------------------------------------------------------------------------------------

type NactMessage =
  | { readonly type: "add"; readonly n: number }
  | { readonly type: "get"; readonly sender: nact.Ref<number> }

/** A nact counter; named, since nact's random names collide among thousands of actors. */
const nactCounter = (parent: nact.ActorSystemRef, name = "counter") =>
  nact.spawn(
    parent,
    (count: number, message: NactMessage) => {
      if (message.type === "add") return count + message.n
      nact.dispatch(message.sender, count)
      return count
    },
    name,
    { initialState: 0 }
  )

const nactTells = async () => {
  const system = nact.start()
  const ref = nactCounter(system)
  const add = { type: "add", n: 1 } as const
  for (let i = 0; i < TELLS; i++) nact.dispatch(ref, add)
  const count = await nact.query(ref, (sender: nact.Ref<number>) => ({ type: "get", sender }) as const, 60_000)
  if (count !== TELLS) throw new Error("nact lost messages")
  nact.stop(system)
}

const nactAsks = async () => {
  const system = nact.start()
  const ref = nactCounter(system)
  for (let i = 0; i < ASKS; i++) {
    await nact.query(ref, (sender: nact.Ref<number>) => ({ type: "get", sender }) as const, 5_000)
  }
  nact.stop(system)
}

const nactIdleBytes = () => {
  const system = nact.start()
  const before = heapUsed()
  const refs = []
  for (let i = 0; i < ACTORS; i++) refs.push(nactCounter(system, `counter-${i}`))
  const bytes = (heapUsed() - before) / ACTORS
  nact.stop(system)
  return bytes
}

// ---------------------------------------------------------------------------------------------------------
// Effect Cluster entity
// ---------------------------------------------------------------------------------------------------------

const Increment = Rpc.make("Increment", { payload: { n: Schema.Number }, success: Schema.Number })
const ClusterCounter = Entity.make("Counter", [Increment])
const clusterLayer = ClusterCounter.toLayer(
  Effect.gen(function* () {
    const count = yield* Ref.make(0)
    return ClusterCounter.of({ Increment: ({ payload }) => Ref.updateAndGet(count, (c) => c + payload.n) })
  }),
  { maxIdleTime: "1 hour" }
).pipe(Layer.provideMerge(TestRunner.layer))

const cluster = <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.provide(effect, clusterLayer)) as Effect.Effect<A, E>)

/** Sequential requests to one entity. */
const clusterRequests = () =>
  cluster(
    Effect.gen(function* () {
      const client = (yield* ClusterCounter.client)("counter")
      for (let i = 0; i < ASKS; i++) yield* client.Increment({ n: 1 })
    })
  )

/** Bytes per entity that handled one request and is idle. */
const clusterEntityBytes = () =>
  cluster(
    Effect.gen(function* () {
      const clientFor = yield* ClusterCounter.client
      const before = heapUsed()
      for (let i = 0; i < ENTITIES; i++) yield* clientFor(`counter-${i}`).Increment({ n: 1 })
      return (heapUsed() - before) / ENTITIES
    })
  )

// ---------------------------------------------------------------------------------------------------------

const nactCase: Case = {
  name: "nact",
  run: async () => {
    const rates = {
      tell: [] as Array<number>,
      nactTell: [] as Array<number>,
      ask: [] as Array<number>,
      nactAsk: [] as Array<number>
    }
    await troupeTells()
    await nactTells()
    await troupeAsks()
    await nactAsks()
    for (let round = 0; round < 5; round++) {
      rates.tell.push(TELLS / (await time(troupeTells)))
      rates.nactTell.push(TELLS / (await time(nactTells)))
      rates.ask.push(ASKS / (await time(troupeAsks)))
      rates.nactAsk.push(ASKS / (await time(nactAsks)))
    }
    const figures: Array<Figure> = [
      { name: "nact_tell_per_s", value: median(rates.nactTell), unit: "msg/s", detail: "nact dispatch to one actor" },
      { name: "local_tell_vs_nact", value: median(rates.tell) / median(rates.nactTell) },
      { name: "nact_ask_per_s", value: median(rates.nactAsk), unit: "asks/s", detail: "nact query, one after another" },
      { name: "local_ask_vs_nact", value: median(rates.ask) / median(rates.nactAsk) },
      { name: "nact_idle_actor_bytes", value: nactIdleBytes(), unit: "bytes", detail: "an idle nact actor" }
    ]
    return figures
  }
}

const clusterCase: Case = {
  name: "cluster",
  run: async () => {
    const asks: Array<number> = []
    const requests: Array<number> = []
    await troupeAsks()
    await clusterRequests()
    for (let round = 0; round < 5; round++) {
      asks.push(ASKS / (await time(troupeAsks)))
      requests.push(ASKS / (await time(clusterRequests)))
    }
    return [
      {
        name: "cluster_request_per_s",
        value: median(requests),
        unit: "req/s",
        detail: "Effect Cluster entity (TestRunner), one request after another"
      },
      { name: "local_ask_vs_cluster", value: median(asks) / median(requests) },
      {
        name: "effect_entity_bytes",
        value: await clusterEntityBytes(),
        unit: "bytes",
        detail: "an Effect Cluster entity, idle after one request"
      }
    ]
  }
}

export const cases: ReadonlyArray<Case> = [nactCase, clusterCase]

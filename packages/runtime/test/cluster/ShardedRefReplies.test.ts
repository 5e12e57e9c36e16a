/**
 * Refs to sharded actors that cross runners inside replies and messages: two runners in this process on a real
 * PostgreSQL server (each holding one of the two shards, each a node of an in-process network), a seeker that asks a
 * directory on the other runner for a ref to an echo and uses it. The receiving side decodes a ref by the sharded
 * types known there (a table per runner or cluster client, in the decode's context; one per actor system for messages
 * between nodes): the ref reaches its actor through the receiver's engine; a ref to a type not known there fails at
 * once with `InvalidMessage` naming it; a ref whose actor's runner stops between the reply and its use reaches the
 * actor on its next runner. A process that only sends (`clientOnly`), and a node over one, knows the types of its
 * `Sharded.layerClient`.
 */
import { ActorRef, ActorSystem, Behavior, Cluster, Protocol, Sharded } from "@troupe/runtime"
import { InProcess } from "@troupe/transport"
import { Cause, Context, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { type EntityId, ShardId, Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"
import { BUCKETS, Directories, Directory, Echo, Echoes, Hidden, Registries } from "./refs.ts"
import { testSharding } from "./runner.ts"

const SHARDS = 2

/** A seeker: asks a directory for an echo's ref and pings it; or pings a ref it is sent. */
const Seeker = Protocol.make("RefSeeker", {
  Seek: Protocol.request(
    { directory: Schema.String, durable: Schema.Boolean, echo: Schema.String, hidden: Schema.Boolean },
    { success: Schema.String }
  ),
  Relay: Protocol.request({ to: ActorRef.schema(Echo) }, { success: Schema.String })
})
const seeker = () =>
  Behavior.make(Seeker, {
    initial: 0,
    receive: {
      Seek: (n, { directory, durable, echo, hidden }) =>
        Effect.gen(function* () {
          const dir = yield* Sharded.ref(durable ? Registries : Directories, directory)
          const found = yield* dir.ask(hidden ? Directory.FindHidden({ id: echo }) : Directory.Find({ id: echo }))
          return { state: n, reply: yield* found.ask(Echo.Ping(), { timeout: "20 seconds" }) }
        }).pipe(Effect.catch((error) => Effect.succeed({ state: n, reply: `failed: ${tagOf(error)}` }))),
      Relay: (n, { to }) =>
        Effect.map(
          Effect.catch(to.ask(Echo.Ping(), { timeout: "20 seconds" }), (error) =>
            Effect.succeed(`failed: ${tagOf(error)}`)
          ),
          (reply) => ({ state: n, reply })
        )
    }
  })
const Seekers = Sharded.make("RefSeeker", { behavior: seeker, buckets: BUCKETS })
/** The same seeker, durable: the messages it is sent go through its inbox (refs in them decoded by its system). */
const DurableSeekers = Sharded.make("RefDurableSeeker", {
  behavior: seeker,
  protocol: Seeker,
  state: Schema.Number,
  buckets: BUCKETS
})

/** A plain actor on a runner's node: answers other nodes refs to echoes from a directory, or pings a ref it is sent. */
const Gateway = Protocol.make("RefGateway", {
  Find: Protocol.request({ directory: Schema.String, id: Schema.String }, { success: ActorRef.schema(Echo) }),
  Relay: Protocol.request({ to: ActorRef.schema(Echo) }, { success: Schema.String })
})
const gateway = Behavior.make(Gateway, {
  initial: 0,
  receive: {
    Find: (n, { directory, id }) =>
      Effect.gen(function* () {
        const d = yield* Sharded.ref(Directories, directory)
        return { state: n, reply: yield* Effect.orDie(d.ask(Directory.Find({ id }))) }
      }),
    Relay: (n, { to }) =>
      Effect.map(Effect.orDie(to.ask(Echo.Ping(), { timeout: "20 seconds" })), (reply) => ({ state: n, reply }))
  }
})

/** A failure's tag (what a seeker answers when its ask fails). */
const tagOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : String(error)

/** The error an exit failed with, if any. */
const errorOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
const show = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? String(exit.value) : String(errorOf(exit) ?? Cause.pretty(exit.cause))
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)
const shards = Array.from({ length: SHARDS }, (_, i) => ShardId.make("default", i + 1))

describe.skipIf(Postgres.unavailable !== undefined)("sharded refs in replies and messages across runners", () => {
  const server = postgresServer()
  // the runners are nodes of an in-process network too, with plain nodes
  const network = InProcess.makeNetwork()
  const nodeOn = (node: string) => InProcess.layer(network, { node, secret: "a sharded refs test secret" })
  const scopes: Array<Scope.Closeable> = []
  afterAll(async () => {
    for (const scope of scopes.reverse()) await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 120_000)
  /** Builds `layer` in a scope of its own (closed after the tests, or by the test). */
  const build = async <A>(layer: Layer.Layer<A, unknown>) => {
    const scope = Effect.runSync(Scope.make())
    scopes.push(scope)
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope) as Effect.Effect<Context.Context<A>>)
    return { context, scope }
  }
  const runner = async (name: string, hidden: boolean) =>
    build(
      Layer.mergeAll(
        Sharded.layer(Echoes),
        Sharded.layer(Directories),
        Sharded.layer(Registries),
        Sharded.layer(Seekers),
        Sharded.layer(DurableSeekers),
        hidden ? Sharded.layer(Hidden) : Layer.empty
      ).pipe(
        Layer.provideMerge(ActorSystem.layer({ name, transport: nodeOn(name) })),
        Layer.provideMerge(
          Cluster.layerPostgres({
            url: server().url,
            host: "127.0.0.1",
            port: await Postgres.freePort(),
            shards: SHARDS,
            ...testSharding
          })
        )
      )
    )
  const run = <A, E>(ctx: Context.Context<never>, effect: Effect.Effect<A, E, unknown>): Promise<A> =>
    Effect.runPromise(Effect.provideContext(effect, ctx) as Effect.Effect<A, E>)
  const exitOf = <A, E>(ctx: Context.Context<never>, effect: Effect.Effect<A, E, unknown>) =>
    Effect.runPromise(Effect.exit(Effect.provideContext(effect, ctx)) as Effect.Effect<Exit.Exit<A, E>>)
  const sharding = (ctx: Context.Context<never>) =>
    Context.get(ctx as Context.Context<Sharding.Sharding>, Sharding.Sharding)
  const held = (ctx: Context.Context<never>) => shards.filter((s) => sharding(ctx).hasShardId(s))
  const until = async (what: string, millis: number, done: () => boolean) => {
    const deadline = Date.now() + millis
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`waited ${millis / 1000} s for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  /** An id of `type` whose bucket's shard the runner `ctx` holds now. */
  const idOn = (
    ctx: Context.Context<never>,
    type: { readonly name: string; readonly buckets: number },
    prefix: string
  ) => {
    for (let i = 0; ; i++) {
      const id = `${prefix}-${i}`
      const shard = sharding(ctx).getShardId(Sharded.bucketOf(type, id) as EntityId.EntityId, "default")
      if (sharding(ctx).hasShardId(shard)) return id
    }
  }

  /** From `ctx`, sends the seeker `seeker` a ref to the echo `id` of `type` (in a message) and has it pinged. */
  const relay = (
    ctx: Context.Context<never>,
    seeker: string,
    type: typeof Echoes,
    id: string,
    seekers: typeof Seekers | typeof DurableSeekers = Seekers
  ) =>
    exitOf(
      ctx,
      Effect.gen(function* () {
        const to = yield* Sharded.ref(type, id)
        const s = yield* Sharded.ref(seekers as typeof Seekers, seeker)
        return yield* s.ask(Seeker.Relay({ to }), { timeout: "30 seconds" })
      })
    )

  let a: Context.Context<never>
  let b: Context.Context<never>
  let bScope: Scope.Closeable
  const ready = async () => {
    if (a !== undefined) return
    a = (await runner("a", false)).context as Context.Context<never>
    await until("runner a holds every shard", 60_000, () => held(a).length === SHARDS)
    const built = await runner("b", true)
    b = built.context as Context.Context<never>
    bScope = built.scope
    await until("runners a and b hold a shard each", 60_000, () => held(a).length === 1 && held(b).length === 1)
    phase(`a holds ${held(a).map(String)}, b holds ${held(b).map(String)}`)
  }

  it("an entity asks an entity on another runner for a ref, and the ref reaches its actor", async () => {
    await ready()
    const seekerOnA = idOn(a, Seekers, "seeker")
    const onB = { directory: idOn(b, Directories, "dir"), registry: idOn(b, Registries, "reg") }
    const echoOnA = idOn(a, Echoes, "echo")
    const echoOnB = idOn(b, Echoes, "echo")
    const seek = (directory: string, durable: boolean, echo: string) =>
      run(
        a,
        Effect.flatMap(Sharded.ref(Seekers, seekerOnA), (s) =>
          s.ask(Seeker.Seek({ directory, durable, echo, hidden: false }), { timeout: "30 seconds" })
        )
      )
    // E1 on a asks E2 on b, whose reply carries a ref to E3 on a, then on b: volatile and durable directories
    expect(await seek(onB.directory, false, echoOnA)).toBe(`${echoOnA}@a`)
    expect(await seek(onB.directory, false, echoOnB)).toBe(`${echoOnB}@b`)
    expect(await seek(onB.registry, true, echoOnA)).toBe(`${echoOnA}@a`)
    expect(await seek(onB.registry, true, echoOnB)).toBe(`${echoOnB}@b`)
    // outside an entity: runner a's own ask of the directory on b, then the ref it got
    const found = await run(
      a,
      Effect.flatMap(Sharded.ref(Directories, onB.directory), (d) => d.ask(Directory.Find({ id: echoOnB })))
    )
    expect(found.path).toBe(Sharded.path(Echoes, echoOnB))
    expect(await run(a, found.ask(Echo.Ping(), { timeout: "20 seconds" }))).toBe(`${echoOnB}@b`)
  }, 120_000)

  it("an entity receives a ref from another runner in a message, and the ref reaches its actor", async () => {
    await ready()
    const seekerOnA = idOn(a, Seekers, "seeker")
    const echoOnB = idOn(b, Echoes, "echo")
    expect(await relay(b, seekerOnA, Echoes, echoOnB)).toEqual(Exit.succeed(`${echoOnB}@b`))
    // a durable entity: the message stored by the cluster, then in the actor's inbox
    const durableOnA = idOn(a, DurableSeekers, "durable-seeker")
    expect(await relay(b, durableOnA, Echoes, echoOnB, DurableSeekers)).toEqual(Exit.succeed(`${echoOnB}@b`))
  }, 120_000)

  it("a ref to a type the receiving runner does not host fails typed, at once", async () => {
    await ready()
    const seekerOnA = idOn(a, Seekers, "seeker")
    const directoryOnB = idOn(b, Directories, "dir")
    const started = Date.now()
    // in a reply: the seeker on a gets b's ref to a hidden echo
    const seek = await run(
      a,
      Effect.flatMap(Sharded.ref(Seekers, seekerOnA), (s) =>
        s.ask(Seeker.Seek({ directory: directoryOnB, durable: false, echo: "h-1", hidden: true }), {
          timeout: "30 seconds"
        })
      )
    )
    // and outside an entity
    const asked = await exitOf(
      a,
      Effect.flatMap(Sharded.ref(Directories, directoryOnB), (d) =>
        d.ask(Directory.FindHidden({ id: "h-1" }), { timeout: "30 seconds" })
      )
    )
    // in a message: b sends the seeker on a a ref to a hidden echo
    const relayed = await relay(b, seekerOnA, Hidden, "h-1")
    const millis = Date.now() - started
    phase(`seek: ${seek}; asked: ${show(asked)}; relayed: ${show(relayed)}`)
    expect(seek).toBe("failed: InvalidMessage")
    const unknown = expect.stringContaining("the sharded type RefHidden is not known here")
    expect(errorOf(asked)).toMatchObject({ _tag: "InvalidMessage", tag: "reply to FindHidden", issue: unknown })
    expect(errorOf(relayed)).toMatchObject({ _tag: "InvalidMessage", tag: "Relay", issue: unknown })
    expect(millis).toBeLessThan(10_000)
  }, 120_000)

  it("a process that only sends decodes refs to the types of its Sharded.layerClient, and says so for others", async () => {
    await ready()
    const client = (
      await build(
        Sharded.layerClient(Echoes).pipe(
          Layer.provideMerge(
            Cluster.layerPostgres({ url: server().url, clientOnly: true, shards: SHARDS, ...testSharding })
          )
        )
      )
    ).context as Context.Context<never>
    const directoryOnB = idOn(b, Directories, "dir")
    const echoOnA = idOn(a, Echoes, "echo")
    const find = (hidden: boolean) =>
      exitOf(
        client,
        Effect.gen(function* () {
          const d = yield* Sharded.ref(Directories, directoryOnB)
          const found = yield* d.ask(hidden ? Directory.FindHidden({ id: "h-1" }) : Directory.Find({ id: echoOnA }), {
            timeout: "30 seconds"
          })
          return yield* found.ask(Echo.Ping(), { timeout: "20 seconds" })
        })
      )
    expect(await find(false)).toEqual(Exit.succeed(`${echoOnA}@a`))
    // a type it was not given: typed, and the issue says what to provide
    const hidden = await find(true)
    phase(`client, hidden: ${show(hidden)}`)
    expect(errorOf(hidden)).toMatchObject({
      _tag: "InvalidMessage",
      tag: "reply to FindHidden",
      issue: expect.stringContaining("the sharded type RefHidden is not known here: provide Sharded.layer")
    })
  }, 120_000)

  it("a plain actor's node decodes a sharded ref from a runner's node with Sharded.layerClient, and says so without", async () => {
    await ready()
    await run(a, ActorSystem.spawn(gateway, { name: "gateway" }))
    const directoryOnB = idOn(b, Directories, "dir")
    const echoOnA = idOn(a, Echoes, "echo")
    const echoOnB = idOn(b, Echoes, "echo")
    // a plain node (no cluster)
    const plain = (await build(ActorSystem.layer({ name: "p", transport: nodeOn("p") })))
      .context as Context.Context<never>
    // a plain node over a cluster client that knows the echoes
    const client = (
      await build(
        Sharded.layerClient(Echoes).pipe(
          Layer.provideMerge(ActorSystem.layer({ name: "c", transport: nodeOn("c") })),
          Layer.provideMerge(
            Cluster.layerPostgres({ url: server().url, clientOnly: true, shards: SHARDS, ...testSharding })
          )
        )
      )
    ).context as Context.Context<never>
    const viaGateway = <A, E>(
      node: Context.Context<never>,
      use: (g: ActorRef<typeof Gateway>) => Effect.Effect<A, E, unknown>
    ) =>
      exitOf(
        node,
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          yield* system.connect("a")
          return yield* use(yield* system.lookup("/user/gateway", Gateway, { node: "a" }))
        })
      )
    const found = (g: ActorRef<typeof Gateway>) =>
      Effect.flatMap(g.ask(Gateway.Find({ directory: directoryOnB, id: echoOnB }), { timeout: "30 seconds" }), (ref) =>
        ref.ask(Echo.Ping(), { timeout: "20 seconds" })
      )
    // in a reply, from the runner's node: the client's node uses it; the plain node fails typed, saying what to do
    expect(await viaGateway(client, found)).toEqual(Exit.succeed(`${echoOnB}@b`))
    const refused = await viaGateway(plain, found)
    phase(`plain node: ${show(refused)}`)
    expect(errorOf(refused)).toMatchObject({
      _tag: "InvalidMessage",
      tag: "reply to Find",
      issue: expect.stringContaining("the sharded type RefEcho is not known here: provide Sharded.layer")
    })
    // in a message, to the runner's node: the ref the client's node made reaches its actor
    const relayed = await viaGateway(client, (g) =>
      Effect.flatMap(Sharded.ref(Echoes, echoOnA), (to) => g.ask(Gateway.Relay({ to }), { timeout: "30 seconds" }))
    )
    expect(relayed).toEqual(Exit.succeed(`${echoOnA}@a`))
    // in a message from the client's node to a sharded entity: decoded on the entity's runner
    expect(await relay(client, idOn(a, Seekers, "seeker"), Echoes, echoOnB)).toEqual(Exit.succeed(`${echoOnB}@b`))
  }, 120_000)

  it("a ref whose actor's runner stops between the reply and its use reaches the actor on its next runner", async () => {
    await ready()
    const directoryOnB = idOn(b, Directories, "dir")
    const echoOnB = idOn(b, Echoes, "echo")
    const found = await run(
      a,
      Effect.flatMap(Sharded.ref(Directories, directoryOnB), (d) => d.ask(Directory.Find({ id: echoOnB })))
    )
    expect(await run(a, found.ask(Echo.Ping(), { timeout: "20 seconds" }))).toBe(`${echoOnB}@b`)
    phase("runner b stopping")
    await Effect.runPromise(Scope.close(bScope, Exit.void))
    phase("runner b stopped")
    const exit = await exitOf(a, found.ask(Echo.Ping(), { timeout: "30 seconds" }))
    phase(`after the stop: ${show(exit)}`)
    expect(exit).toEqual(Exit.succeed(`${echoOnB}@a`))
  }, 120_000)
})

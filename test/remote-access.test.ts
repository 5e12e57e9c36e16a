/**
 * Remote access (ActorSystem `remoteAccess`): which actors of a node its peers reach by path, which refs
 * it revealed to them, and under which receptionist keys and topics they may list their actors there.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorRef, ActorSystem, Behavior, Protocol, Receptionist, Topic } from "@troupe/runtime"
import { InProcess } from "@troupe/transport"
import { Effect, Logger, References, Schema } from "effect"

const Counter = Protocol.make("Counter", { Get: Protocol.request({}, { success: Schema.Number }) })
const counter = (value: number) =>
  Behavior.make(Counter, { initial: value, receive: { Get: (state) => Effect.succeed({ state, reply: state }) } })

/** The public actor hands out a ref to the private one. */
const Door = Protocol.make("Door", { Open: Protocol.request({}, { success: ActorRef.schema(Counter) }) })

const Workers = Receptionist.key("workers", Counter)
const Admins = Receptionist.key("admins", Counter)
const Spares = Receptionist.key("spares", Counter)
const News = Topic.make("news", Counter)

const logged: Array<string> = []
const capture = Logger.make(({ logLevel, message, fiber }) => {
  const text = (message as ReadonlyArray<unknown>).join(" ")
  if (/refused|listing/.test(text))
    logged.push(`${logLevel.toUpperCase()} ${text} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
})

describe("remote access", () => {
  it.live("peers reach what the policy names and what was revealed to them; listings are filtered", () =>
    Effect.gen(function* () {
      const network = InProcess.makeNetwork()
      const server = yield* ActorSystem.make({
        name: "server",
        transport: InProcess.layer(network, { node: "server" }),
        remoteAccess: { reach: ["/user/door/*"], register: { workers: ["client"], spares: ["other"] }, subscribe: [] }
      })
      const node = (name: string) => ActorSystem.make({ name, transport: InProcess.layer(network, { node: name }) })
      const client = yield* node("client")
      const other = yield* node("other")
      const vault = yield* server.spawn(counter(42), { name: "vault" })
      yield* server.spawn(
        Behavior.make(Door, { initial: null, receive: { Open: (state) => Effect.succeed({ state, reply: vault }) } }),
        { name: "door" }
      )
      yield* client.connect("server")
      yield* other.connect("server")

      // listings: the client may list under "workers" only; no one may subscribe to a topic
      const mine = yield* client.spawn(counter(1), { name: "worker" })
      const onClient = <A>(effect: Effect.Effect<A, never, ActorSystem.ActorSystem>) =>
        Effect.provideService(effect, ActorSystem.ActorSystem, client)
      const onServer = <A>(effect: Effect.Effect<A, never, ActorSystem.ActorSystem>) =>
        Effect.provideService(effect, ActorSystem.ActorSystem, server)
      yield* onClient(Receptionist.register(Admins, mine))
      yield* onClient(Topic.subscribe(News, mine))
      yield* onClient(Receptionist.register(Workers, mine)) // last: once it is listed, the others were handled
      const theirs = yield* other.spawn(counter(2), { name: "worker" })
      yield* Effect.provideService(Receptionist.register(Workers, theirs), ActorSystem.ActorSystem, other)
      yield* Effect.provideService(Receptionist.register(Spares, theirs), ActorSystem.ActorSystem, other)
      const listed = Effect.gen(function* () {
        return (
          (yield* onServer(Receptionist.find(Workers))).length > 0 &&
          (yield* onServer(Receptionist.find(Spares))).length > 0
        )
      })
      while (!(yield* listed)) yield* Effect.sleep(10) // the last of each node's listings arrived
      assert.deepStrictEqual(
        (yield* onServer(Receptionist.find(Workers))).map((ref) => ref.node),
        ["client"]
      )
      assert.deepStrictEqual(yield* onServer(Receptionist.find(Admins)), [])
      assert.deepStrictEqual(yield* onServer(Topic.subscribers(News)), [])
      // which refusals warn, each the first of its peer (a peer's warnings after its first are counted for a second,
      // so a line asserted after another of the same peer would pass whatever its level): a node claiming a key the
      // policy names for another warns; keys and topics the policy does not carry at all (every node tells its peers
      // of all its listings) are not taken, at debug level only, and do not open the client's window
      const warned = () => logged.filter((line) => line.startsWith("WARN"))
      assert.deepStrictEqual(warned(), [
        'WARN A peer was refused {"peer":"other","detail":"registration under key workers: not allowed from this node"}'
      ])
      assert.includeMembers(
        logged.filter((line) => line.startsWith("DEBUG A peer's listing")),
        [
          `DEBUG A peer's listing was not taken {"peer":"client","detail":"registration under key admins: not a key this node lists"}`,
          `DEBUG A peer's listing was not taken {"peer":"client","detail":"subscription to topic news: not a topic this node lists"}`
        ]
      )

      // by path: the door yes, the vault no (as if it were not there)
      const door = yield* client.lookup("/user/door", Door, { node: "server" })
      const hidden = yield* Effect.flip(client.lookup("/user/vault", Counter, { node: "server" }))
      assert.strictEqual(hidden.reason, "no-actor")
      // a ref the server revealed to the client reaches the vault; other nodes still cannot
      const key = yield* door.ask(Door.Open())
      assert.strictEqual(yield* key.ask(Counter.Get()), 42)
      assert.strictEqual(
        (yield* Effect.flip(other.lookup("/user/vault", Counter, { node: "server" }))).reason,
        "no-actor"
      )

      // probing a hidden actor warns: the client's first warning; "other"'s probe may fall in its claim's second
      const probes = warned().slice(1)
      assert.strictEqual(
        probes[0],
        'WARN A peer was refused {"peer":"client","detail":"lookup /user/vault: not an actor this node lets other nodes reach"}'
      )
      assert.includeMembers(
        [
          'WARN A peer was refused {"peer":"other","detail":"lookup /user/vault: not an actor this node lets other nodes reach"}'
        ],
        probes.slice(1)
      )
    }).pipe(
      Effect.scoped,
      Effect.provide(Logger.layer([capture])),
      Effect.provideService(References.MinimumLogLevel, "Debug")
    )
  )
})

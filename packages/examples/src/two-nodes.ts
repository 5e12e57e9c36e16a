/**
 * Two nodes over WebSocket, in two processes. This script starts the node "alice", which hosts a counter,
 * then starts itself again in a second process as the node "bob". Bob joins alice with the shared secret,
 * looks up her counter and uses it through a ref, exactly as he would use a local actor.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples two-nodes`.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { Effect, Option, Schema, type Scope } from "effect"

const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number, from: Schema.String },
  Get: Protocol.request({}, { success: Schema.Number })
})

const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Add: (count, { n, from }) =>
      Effect.sync(() => console.log(`[alice] counter: +${n} from ${from} (pid ${process.pid})`)).pipe(
        Effect.as(count + n)
      ),
    Get: (count) => Effect.succeed({ state: count, reply: count })
  }
})

/** Alice: listens on a free port, hosts the counter, starts bob's process and waits for it to end. */
const alice = Effect.gen(function* () {
  const secret = randomBytes(16).toString("hex")
  const system = yield* ActorSystem.make({
    name: "alice",
    transport: WebSocket.layer({ node: "alice", secret, listen: { port: 0 } })
  })
  const ref = yield* system.spawn(counter, { name: "counter" })
  const url = Option.getOrThrow(system.address)
  console.log(`[alice] listening on ${url} (pid ${process.pid})`)
  const code = yield* Effect.callback<number | null>((resume) => {
    const bob = spawn(process.execPath, [import.meta.filename, "bob", url], {
      stdio: "inherit",
      env: { ...process.env, TROUPE_SECRET: secret }
    })
    bob.on("exit", (exitCode) => resume(Effect.succeed(exitCode)))
  })
  console.log(`[alice] bob's process exited with code ${code}; the counter is at ${yield* ref.ask(Counter.Get())}`)
})

/** Bob: joins alice and uses her counter. */
const bob = (url: string) =>
  Effect.gen(function* () {
    const system = yield* ActorSystem.make({
      name: "bob",
      transport: WebSocket.layer({ node: "bob", secret: process.env.TROUPE_SECRET })
    })
    const node = yield* system.connect(url)
    console.log(`[bob] joined ${node} at ${url} (pid ${process.pid})`)
    const remote = yield* system.lookup("/user/counter", Counter, { node })
    yield* remote.tell(Counter.Add({ n: 2, from: "bob" }))
    yield* remote.tell(Counter.Add({ n: 3, from: "bob" }))
    console.log(`[bob] alice's counter says ${yield* remote.ask(Counter.Get())}`)
  })

const [role, url] = process.argv.slice(2)
const main: Effect.Effect<void, unknown, Scope.Scope> = role === "bob" && url !== undefined ? bob(url) : alice
NodeRuntime.runMain(Effect.scoped(main))

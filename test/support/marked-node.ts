/**
 * A node of its own for test/remote-deadline-io.test.ts: an actor system on a WebSocket transport on loopback with
 * the `Marked` actor at `/user/marked`. Prints `{"ready": url}` on stdout (logs go to stderr) and runs until its
 * stdin closes.
 * Run: `node test/support/marked-node.ts`.
 */
import { ActorSystem } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Option } from "effect"
import { marked, secret } from "./marked-reply.ts"
import { emit, main } from "./node-process.ts"

main(
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({ node: "callee", secret, listen: { port: 0, host: "127.0.0.1" } })
    const system = yield* ActorSystem.make({ name: "callee" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    yield* system.spawn(marked, { name: "marked" })
    emit({ ready: Option.getOrThrow(transport.address) })
    yield* Effect.callback<void>((resume) => {
      process.stdin.on("end", () => resume(Effect.void))
      process.stdin.resume()
    })
  })
)

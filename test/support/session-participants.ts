/**
 * A node of its own for the two-process session tests: an actor system on a WebSocket transport on loopback with
 * both participants of `Ask` (`/user/C` and `/user/S`, shared by every session). Prints `{"ready": url}` on
 * stdout (logs go to stderr) and runs until its stdin closes.
 * Run: `node test/support/session-participants.ts <askTimeoutMillis>`.
 */
import { ActorSystem } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Option } from "effect"
import { main } from "./node-process.ts"
import { askClient, askServer, secret } from "./session-ask.ts"

main(
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({ node: "parts", secret, listen: { port: 0, host: "127.0.0.1" } })
    const system = yield* ActorSystem.make({ name: "parts", askTimeout: `${Number(process.argv[2])} millis` }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    yield* system.spawn(askClient, { name: "C" })
    yield* system.spawn(askServer, { name: "S" })
    process.stdout.write(`${JSON.stringify({ ready: Option.getOrThrow(transport.address) })}\n`)
    yield* Effect.callback<void>((resume) => {
      process.stdin.on("end", () => resume(Effect.void))
      process.stdin.resume()
    })
  })
)

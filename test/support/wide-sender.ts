/**
 * A transport node in its own process that sends wide envelopes to a peer when told, for the failure detector's
 * grace to a peer that encodes wide envelopes (`test/remote-wide-sender.test.ts`). Its own detector is lenient: the
 * peer's is the one judged.
 *
 *   node test/support/wide-sender.ts '{"url":"ws://…","to":"judge","secret":"s","values":1000000,"prime":300000,"wide":600000}'
 *
 * The prime's payload is made before it links: stdin, a command a line: `prime`, a tell whose payload's JSON (an
 * array of `prime` numbers) is ready, so sending it only counts its values; `wide`, a tell of an object of `wide`
 * keys, made, checked, stringified and counted in the send (a stall as long as its making and encode). stdout:
 * `{"ready":…}` once linked, then `{"sent":…,"ms":…}` after each send (`ms`: how long the send kept its loop).
 */
import * as Readline from "node:readline"
import { ActorAddress, Envelope, NodeId, WebSocket } from "@troupe/transport"
import { Effect } from "effect"
import { main } from "./node-process.ts"

interface Spec {
  readonly url: string
  readonly to: string
  readonly secret: string
  readonly values: number
  readonly prime: number
  readonly wide: number
}

const spec = JSON.parse(process.argv[2]!) as Spec
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

main(
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: "encoder",
      secret: spec.secret,
      heartbeatInterval: 100,
      failureDetector: { _tag: "Timeout", timeout: 30_000 },
      maxEnvelopeValues: spec.values,
      maxFrameBytes: 64 * 1024 * 1024
    })
    const to = ActorAddress.make(NodeId.make(spec.to), "/sink")
    const template = Envelope.template({ kind: "tell", to })
    const prime = JSON.stringify(Array.from({ length: spec.prime }, (_, i) => i % 1000))
    // made in the send's stall, not before: hundreds of thousands of keys kept meanwhile make the process's
    // collections long enough, under load, to silence its heartbeats before the prime taught the judge its width
    const wideObject = () => {
      const wide: Record<string, number> = {}
      for (let i = 0; i < spec.wide; i++) wide[`k${i}`] = i
      return wide
    }
    const peer = yield* transport.connect(spec.url)
    say({ ready: peer.node })
    yield* Effect.callback<void>((resume) => {
      const lines = Readline.createInterface({ input: process.stdin })
      lines.on("close", () => resume(Effect.void))
      lines.on("line", (cmd) => {
        const started = performance.now()
        const result =
          cmd === "prime"
            ? transport.offer(peer, Envelope.fill(template, null), undefined, prime)
            : transport.offer(peer, Envelope.make({ kind: "tell", to, payload: wideObject() }))
        say({ sent: cmd, ms: Math.round(performance.now() - started), result: String(result) })
      })
      return Effect.sync(() => lines.close())
    })
  })
)

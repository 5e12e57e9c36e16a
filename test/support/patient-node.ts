/**
 * Node "a" on the WebSocket transport that does not notice a peer's crash while a test runs: its failure detector
 * bears 60 s pauses and its next dial after a lost connection is `redialAfter` away. It learns of a peer that was
 * SIGKILLed and started again at once on its port only when the new incarnation links: the window the tests of
 * restarted nodes look into (remote-restart-lookup, node-restart-pending, node-restart-listings).
 *
 * @example
 * ```ts
 * const scope = Effect.runSync(Scope.make())
 * const system = await patientNode(scope, token, { redialAfter: "3 seconds", askTimeout: "60 seconds" })
 * ```
 */
import { ActorSystem } from "@troupe/runtime"
import { FailureDetector, Transport, WebSocket } from "@troupe/transport"
import { type Duration, Effect, Layer, Scope } from "effect"
import { type Child, start, testEnv } from "./child.ts"
import { CLI, fixture } from "./target-node.ts"

export const patientNode = async (
  scope: Scope.Scope,
  secret: string,
  options: { readonly redialAfter: Duration.Input; readonly askTimeout?: Duration.Input }
) => {
  const transport = await Effect.runPromise(
    Scope.provide(
      WebSocket.make({
        node: "a",
        secret,
        failureDetector: FailureDetector.phiAccrual({ acceptableHeartbeatPause: "60 seconds" }),
        reconnect: { initialDelay: options.redialAfter, maxDelay: options.redialAfter }
      }),
      scope
    )
  )
  return Effect.runPromise(
    Scope.provide(
      ActorSystem.make({
        name: "a",
        ...(options.askTimeout === undefined ? {} : { askTimeout: options.askTimeout }),
        transport: Layer.succeed(Transport.Transport, transport)
      }),
      scope
    )
  )
}

/**
 * `troupe node --name b --listen <port>` serving the echo actor (fixtures/cli/echo-only.ts) with `secret`; resolves
 * once it is ready, with its address. Started again on the same port, it is node b's new incarnation.
 *
 * @example
 * ```ts
 * const first = await startEchoNode(port, token)
 * ```
 */
export const startEchoNode = async (port: number, secret: string): Promise<{ child: Child; url: string }> => {
  const child = start([CLI, "node", "--name", "b", "--listen", String(port), "--agents", fixture("echo-only.ts")], {
    env: { ...testEnv(), TROUPE_TOKEN: secret }
  })
  const url = /listening on (\S+)/.exec(await child.line("listening on"))![1]!
  await child.line("ready:")
  return { child, url }
}

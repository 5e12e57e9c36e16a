/**
 * What a worker thread of the tests (`good-peer.ts`, `target-thread.ts`) starts with: the options the test gave it, a
 * way to post to the test, and a scope that holds its resources until it stops.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect, Exit, References, Scope } from "effect"

/**
 * The worker's options (`Options`, its `workerData`), `post` to the test (`Message`s), `run` (an effect in the
 * worker's scope, logging errors only; a failure is a defect) and `close` (the scope).
 *
 * @example
 * const { options, post, run, close } = worker<Options, Message>()
 * const transport = await run(WebSocket.make({ node: options.node, secret: options.secret }))
 */
export const worker = <Options, Message>() => {
  const scope = Effect.runSync(Scope.make())
  return {
    options: workerData as Options,
    post: (message: Message) => parentPort!.postMessage(message),
    run: <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
      Effect.runPromise(
        effect.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error"), Effect.orDie)
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * A test kit for actors: a probe is an actor that records what it receives, so a test can assert on it.
 *
 * A probe waits on the real clock, so it works in tests that drive the actors' timers with `TestClock`:
 * adjust the test clock, then expect the message that the timer caused.
 *
 * @example
 * ```ts
 * it.effect("replies to the sender", () =>
 *   Effect.gen(function* () {
 *     const probe = yield* TestKit.probe(Greeting)
 *     yield* greeter.tell(Greeter.Greet({ name: "ada", replyTo: probe.ref }))
 *     const reply = yield* probe.expectMessage()
 *     assert.strictEqual(reply.text, "hello ada")
 *   }).pipe(Effect.provide(ActorSystem.layer())))
 * ```
 */
import { Clock, Deferred, Duration, Effect, Option, Queue, Schema, type Scope } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import { ActorSystem, internal, type SpawnError } from "./ActorSystem.ts"
import * as Behavior from "./Behavior.ts"
import { localCell } from "./internal/system.ts"
import * as Protocol from "./Protocol.ts"
import type { Terminated } from "./Terminated.ts"

/** A request the probe received: answer it with `respond`. */
export interface ReceivedRequest<P extends Protocol.Any> {
  readonly message: Protocol.Request<P>
  /** Replies to the caller (the probe handles nothing else until it does). */
  respond(reply: unknown): Effect.Effect<void>
}

/** An actor that records what it receives. */
export interface Probe<P extends Protocol.Any> {
  /** The probe's ref: send it messages, or pass it where a ref is expected. */
  readonly ref: ActorRef<P>
  /** Every message received so far, in order. */
  readonly received: ReadonlyArray<Protocol.Message<P>>
  /** The next message not yet expected; fails with {@link ProbeTimeout} after `timeout` (default 3 s). */
  expectMessage(options?: { readonly timeout?: Duration.Input }): Effect.Effect<Protocol.Message<P>, ProbeTimeout>
  /** The next message, which must have tag `tag`; fails with {@link UnexpectedMessage} otherwise. */
  expectMessageOf<K extends Protocol.Message<P>["_tag"]>(
    tag: K,
    options?: { readonly timeout?: Duration.Input }
  ): Effect.Effect<Extract<Protocol.Message<P>, { readonly _tag: K }>, ProbeTimeout | UnexpectedMessage>
  /** The next request; the caller waits until the test responds. */
  expectRequest(options?: { readonly timeout?: Duration.Input }): Effect.Effect<ReceivedRequest<P>, ProbeTimeout>
  /** Succeeds if no message arrives within `within` (real time); fails with {@link UnexpectedMessage} otherwise. */
  expectNoMessage(within: Duration.Input): Effect.Effect<void, UnexpectedMessage>
  /** Watches `ref` and waits for its termination notification. */
  expectTerminated(
    ref: ActorRef<Protocol.Any>,
    options?: { readonly timeout?: Duration.Input }
  ): Effect.Effect<Terminated, ProbeTimeout>
}

/** Nothing arrived in time. */
export class ProbeTimeout extends Schema.TaggedError<ProbeTimeout>()("ProbeTimeout", {
  probe: Schema.String,
  expected: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message() {
    return `${this.probe} expected ${this.expected} but nothing arrived within ${this.timeoutMillis} ms`
  }
}

/** Something else arrived. */
export class UnexpectedMessage extends Schema.TaggedError<UnexpectedMessage>()("UnexpectedMessage", {
  probe: Schema.String,
  expected: Schema.String,
  received: Schema.Unknown
}) {
  override get message() {
    return `${this.probe} expected ${this.expected} but received ${JSON.stringify(this.received)}`
  }
}

const live = Clock.Clock.defaultValue()

type Item = { readonly message: { readonly _tag: string }; readonly respond?: (reply: unknown) => Effect.Effect<void> }

/** Spawns a probe for protocol `P`; it is stopped when the scope closes. */
export const probe = <P extends Protocol.Any>(
  protocol: P,
  options: { readonly name?: string } = {}
): Effect.Effect<Probe<P>, SpawnError, ActorSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const system = yield* ActorSystem
    const inbox = yield* Queue.unbounded<Item>()
    const terminations = yield* Queue.unbounded<Terminated>()
    const received: Array<Protocol.Message<P>> = []
    const receive: Record<string, Behavior.Handler<P, string, null, never>> = {}
    for (const tag of protocol.tags) {
      receive[tag] = (
        Protocol.requestDef(protocol, tag) === undefined
          ? (state: null, message: { readonly _tag: string }) =>
              Effect.sync(() => {
                received.push(message as Protocol.Message<P>)
                Queue.offerUnsafe(inbox, { message })
                return state
              })
          : (state: null, message: { readonly _tag: string }) =>
              Effect.gen(function* () {
                const reply = yield* Deferred.make<unknown>()
                received.push(message as Protocol.Message<P>)
                Queue.offerUnsafe(inbox, { message, respond: (value) => Deferred.succeed(reply, value) })
                return { state, reply: yield* Deferred.await(reply) }
              })
      ) as never
    }
    const behavior = Behavior.make(protocol, {
      initial: null,
      receive: receive as unknown as Behavior.Handlers<P, null, never>,
      onTerminated: (state, terminated) => Effect.as(Queue.offer(terminations, terminated), state)
    })
    const ref = yield* system.spawn(behavior, options)
    yield* Effect.addFinalizer(() => system.stop(ref))
    const name = `probe ${ref.path}`

    const next = <A>(queue: Queue.Queue<A>, expected: string, timeout: Duration.Input | undefined) => {
      const timeoutMillis = Duration.toMillis(timeout ?? "3 seconds")
      return Queue.take(queue).pipe(
        Effect.timeoutOption(timeoutMillis),
        Effect.provideService(Clock.Clock, live),
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new ProbeTimeout({ probe: name, expected, timeoutMillis })),
            onSome: Effect.succeed
          })
        )
      )
    }

    const result: Probe<P> = {
      ref,
      received,
      expectMessage: (opts) =>
        Effect.map(next(inbox, "a message", opts?.timeout), (item) => item.message as Protocol.Message<P>),
      expectMessageOf: (tag, opts) =>
        Effect.flatMap(next(inbox, `a ${tag} message`, opts?.timeout), (item) =>
          item.message._tag === tag
            ? Effect.succeed(item.message as never)
            : Effect.fail(new UnexpectedMessage({ probe: name, expected: tag, received: item.message }))
        ),
      expectRequest: (opts) =>
        Effect.flatMap(next(inbox, "a request", opts?.timeout), (item) =>
          item.respond === undefined
            ? Effect.die(new Error(`${name} expected a request but received ${item.message._tag}`))
            : Effect.succeed({ message: item.message as Protocol.Request<P>, respond: item.respond })
        ),
      expectNoMessage: (within) =>
        Queue.take(inbox).pipe(
          Effect.timeoutOption(within),
          Effect.provideService(Clock.Clock, live),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.void,
              onSome: (item) =>
                Effect.fail(new UnexpectedMessage({ probe: name, expected: "no message", received: item.message }))
            })
          )
        ),
      expectTerminated: (watched, opts) =>
        Effect.andThen(
          internal(system).watch(localCell(ref)!, watched, undefined),
          next(terminations, `the termination of ${watched.path}`, opts?.timeout)
        )
    }
    return result
  })

/**
 * Fan-out / fan-in with a quorum and early stop (as Aegean's quorum serving does): n workers answer the same
 * task; as soon as `quorum` of them agree (their answers have the same key), that answer is taken and the
 * workers still running are interrupted, so their model calls end unfinished and are not paid. A worker that
 * fails counts as no answer; when agreement is no longer possible the gathering ends with {@link NoQuorum}.
 *
 * The run follows {@link protocol} (a coordinator and a family of workers: `task` to all, a `reply` from
 * each, its answer's key or why it has none, `done` to all), checked by every role's monitor; an
 * interrupted worker's reply is cast by the runtime.
 *
 * @example
 * ```ts
 * const result = yield* FanOut.gather({
 *   task: "What is 17 × 23?",
 *   workers: [1, 2, 3, 4, 5].map((i) => FanOut.worker(`w${i}`, (task) => askModel(task))),
 *   quorum: 3,
 *   key: (answer) => answer.trim()
 * })
 * result.answer // "391", agreed by 3; the other 2 were stopped
 * ```
 *
 * @since 0.1.0
 */
import { Choreography, type Diagram } from "@troupe/choreography"
import { Deferred, Effect, Fiber, Schema } from "effect"
import { conversation, describeCause } from "./internal/conversation.ts"

/** The fan-out protocol: a coordinator and a family of workers. */
export const protocol = Choreography.makeUnsafe(
  "FanOut",
  ["Coordinator", "Worker"],
  ($) => [
    $.message("Coordinator", "Worker", "task", Schema.String),
    // A family does not choose: a worker's reply carries its answer's key, or why it has none.
    $.message(
      "Worker",
      "Coordinator",
      "reply",
      Schema.Union([Schema.Struct({ answer: Schema.String }), Schema.Struct({ none: Schema.String })])
    ),
    $.message("Coordinator", "Worker", "done", Schema.String)
  ],
  { families: ["Worker"] }
)

/** A worker: a name and how it answers a task. */
export interface Worker<A, R = never> {
  readonly name: string
  readonly run: (task: string) => Effect.Effect<A, unknown, R>
}

/** A worker played by any Effect (a model's call, code, a person). */
export const worker = <A, R = never>(
  name: string,
  run: (task: string) => Effect.Effect<A, unknown, R>
): Worker<A, R> => ({
  name,
  run
})

/** Fewer than `quorum` workers could still agree. */
export class NoQuorum extends Schema.TaggedError<NoQuorum>()("NoQuorum", {
  quorum: Schema.Number,
  answers: Schema.Array(
    Schema.Struct({
      worker: Schema.String,
      key: Schema.optionalKey(Schema.String),
      failure: Schema.optionalKey(Schema.String)
    })
  )
}) {
  override get message(): string {
    return `No ${this.quorum} workers agreed: ${this.answers.map((a) => `${a.worker}: ${a.key ?? `failed (${a.failure})`}`).join("; ")}`
  }
}

/** A quorum that n workers cannot reach, or that is not a whole number from 1. */
export class InvalidQuorum extends Schema.TaggedError<InvalidQuorum>()("InvalidQuorum", {
  quorum: Schema.Number,
  workers: Schema.Number
}) {
  override get message(): string {
    return `A quorum of ${this.quorum} among ${this.workers} workers: give a whole number from 1 to ${this.workers}`
  }
}

/** Options of {@link gather}. */
export interface Options<A, R> {
  readonly task: string
  readonly workers: ReadonlyArray<Worker<A, R>>
  /** How many agreeing answers settle it (1 ≤ quorum ≤ workers). */
  readonly quorum: number
  /** What two answers must share to agree (default: their JSON). */
  readonly key?: ((answer: A) => string) | undefined
}

/** The answer agreed, who agreed, who was stopped, and the trace. */
export interface Gathered<A> {
  readonly answer: A
  readonly key: string
  readonly agreed: ReadonlyArray<string>
  /** Workers interrupted before they answered (not paid for). */
  readonly stopped: ReadonlyArray<string>
  readonly trace: ReadonlyArray<Diagram.TraceEvent>
}

type Reply<A> =
  | { readonly _tag: "answer"; readonly answer: A; readonly key: string }
  | { readonly _tag: "none"; readonly why: string }

/** Runs the fan-out (see the module documentation). */
export const gather = <A, R>(options: Options<A, R>): Effect.Effect<Gathered<A>, NoQuorum | InvalidQuorum, R> =>
  Effect.gen(function* () {
    const n = options.workers.length
    if (!(Number.isInteger(options.quorum) && options.quorum >= 1 && options.quorum <= n))
      return yield* new InvalidQuorum({ quorum: options.quorum, workers: n })
    const key = options.key ?? ((a: A) => JSON.stringify(a))
    const instance = Choreography.instantiateSync(protocol, { Worker: n })
    if (instance._tag !== "Protocol") return yield* Effect.die(instance)
    const members = options.workers.map((_, i) => `Worker[${i}]`)
    const { move, trace } = conversation(instance, `fanout-${crypto.randomUUID()}`)
    for (const m of members) move("Coordinator", m, "task", options.task)
    const replies: Array<Reply<A> | undefined> = members.map(() => undefined)
    const tally = new Map<string, Array<number>>()
    const settled = yield* Deferred.make<{ key: string } | undefined>()
    let open = n
    const reply = (i: number, r: Reply<A>) =>
      Effect.sync(() => {
        replies[i] = r
        open--
        if (r._tag === "answer") {
          const agreeing = tally.get(r.key) ?? []
          agreeing.push(i)
          tally.set(r.key, agreeing)
          if (agreeing.length >= options.quorum) return Deferred.doneUnsafe(settled, Effect.succeed({ key: r.key }))
        }
        const best = Math.max(0, ...[...tally.values()].map((a) => a.length))
        if (best + open < options.quorum) Deferred.doneUnsafe(settled, Effect.succeed(undefined))
      })
    const fibers = yield* Effect.forEach(options.workers, (w, i) =>
      w.run(options.task).pipe(
        Effect.matchCauseEffect({
          onSuccess: (answer) => reply(i, { _tag: "answer", answer, key: key(answer) }),
          onFailure: (cause) => reply(i, { _tag: "none", why: describeCause(cause) })
        }),
        Effect.forkChild({ startImmediately: true })
      )
    )
    const outcome = yield* Deferred.await(settled)
    yield* Fiber.interruptAll(fibers)
    const stopped: Array<string> = []
    replies.forEach((r, i) => {
      if (r === undefined) stopped.push(options.workers[i]!.name)
      const sent = r ?? { _tag: "none", why: "stopped: the quorum was reached without it" }
      move(members[i]!, "Coordinator", "reply", sent._tag === "answer" ? { answer: sent.key } : { none: sent.why })
    })
    for (const m of members) move("Coordinator", m, "done", outcome?.key ?? "no quorum")
    if (outcome === undefined)
      return yield* new NoQuorum({
        quorum: options.quorum,
        answers: replies.map((r, i) =>
          r?._tag === "answer"
            ? { worker: options.workers[i]!.name, key: r.key }
            : { worker: options.workers[i]!.name, failure: r?.why ?? "stopped" }
        )
      })
    const agreed = tally.get(outcome.key)!
    const first = replies[agreed[0]!] as Reply<A> & { _tag: "answer" }
    return {
      answer: first.answer,
      key: outcome.key,
      agreed: agreed.map((i) => options.workers[i]!.name),
      stopped,
      trace
    }
  })

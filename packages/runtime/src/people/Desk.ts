/**
 * The desk: questions that wait for a person. A session role played by a person asks for its next move; a
 * tool call that needs approval asks whether to run it. Each actor system (each node) has one desk. Whoever
 * asks waits until a person answers: on the inspector's page, in a terminal (`troupe session play`), or from
 * code ({@link answer}). Each answer is checked by the asker (a move must be legal now and its payload must
 * decode; edited tool arguments must decode): a wrong answer is refused with what was wrong, and the question
 * stays open. Interrupting the asker withdraws its question.
 *
 * With a {@link Journal} in context, a question asked with a `key` that was already answered (by a role that
 * resumes after a crash, say) gets the recorded answer at once instead of asking again.
 *
 * @example
 * ```ts
 * // ask, on the desk of the actor system this fiber runs in
 * const ok = yield* Desk.ask({
 *   kind: "confirm",
 *   title: "Delete 3 files?",
 *   detail: { files: ["a", "b", "c"] },
 *   check: (answer) => (typeof answer === "boolean" ? Effect.succeed(answer) : Effect.fail("answer true or false"))
 * })
 * // answer, from anywhere that has the system
 * const [question] = yield* Desk.of(system).pending
 * yield* Desk.of(system).answer(question.id, true, "alice")
 * ```
 */
import { Context, Deferred, Effect, Option, PubSub, Schema, type Scope, Stream } from "effect"
import { ActorSystem, type ActorSystemService, internal } from "../ActorSystem.ts"
import { CurrentRole } from "../choreography/internal/currentRole.ts"
import { CurrentActor } from "../internal/cell.ts"
import type { SystemImpl } from "../internal/system.ts"

/** A question waiting for a person. Everything in it is plain JSON, for pages and terminals. */
export interface Question {
  readonly id: string
  /** What is asked: `"move"` (a session role's next move), `"approval"` (a tool call), or your own kind. */
  readonly kind: string
  /** One line for lists, e.g. `B's move in session s-1 of TwoBuyer`. */
  readonly title: string
  /** The actor that asks, when an actor does. */
  readonly path: string | undefined
  /** The session role it belongs to, when it is asked in a role's program. */
  readonly session: string | undefined
  readonly protocol: string | undefined
  readonly role: string | undefined
  /** When it was asked (epoch millis). */
  readonly asked: number
  /** What a person needs to answer it (JSON): the legal moves with their payloads' JSON Schemas, a tool call... */
  readonly detail: unknown
}

/** What happens on a desk. */
export type Change =
  | { readonly _tag: "Asked"; readonly question: Question }
  | { readonly _tag: "Answered"; readonly id: string; readonly by: string; readonly answer: unknown }
  | { readonly _tag: "Withdrawn"; readonly id: string }

/** No question with this id waits: it was answered, withdrawn, or never asked. */
export class NoSuchQuestion extends Schema.TaggedError<NoSuchQuestion>()("NoSuchQuestion", { id: Schema.String }) {
  override get message() {
    return `No question ${this.id} waits for an answer (it was answered or withdrawn)`
  }
}

/** The asker checked the answer and refused it; `reason` says what was wrong. The question stays open. */
export class AnswerRefused extends Schema.TaggedError<AnswerRefused>()("AnswerRefused", {
  id: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `The answer to ${this.id} was refused: ${this.reason}`
  }
}

/** A node's desk. */
export interface Desk {
  /** The questions waiting now, oldest first. */
  readonly pending: Effect.Effect<ReadonlyArray<Question>>
  /** Subscribes now: the stream yields every change after this effect. */
  readonly changes: Effect.Effect<Stream.Stream<Change>, never, Scope.Scope>
  /** Answers a question as `by` (default `"a person"`); fails when it is not waiting or the asker refuses the answer. */
  answer(id: string, answer: unknown, by?: string): Effect.Effect<void, NoSuchQuestion | AnswerRefused>
}

/** What a question is about, and how its answer is checked. */
export interface Ask<A> {
  readonly kind: string
  readonly title: string
  readonly detail: unknown
  /** Checks an answer: the value the asker gets, or why the answer is refused. */
  readonly check: (answer: unknown) => Effect.Effect<A, string>
  /**
   * A key that names this question across restarts (e.g. session, role and step): with a {@link Journal}
   * in context, an answer recorded under it is used again instead of asking.
   */
  readonly key?: string | undefined
}

/**
 * Where answers are recorded, so that a question asked again after a crash gets its answer back. Durable
 * storage implements it; {@link memoryJournal} keeps answers for the life of the process.
 */
export class Journal extends Context.Service<
  Journal,
  {
    readonly lookup: (key: string) => Effect.Effect<Option.Option<unknown>>
    readonly record: (key: string, answer: unknown, by: string) => Effect.Effect<void>
  }
>()("@troupe/runtime/Desk/Journal") {}

/** A journal in memory. */
export const memoryJournal = (): Journal["Service"] => {
  const answers = new Map<string, unknown>()
  return Journal.of({
    lookup: (key) => Effect.sync(() => (answers.has(key) ? Option.some(answers.get(key)) : Option.none())),
    record: (key, answer) => Effect.sync(() => void answers.set(key, answer))
  })
}

interface Waiting {
  readonly question: Question
  readonly check: (answer: unknown) => Effect.Effect<unknown, string>
  readonly done: Deferred.Deferred<{ readonly value: unknown; readonly answer: unknown; readonly by: string }>
}

class DeskImpl implements Desk {
  readonly waiting = new Map<string, Waiting>()
  readonly hub = Effect.runSync(PubSub.unbounded<Change>())
  next = 0

  readonly pending = Effect.sync(() => [...this.waiting.values()].map((w) => w.question))

  readonly changes = Effect.map(PubSub.subscribe(this.hub), Stream.fromSubscription)

  answer(id: string, answer: unknown, by = "a person"): Effect.Effect<void, NoSuchQuestion | AnswerRefused> {
    return Effect.suspend(() => {
      const waiting = this.waiting.get(id)
      if (waiting === undefined) return Effect.fail(new NoSuchQuestion({ id }))
      return waiting.check(answer).pipe(
        Effect.mapError((reason) => new AnswerRefused({ id, reason })),
        Effect.flatMap((value) =>
          Effect.suspend(() => {
            // answered meanwhile by someone else, or withdrawn
            if (this.waiting.get(id) !== waiting) return Effect.fail(new NoSuchQuestion({ id }))
            this.waiting.delete(id)
            PubSub.publishUnsafe(this.hub, { _tag: "Answered", id, by, answer })
            return Deferred.succeed(waiting.done, { value, answer, by })
          })
        ),
        Effect.asVoid
      )
    })
  }

  ask<A>(
    spec: Ask<A>,
    where: Omit<Question, "id" | "kind" | "title" | "detail" | "asked">
  ): Effect.Effect<{ readonly value: A; readonly answer: unknown; readonly by: string }> {
    const self = this
    return Effect.gen(function* () {
      const done = yield* Deferred.make<{ readonly value: unknown; readonly answer: unknown; readonly by: string }>()
      const id = `q${++self.next}`
      const question: Question = {
        id,
        kind: spec.kind,
        title: spec.title,
        ...where,
        asked: Date.now(),
        detail: spec.detail
      }
      return yield* Effect.acquireUseRelease(
        Effect.sync(() => {
          self.waiting.set(id, { question, check: spec.check, done })
          PubSub.publishUnsafe(self.hub, { _tag: "Asked", question })
        }),
        () => Deferred.await(done),
        () =>
          Effect.sync(() => {
            if (self.waiting.get(id)?.done !== done) return
            self.waiting.delete(id)
            PubSub.publishUnsafe(self.hub, { _tag: "Withdrawn", id })
          })
      ) as Effect.Effect<{ readonly value: A; readonly answer: unknown; readonly by: string }>
    })
  }
}

const deskKey = { name: "@troupe/runtime/Desk" }

const deskOf = (system: SystemImpl): DeskImpl => system.extension(deskKey, () => new DeskImpl())

/** The desk of a node. */
export const of = (system: ActorSystemService): Desk => deskOf(internal(system))

/** What {@link ask} answers: the checked value, and who answered. */
export interface Answered<A> {
  readonly value: A
  /** Who answered (`"journal"` when the answer came from a {@link Journal}). */
  readonly by: string
}

/**
 * Asks a person, on the desk of the actor system the current fiber works in (the current actor's, else the
 * `ActorSystem` in context), and waits for an answer that passes `check`. Dies when there is no actor system:
 * a person answers on a node's desk.
 */
export const ask = <A>(spec: Ask<A>): Effect.Effect<Answered<A>> =>
  Effect.gen(function* () {
    const actor = yield* CurrentActor
    const system =
      actor?.system ??
      Option.match(yield* Effect.serviceOption(ActorSystem), { onNone: () => undefined, onSome: internal })
    if (system === undefined) {
      return yield* Effect.die(
        new Error(`Desk.ask(${spec.title}): no actor system; a person answers on the desk of a node's actor system`)
      )
    }
    const journal = spec.key === undefined ? undefined : Option.getOrUndefined(yield* Effect.serviceOption(Journal))
    if (journal !== undefined && spec.key !== undefined) {
      const recorded = yield* journal.lookup(spec.key)
      if (Option.isSome(recorded)) {
        const checked = yield* Effect.result(spec.check(recorded.value))
        if (checked._tag === "Success") return { value: checked.success, by: "journal" }
      }
    }
    const role = yield* CurrentRole
    const answered = yield* deskOf(system).ask(spec, {
      path: role?.path ?? actor?.path,
      session: role?.session,
      protocol: role?.protocol,
      role: role?.role
    })
    if (journal !== undefined && spec.key !== undefined) yield* journal.record(spec.key, answered.answer, answered.by)
    return { value: answered.value, by: answered.by }
  })

/**
 * People at a terminal. {@link layer} answers the questions of this node's desk (tool calls to approve, moves
 * of roles played by people) from the terminal the program runs in. {@link play} plays a role of a session
 * from a terminal anywhere, through the inspector of any node of the cluster: it shows the messages the role
 * receives and, at each of its moves, offers exactly the moves its local type allows now and reads the
 * payload field by field (this is `troupe session play`).
 *
 * @example
 * ```ts
 * // a person at this terminal approves the agent's tool calls
 * program.pipe(Effect.provide(Terminal.layer()), Effect.provide(ActorSystem.layer()))
 * ```
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { ActorSystem, Desk } from "@troupe/runtime"
import { Effect, Layer, Option, Queue, Schedule, Schema, Stream, Terminal as Tty } from "effect"
import { answer, type Io } from "./internal/prompt.ts"
import * as View from "./View.ts"

const terminalIo = Effect.gen(function* () {
  const tty = yield* Tty.Terminal
  return {
    display: (text) => Effect.orDie(tty.display(text)),
    readLine: tty.readLine,
    echoes: process.stdin.isTTY === true
  } satisfies Io
})

/** Options of {@link layer}. */
export interface Options {
  /** Which questions to answer: by kind (default all: `"approval"`, `"move"`, ...). */
  readonly kinds?: ReadonlyArray<string> | undefined
  /** Who answers, as the trace records it. Default `"a person at the terminal"`. */
  readonly by?: string | undefined
}

/** Answers the questions of this node's desk, one at a time, from this terminal, while the layer lives. */
export const layer = (options: Options = {}): Layer.Layer<never, never, ActorSystem.ActorSystem> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const desk = Desk.of(yield* ActorSystem.ActorSystem)
      const io = yield* terminalIo
      const asked = yield* Queue.unbounded<Desk.Question>()
      const changes = yield* desk.changes
      for (const question of yield* desk.pending) yield* Queue.offer(asked, question)
      yield* Effect.forkScoped(
        Stream.runForEach(changes, (change) =>
          change._tag === "Asked" ? Queue.offer(asked, change.question) : Effect.void
        )
      )
      const by = options.by ?? "a person at the terminal"
      const take = (question: Desk.Question): Effect.Effect<void> =>
        Effect.gen(function* () {
          if (options.kinds !== undefined && !options.kinds.includes(question.kind)) return
          if (!(yield* desk.pending).some((q) => q.id === question.id)) return
          const reply = yield* answer(io, question)
          const done = yield* Effect.result(desk.answer(question.id, reply, by))
          if (done._tag === "Failure") {
            yield* io.display(`  ${done.failure.message}\n`)
            if (done.failure._tag === "AnswerRefused") return yield* take(question)
          }
        }).pipe(Effect.catchTag("QuitError", () => Effect.void))
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(asked), take)))
    })
  ).pipe(Layer.provide(NodeTerminal.layer))

/** Where and how to play. */
export interface PlayOptions {
  /** The inspector's address, e.g. `http://127.0.0.1:4000/`. */
  readonly inspector: string
  readonly session: string
  readonly role: string
  /** The inspector's token (needed to answer). */
  readonly token?: string | undefined
  /** Who plays, as the trace records it. Default `"a person at a terminal"`. */
  readonly by?: string | undefined
}

/** The inspector could not be reached, or refused to answer. */
export class PlayError extends Schema.TaggedError<PlayError>()("PlayError", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

/** How the session ended for the role: `"completed"` or `"aborted"` (with why). */
export interface Played {
  readonly outcome: "completed" | "aborted"
  readonly cause: string | undefined
}

/**
 * The states of an inspector's page, from its event stream: a `reset`, then numbered patches. When batches were
 * lost (this reader fell behind, say while a person thought) or the stream ended, it connects again.
 */
const states = (inspector: string): Stream.Stream<View.State, PlayError> =>
  Stream.unwrap(
    Effect.tryPromise({
      try: (signal) => fetch(new URL("api/events", inspector), { signal }),
      catch: (error) => new PlayError({ reason: `Cannot reach the inspector at ${inspector}: ${String(error)}` })
    }).pipe(
      Effect.filterOrFail(
        (response) => response.ok && response.body !== null,
        (response) => new PlayError({ reason: `The inspector at ${inspector} answered ${response.status}` })
      ),
      Effect.map((response) => {
        let state: View.State | undefined
        let last = 0
        return Stream.fromReadableStream({
          evaluate: () => response.body!,
          onError: (error) => new PlayError({ reason: `The inspector's stream broke: ${String(error)}` })
        }).pipe(
          Stream.decodeText,
          Stream.splitLines,
          Stream.mapAccum(
            () => ({ id: 0, event: "", data: "" }),
            (acc, line) => {
              if (line.startsWith("id: ")) return [{ ...acc, id: Number(line.slice(4)) }, []]
              if (line.startsWith("event: ")) return [{ ...acc, event: line.slice(7) }, []]
              if (line.startsWith("data: ")) return [{ ...acc, data: acc.data + line.slice(6) }, []]
              if (line !== "") return [acc, []]
              return [{ id: 0, event: "", data: "" }, acc.data === "" ? [] : [acc]]
            }
          ),
          // a gap in the numbers ends this stream; it starts again from a reset
          Stream.takeWhile(({ id, event }) => event !== "patch" || id === last + 1),
          Stream.map(({ id, event, data }) => {
            last = id
            if (event === "reset") state = JSON.parse(data) as View.State
            else if (event === "patch" && state !== undefined)
              for (const patch of JSON.parse(data) as ReadonlyArray<View.Patch>) View.apply(state, patch)
            return state
          }),
          Stream.filter((s): s is View.State => s !== undefined)
        )
      })
    )
  ).pipe(Stream.repeat(Schedule.spaced("200 millis")))

/**
 * Plays `role` of `session` from this terminal through a node's inspector, until the session ends: shows
 * each message the role receives, and asks the person for each of its moves (offering only the legal ones).
 */
export const play = (options: PlayOptions): Effect.Effect<Played, PlayError | Tty.QuitError, Tty.Terminal> =>
  Effect.gen(function* () {
    const io = yield* terminalIo
    const by = options.by ?? "a person at a terminal"
    const shown = new Set<string>()
    const answered = new Set<string>()
    let announced = false
    const post = (node: string, question: string, reply: unknown) =>
      Effect.tryPromise({
        try: async () => {
          const response = await fetch(new URL("api/act", options.inspector), {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${options.token ?? ""}` },
            body: JSON.stringify({ kind: "answer", node, question, answer: reply, by })
          })
          const body = (await response.json()) as { readonly error?: string }
          return response.ok ? undefined : (body.error ?? response.statusText)
        },
        catch: (error) => new PlayError({ reason: `Cannot reach the inspector: ${String(error)}` })
      })
    const result = yield* states(options.inspector).pipe(
      Stream.mapEffect((state) =>
        Effect.gen(function* () {
          const header = Object.values(state.nodes)
            .map((part) => part.sessions[options.session])
            .find((s) => s?.started !== undefined || s?.ended !== undefined)
          if (!announced && header !== undefined) {
            announced = true
            yield* io.display(`Playing ${options.role} in session ${options.session} of ${header.protocol}\n`)
          }
          for (const entry of View.sessionEntries(state, options.session)) {
            const key = `${entry.node}:${entry.at}:${entry.kind}:${entry.label}:${entry.peer}`
            if (entry.role !== options.role || shown.has(key)) continue
            shown.add(key)
            if (entry.kind === "receive")
              yield* io.display(`  ← ${entry.peer}: ${entry.label}(${entry.payload === "null" ? "" : entry.payload})\n`)
            else if (entry.kind === "send") yield* io.display(`  → ${entry.peer}: ${entry.label}\n`)
            else if (entry.text !== undefined) yield* io.display(`  · ${entry.text}\n`)
          }
          const ended = Object.values(state.nodes)
            .map((part) => part.sessions[options.session])
            .find((s) => s?.ended !== undefined)
          if (ended !== undefined)
            return Option.some<Played>({ outcome: ended.outcome ?? "aborted", cause: ended.cause?.message })
          for (const part of Object.values(state.nodes)) {
            for (const question of Object.values(part.questions)) {
              if (question.session !== options.session || question.role !== options.role) continue
              if (answered.has(`${part.node}/${question.id}`)) continue
              for (;;) {
                const reply = yield* answer(io, question)
                const refused = yield* post(part.node, question.id, reply)
                if (refused === undefined) break
                yield* io.display(`  ${refused}\n`)
                if (!/refused/.test(refused)) break
              }
              answered.add(`${part.node}/${question.id}`)
            }
          }
          return Option.none<Played>()
        })
      ),
      Stream.filter(Option.isSome),
      Stream.map((played) => played.value),
      Stream.runHead
    )
    if (Option.isNone(result))
      return yield* new PlayError({ reason: "The inspector's stream ended before the session" })
    yield* io.display(
      `Session ${options.session} ${result.value.outcome}${result.value.cause === undefined ? "" : `: ${result.value.cause}`}\n`
    )
    return result.value
  })

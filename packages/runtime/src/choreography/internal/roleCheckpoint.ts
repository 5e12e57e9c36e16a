/**
 * A restartable role's checkpoint (in a session that is not durable): the moves its program made, in order (the
 * sends that left, the messages it took, the results of its `once` effects). After the actor restarts, the
 * program runs again from its start against the checkpoint, which answers its moves until it is replayed to its
 * end; the program then goes on live. A program that does something else than what was recorded has diverged.
 */
import type { Endpoint } from "@troupe/choreography"

/** A move recorded in a restartable role's checkpoint. */
export type LogEntry =
  | { readonly _tag: "send"; readonly to: string; readonly label: string }
  | { readonly _tag: "receive"; readonly message: Endpoint.Incoming }
  | { readonly _tag: "once"; readonly value: unknown }

/**
 * The moves a restartable role made, and how far its program, run again, has replayed them.
 *
 * @example
 * // const checkpoint = new Checkpoint()
 * // checkpoint.record({ _tag: "send", to: "B", label: "hello" })
 * // checkpoint.rewind() // after a restart: checkpoint.next() is the send to B again
 */
export class Checkpoint {
  private readonly entries: Array<LogEntry> = []
  private cursor = 0
  /** Whether the last message the program received came from the checkpoint (it is not a new step). */
  replayed = false

  /** The program runs again from its start. */
  rewind(): void {
    this.cursor = 0
  }

  /** The recorded move the program is at, while it replays (`undefined` once it is live). */
  next(): LogEntry | undefined {
    return this.entries[this.cursor]
  }

  /** The program made the recorded move it was at. */
  advance(): void {
    this.cursor++
  }

  /** The program, live, made a move: recorded. */
  record(entry: LogEntry): void {
    this.entries.push(entry)
    this.cursor++
  }

  /** The recorded move the program is at, as a trace writes it (`B!hello`, `A?hello`, `once`). */
  describeNext(): string {
    const entry = this.entries[this.cursor]!
    return entry._tag === "send"
      ? `${entry.to}!${entry.label}`
      : entry._tag === "receive"
        ? `${entry.message.from}?${entry.message.label}`
        : "once"
  }
}

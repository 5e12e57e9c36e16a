/**
 * A user send waiting for room in a link's window (see `Link.wait`): what it will put in the resend buffer, and who
 * hears once it is there or failed.
 */
import type * as Envelope from "../Envelope.ts"
import type { SendError } from "../TransportError.ts"

/**
 * A send waiting for room in the window: `done` is called once it is in the resend buffer, or failed.
 *
 * @example
 * ```ts
 * const waiter = new Waiter(json, bytes, undefined, (error) => console.log(error ?? "in the buffer"))
 * waiter.done(undefined)
 * ```
 */
export class Waiter {
  readonly json: string
  readonly bytes: number
  readonly template: Envelope.Template | undefined
  private listener: ((error: SendError | undefined) => void) | undefined
  /** How it ended, while no listener heard it (null: not yet). */
  private outcome: SendError | undefined | null = null
  cancelled = false
  constructor(
    json: string,
    bytes: number,
    template: Envelope.Template | undefined,
    listener: ((error: SendError | undefined) => void) | undefined
  ) {
    this.json = json
    this.bytes = bytes
    this.template = template
    this.listener = listener
  }
  done(error: SendError | undefined): void {
    if (this.listener === undefined) this.outcome = error
    else this.listener(error)
  }
  onDone(listener: (error: SendError | undefined) => void): void {
    if (this.outcome === null) this.listener = listener
    else listener(this.outcome)
  }
}

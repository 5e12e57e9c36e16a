/**
 * The ref to an actor of this node: a tell or an ask goes straight into the actor's cell.
 */
import { Effect } from "effect"
import type { AskOptions } from "../ActorRef.ts"
import { type ActorRef, TypeId } from "../ActorRef.ts"
import type { MailboxFull } from "../Mailbox.ts"
import type * as Protocol from "../Protocol.ts"
import { askTimeoutMillis } from "./askDeadline.ts"
import type { ActorCell } from "./cell.ts"

/** A ref to an actor of this node. */
export class LocalActorRef<P extends Protocol.Any> implements ActorRef<P> {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly cell: ActorCell
  constructor(cell: ActorCell) {
    this.cell = cell
  }
  get protocol(): P {
    return this.cell.protocol as P
  }
  get path(): string {
    return this.cell.path
  }
  get name(): string {
    return this.cell.name
  }
  get node(): string {
    return this.cell.system.node
  }
  tell(message: Protocol.Message<P>): Effect.Effect<void, MailboxFull> {
    return Effect.withFiber((fiber) => this.cell.tell(message as { _tag: string }, fiber))
  }
  ask<M extends Protocol.Request<P>>(message: M, options?: AskOptions) {
    const timeoutMillis = askTimeoutMillis(
      options?.timeout,
      this.cell.system.askTimeoutMillis,
      this.cell.path,
      (message as { readonly _tag: string })._tag
    )
    if (typeof timeoutMillis !== "number") return Effect.fail(timeoutMillis) as never
    return Effect.withFiber((fiber) =>
      this.cell.ask(message as unknown as { _tag: string }, fiber, timeoutMillis)
    ) as never
  }
  toString(): string {
    return `ActorRef(${this.cell.path})`
  }
  toJSON(): unknown {
    return { _id: "ActorRef", node: this.node, path: this.path }
  }
}

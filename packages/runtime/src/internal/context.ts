/**
 * What a behaviour's handlers see of their actor: the context (`ctx`) and its timers (`ctx.timers`), each a
 * thin view of the actor's cell.
 */
import { Duration, Effect, Option } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type { SpawnOptions } from "../ActorSystem.ts"
import type { ActorContext, Behavior, Timers } from "../Behavior.ts"
import type * as Protocol from "../Protocol.ts"
import { cancelTimer, startTimer } from "./cell/timers.ts"
import type { ActorCell } from "./cell.ts"

/** The context handed to a behaviour's handlers: one field, made per use, so that an idle actor keeps none. */
export class ContextImpl implements ActorContext<Protocol.Any> {
  private readonly cell: ActorCell
  constructor(cell: ActorCell) {
    this.cell = cell
  }
  get timers(): Timers<Protocol.Any> {
    return new TimersImpl(this.cell)
  }
  get self() {
    return this.cell.ref
  }
  get sender() {
    return Option.fromUndefinedOr(this.cell.currentSender)
  }
  get system() {
    return this.cell.system.service
  }
  get children() {
    return [...(this.cell.children?.values() ?? [])].map((child) => child.ref)
  }
  get scope() {
    return this.cell.scope_()
  }
  spawn<Q extends Protocol.Any, S, R>(behavior: Behavior<Q, S, R>, options?: SpawnOptions) {
    return this.cell.system.spawn(this.cell, behavior, options)
  }
  stop(child: ActorRef<Protocol.Any>) {
    return this.cell.system.stop(child)
  }
  get stopSelf() {
    return Effect.sync(() => this.cell.requestStopAfterCurrent())
  }
  watch(ref: ActorRef<Protocol.Any>) {
    return this.cell.system.watch(this.cell, ref, undefined)
  }
  watchWith(ref: ActorRef<Protocol.Any>, message: Protocol.Message<Protocol.Any>) {
    return this.cell.system.watch(this.cell, ref, message)
  }
  unwatch(ref: ActorRef<Protocol.Any>) {
    return this.cell.system.unwatch(this.cell, ref)
  }
  get stash() {
    return this.cell.requestStash()
  }
  get unstashAll() {
    return Effect.sync(() => this.cell.requestUnstash())
  }
  fork<A, E, R>(effect: Effect.Effect<A, E, R>) {
    return Effect.forkIn(effect, this.cell.scope_())
  }
}

/** An actor's timers, as its handlers see them (`ctx.timers`). */
class TimersImpl implements Timers<Protocol.Any> {
  private readonly cell: ActorCell
  constructor(cell: ActorCell) {
    this.cell = cell
  }
  startSingle(key: string, message: Protocol.Message<Protocol.Any>, delay: Duration.Input) {
    return Effect.sync(() => startTimer(this.cell, key, message, Duration.toMillis(delay), undefined))
  }
  startPeriodic(key: string, message: Protocol.Message<Protocol.Any>, interval: Duration.Input) {
    return Effect.sync(() => {
      const millis = Duration.toMillis(interval)
      startTimer(this.cell, key, message, millis, millis)
    })
  }
  cancel(key: string) {
    return Effect.sync(() => cancelTimer(this.cell, key))
  }
  isActive(key: string) {
    return this.cell.timers?.has(key) ?? false
  }
}

/** Refs of the Promise API (`Troupe.Ref`): an actor found at each call, messages sent durably when asked. */
import { Effect, Option } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type * as ActorSystem from "../ActorSystem.ts"
import * as Durable from "../durable/Durable.ts"
import { Storage } from "../durable/Storage.ts"
import type * as Protocol from "../Protocol.ts"
import type { Ref } from "../Troupe.ts"

/** The Effect ref of a Promise ref (spawning an agent by id first), or the Effect ref itself. */
export const actorOf = <P extends Protocol.Any>(target: Ref<P> | ActorRef<P>): Promise<ActorRef<P>> =>
  "actorRef" in target ? target.actorRef() : Promise.resolve(target)

/** A durable message needs the troupe's storage: a clear error when it has none. */
const withStorage = <A, E>(effect: Effect.Effect<A, E, Storage>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.serviceOption(Storage), (storage) =>
    Option.isSome(storage)
      ? Effect.provideService(effect, Storage, storage.value)
      : Effect.die(
          new Error(
            'A durable message needs storage: give Troupe.start a Storage layer among its services, e.g. Storage.layerSqlite({ filename: "troupe.db" })'
          )
        )
  )

/** A Promise ref whose actor is found by `resolve` at each call; `stop` stops it if it runs. */
export const makeRef = <P extends Protocol.Any>(
  path: string,
  resolve: () => Promise<ActorRef<P>>,
  run: <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>) => Promise<A>,
  stop: () => Promise<void>
): Ref<P> => ({
  path,
  tell: (message, options) =>
    resolve().then((actor) =>
      run<void, unknown>(
        options?.durable === true ? withStorage(Durable.tell(actor, message, options)) : actor.tell(message)
      )
    ),
  ask: (message, options) =>
    resolve().then((actor) =>
      run(options?.durable === true ? withStorage(Durable.ask(actor, message, options)) : actor.ask(message, options))
    ),
  stop,
  actorRef: resolve
})

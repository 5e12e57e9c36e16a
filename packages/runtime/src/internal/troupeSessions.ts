/**
 * The sessions a troupe starts (`Troupe.startSession`): their roles' refs resolved, their events recorded from
 * the start, their scope closed once they are over, and those still running ended when the troupe shuts down.
 */
import type { Choreography as Choreographies } from "@troupe/choreography"
import { type Effect, Exit, Scope } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type { ActorSystem } from "../ActorSystem.ts"
import * as Session from "../choreography/Session.ts"
import type * as Protocol from "../Protocol.ts"
import type { Ref, ResultsOf, Roles, SessionHandle, SessionOptions } from "../Troupe.ts"
import type { EventFeed } from "./eventFeed.ts"
import { actorOf } from "./promiseRef.ts"

type Run = <A, E>(effect: Effect.Effect<A, E, ActorSystem>) => Promise<A>

/** The sessions of one troupe (see the top of this file). */
export class TroupeSessions {
  private readonly running = new Set<{ readonly end: () => Promise<void> }>()
  private readonly run: Run
  private readonly feed: EventFeed

  constructor(run: Run, feed: EventFeed) {
    this.run = run
    this.feed = feed
  }

  /** Starts a session (see `Session.start`), recorded by the feed from its start. */
  async start<P extends Choreographies.Protocol, const B extends Roles<P>>(
    protocol: P,
    sessionOptions: SessionOptions<P, B>
  ): Promise<SessionHandle<ResultsOf<B>>> {
    const roles = Object.fromEntries(
      await Promise.all(
        Object.entries(
          sessionOptions.roles as Readonly<Record<string, Ref<Protocol.Any> | ActorRef<Protocol.Any>>>
        ).map(async ([role, target]) => [role, await actorOf(target)] as const)
      )
    )
    const id = sessionOptions.id ?? crypto.randomUUID()
    await this.feed.expectSession(id)
    const scope = await this.run(Scope.make())
    const handle = await this.run(
      Session.start(protocol, { ...sessionOptions, id, roles } as unknown as Session.Options<
        P,
        Session.Bindings<P>
      >).pipe(Scope.provide(scope))
    ).catch(async (error: unknown) => {
      await this.run(Scope.close(scope, Exit.void))
      throw error
    })
    const result = this.run(handle.await) as Promise<Session.Completed<ResultsOf<B>>>
    // once the session is over: its scope closed, and it is forgotten by shutdown
    const over = result
      .then(
        () => undefined,
        () => undefined
      )
      .then(() => this.run(Scope.close(scope, Exit.void)))
      .finally(() => this.running.delete(entry))
    const entry = { end: () => this.run(handle.abort("the troupe shut down")).then(() => over) }
    this.running.add(entry)
    return {
      id,
      protocol: protocol.name,
      result,
      abort: (reason) => this.run(handle.abort(reason)).then(() => over)
    }
  }

  /** Ends the sessions still running (at shutdown) and resolves once they are over. */
  async endAll(): Promise<void> {
    await Promise.all([...this.running].map((session) => session.end()))
  }
}

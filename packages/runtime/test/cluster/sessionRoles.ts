/**
 * The sharded roles of the multi-runner session tests: the durable tests' ledger choreography (a client makes
 * deposits at a bank, which has each recorded by an auditor), its three roles as sharded types. Each `once`
 * effect of a bank or auditor prints `{"event":"once","key":"<session>/<role>/<n>"}` on its runner's stdout, so
 * that the test sees an effect run twice; a bank takes 20 ms per deposit, so that sessions are in flight when a
 * runner is killed.
 */
import { Sharded } from "@troupe/runtime"
import { Effect } from "effect"
import { auditor, bank, client } from "../durable/ledger.ts"

/** How many deposits a session's client makes: the number its id ends with. */
export const roundsOf = (session: string): number => Number(/(\d+)$/.exec(session)?.[1] ?? 10)

const once = (session: string, role: string, n: number) =>
  Effect.andThen(
    role === "B" ? Effect.sleep("20 millis") : Effect.void,
    Effect.sync(() => console.log(JSON.stringify({ event: "once", key: `${session}/${role}/${n}` })))
  )

export const Clients = Sharded.make("SessionClient", { behavior: () => client(roundsOf), buckets: 64 })
export const Banks = Sharded.make("SessionBank", { behavior: () => bank(once), buckets: 64 })
export const Auditors = Sharded.make("SessionAuditor", { behavior: () => auditor(once), buckets: 64 })

/**
 * A process with durable accounts (entities on SQLite or PostgreSQL) for the kill -9 tests, driven by JSON lines
 * on stdin (see `node-process.ts`):
 *
 *   node test/support/durable-node.ts '{"sqlite":"/tmp/x.db","kill":{"at":"handler","nth":3}}'
 *
 * `deposit` sends a durable ask to an account and answers `ack` with the balance once the deposit is committed;
 * `report` answers an account's state: its balance and how many times each deposit id was applied to it.
 * With `kill`, the process SIGKILLs itself at the `nth` deposit: inside the handler (`handler`), or after the
 * commit and before the acknowledgement is printed (`after-commit`).
 */
import { ActorSystem, Behavior, Durable, Entity, Protocol, Storage } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import { emit, main, serve } from "./node-process.ts"

export interface Config {
  readonly sqlite?: string
  readonly postgres?: string
  readonly kill?: { readonly at: "handler" | "after-commit"; readonly nth: number }
}

export type Command =
  | {
      readonly id: number
      readonly cmd: "deposit"
      readonly account: string
      readonly amount: number
      readonly ref: string
    }
  | { readonly id: number; readonly cmd: "report"; readonly account: string }
  | { readonly id: number; readonly cmd: "stop" }

export const AccountState = Schema.Struct({
  balance: Schema.Number,
  applied: Schema.Record(Schema.String, Schema.Number)
})
type AccountState = typeof AccountState.Type

export const Account = Protocol.make("Account", {
  Deposit: Protocol.request({ amount: Schema.Number, ref: Schema.String }, { success: Schema.Number }),
  Report: Protocol.request({}, { success: AccountState })
})

const config = JSON.parse(process.argv[2] ?? "{}") as Config
const die = () => process.kill(process.pid, "SIGKILL")
let handled = 0
let acked = 0

const Accounts = Entity.make("account", Account, {
  state: AccountState,
  passivateAfter: "200 millis",
  behavior: () =>
    Behavior.make(Account, {
      initial: { balance: 0, applied: {} } as AccountState,
      receive: {
        Deposit: (state, { amount, ref }) =>
          Effect.sync(() => {
            if (config.kill?.at === "handler" && ++handled === config.kill.nth) die()
            const balance = state.balance + amount
            return {
              state: { balance, applied: { ...state.applied, [ref]: (state.applied[ref] ?? 0) + 1 } },
              reply: balance
            }
          }),
        Report: (state) => Effect.succeed({ state, reply: state })
      }
    })
})

const storage =
  config.postgres !== undefined
    ? Storage.layerPostgres({ url: config.postgres })
    : Storage.layerSqlite({ filename: config.sqlite ?? "durable-node.db" })

main(
  Effect.gen(function* () {
    emit({ event: "ready", pid: process.pid })
    const context = yield* Effect.context<ActorSystem.ActorSystem | Storage.Storage>()
    yield* serve<Command>((command) =>
      Effect.gen(function* () {
        switch (command.cmd) {
          case "deposit": {
            const account = yield* Entity.ref(Accounts, command.account)
            const balance = yield* Durable.ask(account, Account.Deposit({ amount: command.amount, ref: command.ref }), {
              id: command.ref,
              timeout: "20 seconds"
            })
            if (config.kill?.at === "after-commit" && ++acked === config.kill.nth) die()
            emit({ event: "ack", id: command.id, ref: command.ref, balance })
            return "answered"
          }
          case "report": {
            const account = yield* Entity.ref(Accounts, command.account)
            const state = yield* account.ask(Account.Report(), { timeout: "20 seconds" })
            emit({ event: "report", id: command.id, account: command.account, state })
            return "answered"
          }
          case "stop":
            return "answered"
        }
      }).pipe(Effect.provideContext(context))
    )
  }).pipe(Effect.provide(Layer.provideMerge(ActorSystem.layer({ name: "durable-node" }), storage)))
)
